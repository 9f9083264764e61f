"""`tied(f)`: the calls of a tied function share the choices made in its body, at any
width (NASNet/ENAS/DARTS's one normal cell): counts, names, round trips, training,
errors."""

from __future__ import annotations

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import darchlang
from darchlang import DarchError
from darchlang.backends.torch.compiler import compile_architecture

torch.set_num_threads(1)

CELL = """
def cell(c) = graph(x) {
    a = relu()(x)
    y = one_of(a, x)
    return conv2d(filters: c, size: one_of(1, 3))(y)
}
"""


def load(text: str):
    return darchlang.load_string(text, "t.darch").space


def distinct(space) -> int:
    return len({a.identity for a in space.enumerate()})


def test_a_tied_cell_at_two_widths_counts_as_one_cell():
    untied = load(CELL + "space = concat [cell(8), cell(16)]")
    tied = load(CELL + "normal = tied(cell)\nspace = concat [normal(8), normal(16)]")
    assert untied.count() == 16
    assert tied.count() == 4 == distinct(tied)
    assert len(tied.choices) == 2


def test_each_call_keeps_its_own_width_and_takes_the_same_options():
    space = load(CELL + "normal = tied(cell)\nspace = concat [normal(8), normal(16)]")
    for arch in space.enumerate():
        text = arch.text
        assert "filters: 8" in text and "filters: 16" in text
        sizes = {line.split("size: ")[1][0] for line in text.splitlines() if "conv2d" in line}
        assert len(sizes) == 1  # both cells took the same kernel
        assert len(arch.decisions) == 2


def test_choices_are_named_after_the_tied_binding():
    space = load(CELL + "normal = tied(cell)\nspace = concat [normal(8), normal(16)]")
    assert sorted(c.name for c in space.choices) == ["normal/graph/_2/conv2d/size",
                                                     "normal/graph/y"]
    named = load(CELL + 'space = concat [tied(cell, name: "reduce")(8), tied(cell)(16)]')
    assert {c.name.split("/")[0] for c in named.choices} == {"reduce", "cell"}


def test_options_that_depend_on_the_width_share_the_option_index():
    space = load("""
def op(c) = one_of(conv2d(filters: c, size: 3), conv2d(filters: 2 * c, size: 1), relu())
def cell(c) = graph(x) {
    a = op(c)(x)
    b = op(c)(one_of(a, x, name: "cell_input"))
    return cat(a, b)
}
normal = tied(cell)
space = concat [normal(8), normal(16), repeat(normal(32), times: 2)]
""")
    assert space.count() == 3 * 2 * 3 == distinct(space)
    assert "cell_input" in {c.name for c in space.choices}
    arch = space.replay_names({"normal/graph/a": 1, "normal/graph/b": 2})
    assert "a = conv2d(filters: 16, size: 1" in arch.text  # 2 * 8
    assert "a = conv2d(filters: 64, size: 1" in arch.text  # 2 * 32
    assert arch.text.count("b = relu()") == 4


def test_repeated_places_in_one_call_stay_separate_choices():
    space = load("""
def cell(c) = repeat(conv2d(filters: c, size: one_of(1, 3)), times: 2)
normal = tied(cell)
space = concat [normal(8), normal(16)]
""")
    assert space.count() == 4 == distinct(space)


def test_a_place_only_a_later_call_reaches_is_shared_from_there_on():
    space = load("""
def cell(c) = if c > 8 then conv2d(filters: c, size: one_of(3, 5)) else relu()
normal = tied(cell)
space = concat [normal(8), normal(16), normal(32)]
""")
    assert space.count() == 2 == distinct(space)


def test_two_tied_functions_are_independent_and_calls_of_the_plain_one_are_not_tied():
    space = load(CELL + """
normal = tied(cell)
reduce = tied(cell)
space = concat [normal(8), reduce(16), normal(16), cell(32)]
""")
    assert space.count() == 4 * 4 * 4 == distinct(space)


@st.composite
def tied_programs(draw):
    """A cell of value and layer choices, called tied at some widths, and the count
    that one cell plus an untied choice outside has."""
    options = draw(st.lists(st.integers(1, 3), min_size=1, max_size=3))
    calls = draw(st.lists(st.sampled_from([4, 8, 16]), min_size=1, max_size=3))
    outside = draw(st.integers(1, 3))
    layers = []
    for i, n in enumerate(options):
        if i % 2:
            layers.append("one_of(" + ", ".join(f"conv2d(filters: c, size: {2 * k + 1})"
                                                for k in range(n)) + ")")
        else:
            layers.append(f"conv2d(filters: c, size: one_of({', '.join(str(2 * k + 1) for k in range(n))}))")
    text = f"def cell(c) = concat [{', '.join(layers)}]\nnormal = tied(cell)\n"
    text += "space = concat [" + ", ".join(f"normal({w})" for w in calls)
    text += f", conv2d(filters: 4, size: one_of({', '.join(str(k + 1) for k in range(outside))}))]\n"
    expected = outside
    for n in options:
        expected *= n
    return text, expected


@given(tied_programs())
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_count_matches_enumeration(case):
    text, expected = case
    space = load(text)
    assert space.count() == expected
    assert distinct(space) == expected == sum(1 for _ in space.enumerate())


def test_a_sampled_architecture_prints_parses_and_keeps_its_identity():
    space = load(CELL + "normal = tied(cell)\nspace = concat [normal(8), normal(16)]")
    for seed in range(4):
        arch = space.sample(seed)
        again = load(arch.text)
        assert again.count() == 1
        assert again.sample(0).identity == arch.identity


@pytest.mark.slow
def test_a_tied_network_compiles_runs_and_trains_a_step():
    space = load(CELL + """
normal = tied(cell)
space = concat [normal(4), conv2d(filters: 8, size: 1, stride: 2), normal(8),
                global_avg_pool(), affine(units: 3)]
""")
    torch.manual_seed(0)
    model = compile_architecture(space.sample(1), (3, 8, 8))
    x, y = torch.randn(4, 3, 8, 8), torch.tensor([0, 1, 2, 0])
    assert model(x).shape == (4, 3)
    before = [p.detach().clone() for p in model.parameters()]
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    loss = torch.nn.functional.cross_entropy(model(x), y)
    loss.backward()
    opt.step()
    assert any(not torch.equal(a, b) for a, b in zip(before, model.parameters(), strict=True))


def error(text: str) -> DarchError:
    try:
        load(text)
    except DarchError as err:
        return err
    raise AssertionError("no error")


def test_a_choice_with_as_many_options_as_the_width_is_an_error_naming_both_calls():
    err = error("""def cell(c) = conv2d(filters: c, size: one_of(range(1, c // 4)))
normal = tied(cell)
space = concat [normal(8), normal(16)]
""")
    assert err.span.line == 1 and err.span.col == 40
    assert "this choice of tied `normal` has 3 options here and 1 in the first call" in err.message
    assert [(r.span.line, r.span.col) for r in err.related] == [(3, 17), (3, 28)]
    assert "the first call, where it has 1 option" in err.render()


def test_a_choice_of_layers_in_one_call_and_values_in_another_is_an_error():
    err = error("""def options(c) = if c > 8 then [relu(), tanh()] else [4, 8]
def cell(c) = let k = one_of(options(c)) in if c > 8 then k else conv2d(filters: k, size: 1)
normal = tied(cell)
space = concat [normal(8), normal(16)]
""")
    assert err.message == "this choice of tied `normal` picks layers in one call and values in the other"
    assert err.span.line == 2


def test_tied_takes_a_def_and_a_string_name():
    assert "got the built-in `relu`" in error("normal = tied(relu)\nspace = relu()").message
    assert "`tied` takes a function defined with `def`" in error("normal = tied(3)\nspace = relu()").message
    assert "non-empty string" in error(CELL + "n = tied(cell, name: 3)\nspace = n(8)").message


@pytest.mark.slow
def test_the_cli_counts_and_shows_a_tied_space(tmp_path):
    import subprocess
    import sys

    path = tmp_path / "t.darch"
    path.write_text(CELL + "normal = tied(cell)\nspace = concat [normal(8), normal(16)]\n")
    out = subprocess.run([sys.executable, "-m", "darchlang.cli", "count", str(path)],
                         capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "4"
    shown = subprocess.run([sys.executable, "-m", "darchlang.cli", "show", str(path)],
                           capture_output=True, text=True, check=True).stdout
    assert "`normal/graph/y` (shared, decided above)" in shown


def test_a_choice_passed_in_stays_the_callers_and_nested_ties_share_their_own():
    width = load(CELL + "normal = tied(cell)\nspace = concat [normal(one_of(8, 16)), normal(32)]")
    assert width.count() == 2 * 4 == distinct(width)
    nested = load("""
def opf(c) = conv2d(filters: c, size: one_of(1, 3, 5))
op = tied(opf)
def cellf(c) = concat [op(c), relu(), op(2 * c), conv2d(filters: c, size: one_of(1, 3))]
normal = tied(cellf)
space = concat [normal(8), normal(16), op(4)]
""")
    assert nested.count() == 3 * 2 == distinct(nested)
    assert sorted(c.name for c in nested.choices) == ["normal/3/conv2d/size", "op/conv2d/size"]
