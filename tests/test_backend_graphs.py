"""Graph blocks in the backend: named values become local variables of the generated
forward, merges check their shapes, and the graph example spaces train."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

import darchlang
from darchlang import DarchError
from darchlang.arch.graph import Graph, GraphStep, Layer, Seq
from darchlang.backends.torch.compiler import compile_architecture
from darchlang.backends.torch.summary import summarize

torch.set_num_threads(1)
EXAMPLES = Path(__file__).resolve().parents[1] / "examples"

NESTED = """
def pair(c) = graph(a, b) {
    s = add(conv2d(filters: c, size: 1)(a), b)
    t = cat(s, a)
    return t
}
def blk(c) = graph(x) {
    y = conv2d(filters: c, size: 3)(x)
    z = pair(c)(y, x)
    w = residual(concat [relu(), conv2d(filters: 2 * c, size: 1)])(z)
    e = concat [](w)
    return e
}
space = concat [conv2d(filters: 4, size: 3), residual(blk(4)), blk(8)]
"""


def compile_source(text: str, shape, seed: int = 0):
    return compile_architecture(darchlang.load_string(text, "g.darch").space.sample(seed), shape)


def test_nested_graphs_compute_what_the_program_says():
    model = compile_source(NESTED, (3, 6, 6))
    m = dict(model.named_children())
    x = torch.randn(2, 3, 6, 6)

    def blk(x, prefix):
        y = m[f"{prefix}_y_conv2d"](x)
        s = m[f"{prefix}_z_graph__2_conv2d"](y) + x  # pair(y, x): a = y, b = x
        z = torch.cat([s, y], 1)
        return z + m[f"{prefix}_w_residual_body_1_conv2d"](F.relu(z))

    h = m["space_0_conv2d"](x)
    h = blk(h, "space_1_residual_body_graph") + F.pad(h, (0, 0, 0, 0, 0, 4))
    torch.testing.assert_close(model(x), blk(h, "space_2_graph"))
    assert model.output_shape == (16, 6, 6)


def test_graph_values_keep_their_program_names_in_the_forward():
    source = compile_source(NESTED, (3, 6, 6)).forward_source
    assert "    t = torch.cat([s, y], 1)  # 8x6x6  g.darch:4" in source
    assert "    s = _2 + x_  # 4x6x6  g.darch:3" in source
    assert "    # graph space/2/graph  g.darch:7" in source


def test_graph_rows_in_the_summary():
    rows = summarize(compile_source(NESTED, (3, 6, 6))).rows
    merges = [(r.name, r.kind, r.out_shape) for r in rows if r.kind.startswith(("add", "cat"))]
    assert merges[:2] == [("s", "add(_2, b)", (4, 6, 6)), ("t", "cat(s, a)", (8, 6, 6))]
    assert [r.kind for r in rows].count("graph") == 4


MERGE_ERRORS = [
    ("space = graph(x) {\n  a = conv2d(filters: 4, size: 1)(x)\n  b = add(a, x)\n  return b\n}",
     "g.darch:3:7: error: `add` needs inputs of one shape, got 4x5x5, 3x5x5",
     "make the branches agree in channels and size, e.g. with a 1x1 conv2d"),
    ("space = graph(x) {\n  a = max_pool2d()(x)\n  b = cat(a, x)\n  return b\n}",
     "g.darch:3:7: error: `cat` joins channels and needs the other sizes equal, got 3x3x3, 3x5x5",
     None),
]


@pytest.mark.parametrize(("source", "first", "help_text"), MERGE_ERRORS)
def test_merge_shape_errors(source, first, help_text):
    with pytest.raises(DarchError) as info:
        compile_source(source, (3, 5, 5))
    text = info.value.render()
    assert text.splitlines()[0] == first, text
    if help_text:
        assert f"= help: {help_text}" in text


def test_a_two_input_graph_cannot_be_a_layer():
    two = Graph(("a", "b"), (GraphStep("s", "add", None, (0, 1)),), 2, "n/graph")
    with pytest.raises(DarchError, match="a graph block with 2 inputs cannot be used as a layer"):
        compile_architecture(Seq((Layer("relu", {}, "n/0/relu"), two)), (3,))


def test_value_names_never_shadow_the_forwards_own_names():
    source = """
space = graph(x) {
    torch = relu()(x)
    F = tanh()(torch)
    skip0 = residual(relu())(F)
    self = add(skip0, x)
    return self
}
"""
    model = compile_source(source, (4,))
    x = torch.randn(3, 4)
    t = torch.tanh(torch.relu(x))
    torch.testing.assert_close(model(x), torch.relu(t) + t + x)


def train_step(model, x, every_parameter: bool) -> None:
    out = model(x)
    assert torch.isfinite(out).all()
    F.cross_entropy(out, torch.arange(len(x)) % 10).backward()
    for name, p in model.named_parameters():
        if every_parameter:
            assert p.grad is not None, name
        if p.grad is not None:
            assert torch.isfinite(p.grad).all(), name


@pytest.mark.parametrize("name", ["resnet.darch", "inception.darch"])
def test_graph_examples_train(name):
    space = darchlang.load_file(EXAMPLES / name).space
    rng = random.Random(3)
    for _ in range(2):
        model = compile_architecture(space.sample(rng), (3, 32, 32))
        train_step(model, torch.randn(2, 3, 32, 32), every_parameter=True)


@pytest.mark.slow
def test_nasbench201_cells_compile_and_train():
    """Some cells leave a node unused (an edge of "none" after it), so not every
    parameter needs a gradient; all that do are finite."""
    space = darchlang.load_file(EXAMPLES / "nasbench201.darch").space
    every_op = {c.name: 3 for c in space.choices}  # every edge a 3x3 conv: all used
    model = compile_architecture(space.replay_names(every_op), (3, 32, 32))
    assert sum(1 for s in model.plan.layer_steps() if s.kind == "conv2d") == 1 + 15 * 6 + 2 * 2
    train_step(model, torch.randn(2, 3, 32, 32), every_parameter=True)
    rng = random.Random(8)
    for _ in range(2):
        model = compile_architecture(space.sample(rng), (3, 32, 32))
        train_step(model, torch.randn(2, 3, 32, 32), every_parameter=False)
