"""Spaces of the literature written from their papers as a new user would (each file
derives its count in a comment, citing the paper's section): the exact count is the
paper's, worked out here again from the paper's own definition; every architecture
is proved to compile; a network of each compiles and learns everywhere."""

from __future__ import annotations

import itertools
import math
import re

import pytest
import torch
from test_stdlib_spaces import every_parameter_learns, path_of, run_cli

import darchlang
from darchlang.backends.torch.compiler import compile_architecture
from darchlang.cli import main

torch.set_num_threads(1)


def pnas_cells(blocks: int = 5, ops: int = 8) -> int:
    """PNAS section 3.1: |B_b| = |I_b|^2 |O|^2 |C| with |I_b| = b + 1 inputs (the two
    cell inputs and blocks 1 to b - 1), |O| = 8 operations, |C| = 1 (addition)."""
    return math.prod((b + 1) ** 2 * ops**2 for b in range(1, blocks + 1))


def transnas_macro_networks() -> set[tuple[int, ...]]:
    """TransNAS-Bench-101's macro networks as its code samples them: 4 to 6 modules of
    kind 1 (plain), 2 (doubles the channels), 3 (downsamples) or 4 (both), with 1 to 4
    downsamples and 1 to 3 doublings."""
    return {kinds for n in (4, 5, 6) for kinds in itertools.product((1, 2, 3, 4), repeat=n)
            if 1 <= sum(k > 2 for k in kinds) <= 4 and 1 <= sum(k % 2 == 0 for k in kinds) <= 3}


# name: the paper's number
COUNTS = {
    # MnasNet section 4.1's typical case: S = 4 * 2 * 2 * 3 * 3 * 3 = 432, B = 5
    "mnasnet": (4 * 2 * 2 * 3 * 3 * 3) ** 5,
    "pnasnet": pnas_cells(),  # "5.6 x 10^14" cells; one cell serves both kinds
    "transnas_micro": 4**6,  # 4,096 cells
    "transnas_macro": 3_256,
}


def test_the_papers_numbers():
    assert COUNTS["pnasnet"] == 720**2 * 8**10 == 556_627_761_561_600
    assert f"{COUNTS['pnasnet']:.1e}" == "5.6e+14"
    assert len(transnas_macro_networks()) == COUNTS["transnas_macro"]
    # TransNAS-Bench-101's abstract: 7,352 backbones, the two spaces together
    assert COUNTS["transnas_micro"] + COUNTS["transnas_macro"] == 7_352


@pytest.mark.parametrize("name", sorted(COUNTS))
def test_count_is_the_papers_and_derived_in_the_file(name, capsys):
    assert run_cli(["count", str(path_of(name))], capsys).strip() == str(COUNTS[name])
    text = path_of(name).read_text()
    assert f"{COUNTS[name]:,}" in text, "the file's comment derives its count"
    assert re.search(r"\b(19|20)\d\d\b", text.split("\n\n")[0]), "the header cites the paper"
    assert main(["fmt", "--check", str(path_of(name))]) == 0, capsys.readouterr().out


@pytest.mark.parametrize("name", sorted(COUNTS))
def test_every_architecture_compiles_for_the_documented_input(name, capsys):
    out = run_cli(["check", "--shapes", str(path_of(name))], capsys)
    assert out.startswith(f"all {COUNTS[name]:,} architectures compile for input")


CONV3 = re.compile(r"conv2d\(filters: (\d+), size: 3, stride: (\d)")


def module_kinds(arch, base: int = 64) -> tuple[int, ...]:
    """The kind of each module of a TransNAS macro network, read from its 3x3
    convolutions: past the stem's two, a module is two blocks of two, the first
    convolution of a module carrying its stride and width."""
    convs = [(int(f), int(s)) for f, s in CONV3.findall(arch.text)][2:]
    kinds, c = [], base
    for f, s in convs[::4]:
        kinds.append(1 + (f == 2 * c) + 2 * (s == 2))
        c = f
    return tuple(kinds)


def test_transnas_macro_is_the_benchmarks_networks_each_once():
    """The running-total bounds neither lose a network nor reach one twice."""
    space = darchlang.load_file(path_of("transnas_macro")).space
    seen = [module_kinds(arch) for arch in space.enumerate()]
    assert len(seen) == len(set(seen)) == 3_256
    assert set(seen) == transnas_macro_networks()


def test_pnasnet_shares_one_cell_between_normal_and_reduction_cells():
    space = darchlang.load_file(path_of("pnasnet")).space
    arch = space.sample(0)
    # 20 decisions (2 inputs and 2 operations in each of 5 blocks) make all 8 cells
    assert len(arch.decisions) == 20
    assert arch.text.count("graph(p0, p1)") == 8


# small networks: (file, parameters, input, decisions or None for a random one)
SMALL = {
    "mnasnet": ({}, (3, 32, 32), None),
    "pnasnet": ({"c": 8, "layers": 3}, (1, 8, 8), None),
    # every edge a 3x3 convolution, so that every parameter reaches the output
    "transnas_micro": ({"base": 8}, (3, 32, 32), [3] * 6),
    "transnas_macro": ({"base": 8}, (3, 32, 32), None),
}


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(SMALL))
def test_a_small_network_compiles_and_learns_everywhere(name):
    defines, shape, decisions = SMALL[name]
    space = darchlang.load_file(path_of(name), {"num_classes": 5, **defines}).space
    arch = space.replay(decisions) if decisions else space.sample(3)
    torch.manual_seed(0)
    every_parameter_learns(compile_architecture(arch, shape), torch.randn(2, *shape), 5)
