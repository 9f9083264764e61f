"""Graph blocks: named values, merges, input choices; counting, naming and printing."""

import pytest

import darchlang
from darchlang import DarchError
from darchlang.arch import Graph
from darchlang.syntax.formatter import format_source
from darchlang.syntax.parser import parse

CELL = """
def cell(c) = graph(x) {
    n1 = one_of(conv2d(filters: c, size: 3), identity())(x)
    n2 = add(relu()(x), n1)
    n3 = one_of(x, n1, n2)
    y = add(choose(2, x, n1, n2), tanh()(n3))
    return y
}
space = concat [cell(4), repeat_tied(cell(8), times: 2)]
"""


def test_input_choices_count_sample_replay_print():
    space = darchlang.load_string(CELL).space
    per_cell = 2 * 3 * 3
    assert space.count() == per_cell**2
    archs = list(space.enumerate())
    assert len(archs) == per_cell**2
    assert len({a.identity for a in archs}) == per_cell**2
    for arch in archs[::37]:
        assert space.replay(arch.decisions).identity == arch.identity
        again = darchlang.load_string(arch.text).space
        assert again.count() == 1 and again.sample(0).identity == arch.identity


def test_choice_names_inside_graphs():
    names = [c.name for c in darchlang.load_string(CELL).space.choices]
    assert names[:3] == ["space/0/graph/n1", "space/0/graph/n3", "space/0/graph/y.in0"]


@pytest.mark.slow
def test_nasbench201_counts_and_enumerates_15625_distinct():
    space = darchlang.load_file("examples/nasbench201.darch").space
    assert space.count() == 15_625
    seen = set()
    for arch in space.enumerate():
        seen.add(arch.identity)
    assert len(seen) == 15_625


def test_concrete_graph_structure():
    # by name: the walk decides a graph's input choices (from the output back) before
    # the ops of the steps they leave in use
    arch = darchlang.load_string(CELL).space.replay_names(
        {"space/0/graph/n1": 0, "space/0/graph/n3": 2, "space/0/graph/y.in0": 1})
    assert arch.decisions == [1, 2, 0, 0, 0, 0]
    graph = arch.network.items[0]
    assert isinstance(graph, Graph)
    assert graph.inputs == ("x",)
    assert [s.kind for s in graph.steps] == ["apply", "apply", "add", "apply", "add"]
    assert graph.value_name(graph.steps[-1].inputs[0]) == "x"
    assert graph.value_name(graph.steps[-1].inputs[1]) == "n2"


def test_graph_formatting_is_stable():
    once = format_source(CELL)
    assert format_source(once) == once
    assert parse(once) == parse(CELL)
    assert "    n2 = add(relu()(x), n1)\n" in once


@pytest.mark.parametrize(("source", "message"), [
    ("space = graph(x) { y = add(x, 3) return y }", "an input of `add` must be a value of the graph block"),
    ("space = add(relu(), relu())", "`add` needs values of a graph block"),
    ("g = graph(x) { return x }\nspace = graph(x) { y = relu()(x, x) return y }", "this takes 1 input, got 2"),
    ("space = graph(x) { y = relu()(x) y = tanh()(x) return y }", "`y` is bound twice in this graph"),
    ("space = graph(x) { y = relu()(x) return 3 }", "the graph's result must be a value of the graph block"),
    ("space = graph(x) { y = choose(4, x) return x }", "`choose` needs 1 <= k <= 1, got 4"),
    ("space = graph(x) { a = relu()(x) y = add(choose(2, x, a, a)) return y }",
     "`a` is listed twice in `choose`"),
    ("space = graph(x) { a = relu()(x) return relu()(choose(2, x, a)) }", "this takes 1 input, got 2"),
    ("space = graph(x) { a = relu()(x) return choose(2, x, a) }", "a graph returns one value"),
    ("space = graph(x) { a = relu()(x) return one_of(x, choose(2, x, a)) }", "a graph returns one value"),
    ("def f() = graph(x) { return x }\nspace = graph(x) { y = relu()(z) return y }", "unknown name `z`"),
])
def test_graph_errors(source, message):
    with pytest.raises(DarchError, match=message.replace("(", r"\(").replace(")", r"\)")):
        _ = darchlang.load_string(source).space


def test_multi_input_graph_applied_inside_a_graph():
    text = """
def merge2(c) = graph(a, b) {
    y = add(conv2d(filters: c, size: 1)(a), conv2d(filters: c, size: one_of(1, 3))(b))
    return y
}
space = graph(x) {
    h = relu()(x)
    y = merge2(8)(x, h)
    return y
}
"""
    space = darchlang.load_string(text).space
    assert space.count() == 2
    arch = space.sample(0)
    assert darchlang.load_string(arch.text).space.sample(0).identity == arch.identity


def test_graph_keywords_in_the_repl_lexer():
    from pygments.token import Keyword

    from darchlang.repl.lexer import DarchLexer

    kinds = {v: t for t, v in DarchLexer().get_tokens("g = graph(x) { y = relu()(x) return y }")}
    assert kinds["graph"] in Keyword and kinds["return"] in Keyword


def test_graph_architectures_export_to_standalone_python():
    import torch

    from darchlang.backends.torch.compiler import compile_architecture
    from darchlang.backends.torch.export import emit_python

    torch.manual_seed(0)
    for name in ("nasbench201", "inception", "resnet"):
        arch = darchlang.load_file(f"examples/{name}.darch").space.sample(3)
        model = compile_architecture(arch, (3, 16, 16)).eval()
        namespace: dict = {}
        exec(compile(emit_python(arch, (3, 16, 16)), f"{name}_model.py", "exec"), namespace)
        standalone = namespace["Model"]().eval()
        standalone.load_state_dict(model.state_dict())
        x = torch.randn(2, 3, 16, 16)
        with torch.no_grad():
            assert torch.allclose(model(x), standalone(x), atol=1e-5)


def test_graph_blocks_repeat_and_sit_inside_residuals():
    import torch

    from darchlang.backends.torch.compiler import compile_architecture

    text = """
def cell(c) = graph(x) {
    a = conv2d(filters: c, size: one_of(1, 3))(x)
    y = add(a, x)
    return y
}
space = concat [conv2d(filters: 8, size: 3), residual(cell(8)), repeat(cell(8), times: one_of(1, 2))]
"""
    space = darchlang.load_string(text).space
    assert space.count() == 2 * (2 + 4)
    for arch in space.enumerate():
        model = compile_architecture(arch, (3, 8, 8))
        out = model(torch.randn(2, 3, 8, 8))
        assert out.shape == (2, 8, 8, 8)


@pytest.mark.slow
def test_choose_passes_k_values():
    # `choose(2, ...)` fills a block of two inputs; `choose(1, ...)` is one value, also as
    # a graph's result.
    text = """
def two() = graph(p, q) { return add(p, q) }
space = graph(x) {
    a = relu()(x)
    b = two()(choose(2, x, a, tanh()(x)))
    c = relu()(choose(1, x, a))
    return one_of(add(b, c), choose(1, b, c))
}
"""
    space = darchlang.load_string(text).space
    # returning add(b, c): 3 picks for b times 2 for c; returning b alone: 3 (c is unused,
    # so its choice is not decided); returning c alone: 2
    assert space.count() == len(list(space.enumerate())) == 3 * 2 + 3 + 2
    assert len({a.identity for a in space.enumerate()}) == 11
    for arch in space.enumerate():
        assert darchlang.load_string(arch.text).space.sample(0).identity == arch.identity
