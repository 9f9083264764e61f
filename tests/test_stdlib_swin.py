"""The spaces that the window, merge, slice and shuffle layers made sayable (review.md
findings 11 and 16), checked as tests/test_stdlib_spaces.py checks the first ones: the
exact count that the file derives, a formatted file, every architecture proved to
compile for the documented input, Swin-T itself in the Swin space with Swin-T's
parameters and multiply-adds, and a random architecture that compiles, exports to the
same standalone model and ONNX, learns everywhere and trains a few steps on the 8x8
digits (the files' parameters shrink the networks to fit them).
"""

from __future__ import annotations

import math

import pytest
import torch
from test_stdlib_spaces import (
    digits_batch,
    documented_input,
    every_parameter_learns,
    path_of,
    run_cli,
    runs_and_exports,
    train_losses,
)

import darchlang
from darchlang.backends.torch.compiler import compile_architecture
from darchlang.cli import main

torch.set_num_threads(1)

# name: the count that the file derives
SWIN_SPOS_COUNTS = {
    "swin": 26_592_349_085_761_536,
    "spos": 1_099_511_627_776,  # 4^20, the paper's
}

# the parameters that make each space small enough for the 8x8 digits
DIGITS = {
    "swin": {"patch": 1, "window": 1, "base": 8, "head": 8},
    "spos": {"divisor": 8},
}

# a deep transformer without warm-up needs a smaller step (as AutoFormer in test_stdlib_spaces)
LEARNING_RATE = {"swin": 5e-5, "spos": 1e-3}


@pytest.mark.parametrize("name", sorted(SWIN_SPOS_COUNTS))
def test_count_is_derived_in_the_file(name, capsys):
    import re

    out = run_cli(["count", str(path_of(name))], capsys)
    assert out.strip() == str(SWIN_SPOS_COUNTS[name])
    text = path_of(name).read_text()
    assert f"{SWIN_SPOS_COUNTS[name]:,}" in text, "the file's comment derives its count"
    assert re.search(r"\b(19|20)\d\d\b", text.split("\n\n")[0]), "the header cites the paper"
    assert re.search(r"^space = ", text, re.M), "the file binds `space`"


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(SWIN_SPOS_COUNTS))
def test_show_prints_the_tree_with_the_count(name, capsys):
    assert run_cli(["show", str(path_of(name))], capsys).startswith(
        f"{SWIN_SPOS_COUNTS[name]:,} architectures")


@pytest.mark.parametrize("name", sorted(SWIN_SPOS_COUNTS))
def test_file_is_formatted(name, capsys):
    assert main(["fmt", "--check", str(path_of(name))]) == 0, capsys.readouterr().out


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(SWIN_SPOS_COUNTS))
def test_shapes_are_proved_for_the_documented_input(name, capsys):
    shape = "x".join(map(str, documented_input(name)))
    out = run_cli(["check", "--shapes", "--input", shape, str(path_of(name))], capsys)
    assert out.startswith(f"all {SWIN_SPOS_COUNTS[name]:,} architectures compile for input {shape}")


def swin_t(choice) -> int:
    """Swin-T's decisions: dimension 3 x 32 x 2^s, one pair per stage but three in stage 2
    (depths 2, 2, 6, 2), window 7, 32 features per head, MLP ratio 4."""
    if "/times" in choice.name:
        return 0 if len(choice.options) == 2 else 1
    return 1 if "/dim/" in choice.name or "/units/" in choice.name else 0


def test_swin_t_is_in_the_space_with_its_parameters_and_macs():
    from darchlang.search.preflight import architecture_costs

    arch = darchlang.load_file(path_of("swin")).space.walk(swin_t)
    assert "window_attention(heads: 24, window: 7, shift: 3" in arch.text
    assert arch.text.count("window_attention(") == 12
    costs = architecture_costs(arch, (3, 224, 224))
    # Swin-T as published: 28,288,354 parameters (28.3M), 4.5 G multiply-adds
    assert costs.params == 28_288_354
    assert round(costs.macs / 1e9, 1) == 4.5


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(SWIN_SPOS_COUNTS))
def test_a_random_architecture_compiles_runs_and_exports(name, tmp_path, monkeypatch):
    arch = darchlang.load_file(path_of(name), {"num_classes": 7, **DIGITS[name]}).space.sample(1)
    runs_and_exports(arch, (1, 8, 8), f"{name}_model", tmp_path, monkeypatch)


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(SWIN_SPOS_COUNTS))
def test_a_random_architecture_learns_and_trains_on_digits(name):
    x, y = digits_batch()
    space = darchlang.load_file(path_of(name), {"num_classes": 10, **DIGITS[name]}).space
    arch = space.sample(5)
    torch.manual_seed(0)
    model = compile_architecture(arch, tuple(x.shape[1:]))
    every_parameter_learns(model, x[:2], 10)
    losses = train_losses(model, x, y, LEARNING_RATE[name])
    assert all(map(math.isfinite, losses)), losses
    assert losses[-1] < losses[0], losses


@pytest.mark.slow
def test_a_random_swin_runs_forward_and_backward_at_224():
    arch = darchlang.load_file(path_of("swin")).space.sample(3)
    model = compile_architecture(arch, (3, 224, 224))
    out = model(torch.randn(1, 3, 224, 224))
    assert out.shape == (1, 1000) and torch.isfinite(out).all()
    out.square().mean().backward()
    assert all(p.grad is not None for p in model.parameters())
