"""A graph step whose value reaches the block's output only through `zero()` is dead:
not built, not counted, not run, not exported (review.md, finding 4). The architecture
itself (decisions, text, count) is unchanged: `darchlang.arch.prune`."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from unittest import mock

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import darchlang
from darchlang import DarchError
from darchlang.arch.graph import Graph, GraphStep, Layer
from darchlang.arch.prune import liveness
from darchlang.backends.torch import plan
from darchlang.backends.torch.compiler import compile_architecture
from darchlang.backends.torch.export import emit_python
from darchlang.backends.torch.summary import summarize

torch.set_num_threads(1)
ROOT = Path(__file__).resolve().parent.parent

DEAD = """
space = concat [
    conv2d(filters: 8, size: 3),
    graph(x) {
        dead = conv2d(filters: 8, size: 3)(x)
        return add(x, zero()(dead))
    },
    global_avg_pool(),
    affine(units: 10),
]
"""


def exported_output(arch, shape, model, x: torch.Tensor) -> torch.Tensor:
    """What the standalone source `emit_python` writes computes on `x`, with `model`'s
    weights (both in eval mode); the model's own output is `model(x)`."""
    namespace: dict = {"__name__": "exported"}
    exec(compile(emit_python(arch, shape), "m.py", "exec"), namespace)
    exported = namespace["Model"]().eval()
    exported.load_state_dict(model.state_dict())
    with torch.no_grad():
        return exported(x)


def cli(*args: str, cwd) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "darchlang.cli", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=120)


def arch_of(text: str, decisions: list[int] | None = None):
    space = darchlang.load_string(text, "z.darch").space
    return space.replay(decisions) if decisions is not None else space.sample(0)


@pytest.mark.slow
def test_compile_leaves_a_step_behind_zero_out_of_the_table_and_the_counts(tmp_path):
    (tmp_path / "z.darch").write_text(DEAD)
    done = cli("compile", "z.darch", "--input", "1x8x8", "--emit-python", "m.py", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "dead" not in done.stdout
    assert "170 parameters (170), 4,688 multiply-adds per example" in done.stdout
    # the architecture is quoted in a comment at the top; the code leaves the step out
    code = [ln for ln in (tmp_path / "m.py").read_text().splitlines()
            if not ln.lstrip().startswith("#")]
    assert not [ln for ln in code if "dead" in ln or "zeros_like" in ln]


def test_the_pruned_model_computes_what_the_program_says():
    model = compile_architecture(arch_of(DEAD), (1, 8, 8))
    m = dict(model.named_children())
    assert set(m) == {"space_0_conv2d", "space_3_affine"}
    x = torch.randn(2, 1, 8, 8)
    expected = m["space_3_affine"](m["space_0_conv2d"](x).mean((2, 3)))
    torch.testing.assert_close(model(x), expected)
    model(x).square().mean().backward()
    assert all(p.grad is not None for p in model.parameters())


def test_the_architecture_keeps_the_dead_step_and_its_choices():
    text = DEAD.replace("filters: 8, size: 3)(x)", "filters: 8, size: one_of(3, 5))(x)")
    space = darchlang.load_string(text, "z.darch").space
    assert space.count() == 2  # the choice behind zero() is still a decision
    a, b = space.replay([0]), space.replay([1])
    assert a.identity != b.identity and "dead = conv2d" in a.text
    assert summarize(a, (1, 8, 8)).total_params == summarize(b, (1, 8, 8)).total_params == 170


def test_an_add_of_zeros_keeps_one_zero_shaped_by_the_earliest_value():
    text = """space = graph(x) {
        a = conv2d(filters: 3, size: 3)(x)
        b = conv2d(filters: 3, size: 5)(a)
        return add(zero()(b), zero()(x))
    }"""
    model = compile_architecture(arch_of(text), (3, 4, 4))
    assert list(model.children()) == []  # neither convolution is built
    out = model(torch.randn(2, 3, 4, 4))
    assert out.shape == (2, 3, 4, 4) and not out.any()


def test_a_zero_whose_shape_is_needed_keeps_what_it_is_computed_from():
    # cat needs the zeros' channels, so `a` stays; the layer applied to zeros stays too
    text = """space = graph(x) {
        a = conv2d(filters: 5, size: 3)(x)
        z = zero()(a)
        return cat(x, z, relu()(z))
    }"""
    model = compile_architecture(arch_of(text), (3, 4, 4))
    assert [n for n, _ in model.named_children()] == ["space_graph_a_conv2d"]
    out = model(torch.randn(2, 3, 4, 4))
    assert out.shape == (2, 13, 4, 4) and not out[:, 3:].any()


def test_a_dead_step_is_still_shape_checked_as_check_shapes_does():
    text = """space = concat [conv2d(filters: 4, size: 3), graph(x) {
        d = conv2d(filters: 5, size: 3)(x)
        return add(x, zero()(d))
    }]"""
    with pytest.raises(DarchError, match="`add` needs inputs of one shape, got 4x8x8, 5x8x8"):
        compile_architecture(arch_of(text), (3, 8, 8))


def test_the_liveness_of_a_block():
    relu, zero = Layer("relu", {}), Layer("zero", {})
    graph = Graph(("x",), (GraphStep("a", "apply", relu, (0,)),), 1)
    assert liveness(graph) is None  # nothing to leave out
    steps = (GraphStep("a", "apply", relu, (0,)), GraphStep("z", "apply", zero, (1,)),
             GraphStep("s", "add", None, (0, 2)))
    got = liveness(Graph(("x",), steps, 3))
    assert got is not None and got.live == {0, 3} and got.inputs[2] == (0,)


# NAS-Bench-201 (decisions in the order e1_0, e2_0, e2_1, e3_0, e3_1, e3_2; options
# none, skip_connect, nor_conv_1x1, nor_conv_3x3, avg_pool_3x3) against the benchmark's
# tables for CIFAR-10 (NATS-Bench issue 18: arch 1, 0.802 MB, 113.95 M FLOPs; issue 24:
# arch 0, 15.647 M FLOPs). The benchmark's FLOPs count the head's 10 biases as well.
NB201 = [
    # |nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|
    ([3, 3, 4, 1, 3, 1], 802_426, 113_951_360),
    # |avg_pool_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|nor_conv_1x1~0|skip_connect~1|skip_connect~2|
    ([4, 2, 1, 2, 1, 1], 129_306, 15_647_360),
    # |skip_connect~0|+|avg_pool_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|avg_pool_3x3~1|none~2|:
    # node 2 reaches the output only through `none`, so its 3x3 convolution is dead;
    # the benchmark builds it anyway and lists 0.56 MB (docs/spaces.md)
    ([1, 4, 3, 3, 4, 0], 316_346, 43_172_480),
]


@pytest.mark.slow
@pytest.mark.parametrize(("decisions", "params", "macs"), NB201)
def test_nasbench201_parameters_match_the_benchmark(decisions, params, macs):
    space = darchlang.load_file("stdlib/nasbench201.darch").space
    summary = summarize(space.replay(decisions), (3, 32, 32))
    assert (summary.total_params, summary.total_macs) == (params, macs)


@pytest.mark.slow
def test_the_exported_source_matches_the_pruned_model():
    arch = darchlang.load_file("stdlib/nasbench201.darch").space.replay([1, 4, 3, 3, 4, 0])
    torch.manual_seed(0)
    model = compile_architecture(arch, (3, 32, 32)).eval()
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        torch.testing.assert_close(exported_output(arch, (3, 32, 32), model, x), model(x))


CELL = """import "nasbench201" as nb201
space = concat [conv2d(filters: 4, size: 3), nb201.cell(4), nb201.cell(4), global_avg_pool(),
                affine(units: 3)]
"""


@pytest.mark.slow
@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(decisions=st.lists(st.integers(0, 4), min_size=6, max_size=6))
def test_pruning_never_changes_what_a_cell_computes(decisions):
    # the same architecture planned without pruning, given the pruned model's weights
    # (its dead modules keep their own), computes the same outputs: what was left out
    # only ever met zeros
    arch = darchlang.load_string(CELL, str(ROOT / "cell.darch")).space.replay(decisions)
    pruned = compile_architecture(arch, (3, 6, 6)).eval()
    with mock.patch.object(plan, "liveness", lambda graph: None):
        whole = compile_architecture(arch, (3, 6, 6)).eval()
    assert set(pruned.state_dict()) <= set(whole.state_dict())  # the same names, fewer
    whole.load_state_dict(pruned.state_dict(), strict=False)
    x = torch.randn(2, 3, 6, 6)
    with torch.no_grad():
        torch.testing.assert_close(pruned(x), whole(x))


UNREAD_INPUT = """
def cell() = graph(p0, p1) {
    unused = conv2d(filters: 8, size: 1)(p0)
    return relu()(p1)
}
space = graph(x) {
    a = conv2d(filters: 8, size: 3)(x)
    b = conv2d(filters: 8, size: 5)(x)
    y = cell()(a, b)
    return concat [global_avg_pool(), affine(units: 10)](y)
}
"""


def test_a_block_that_never_reads_an_input_does_not_keep_its_producer_alive():
    # a cell ignoring its older input (review.md, finding 23): `a` and `unused` are
    # dead, every parameter left learns, and the exported source computes the same
    arch = arch_of(UNREAD_INPUT)
    assert summarize(arch, (1, 8, 8)).total_params == 298
    model = compile_architecture(arch, (1, 8, 8))
    x = torch.randn(4, 1, 8, 8)
    model(x).sum().backward()
    assert all(p.grad is not None for p in model.parameters())
    model.eval()
    with torch.no_grad():
        want = model(x)
    assert torch.allclose(exported_output(arch, (1, 8, 8), model, x), want, atol=1e-6)


def test_an_unread_input_is_still_shape_checked():
    bad = UNREAD_INPUT.replace("a = conv2d(filters: 8, size: 3)(x)",
                               "a = conv2d(filters: 8, size: 9, padding: \"valid\")(x)")
    with pytest.raises(DarchError, match="conv2d"):
        compile_architecture(arch_of(bad), (1, 8, 8))
