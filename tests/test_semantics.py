"""The meaning of programs: ties and copies, derived values, repeats, imports, params."""

import pytest

import darchlang
from darchlang.arch import Layer, Repeat, Residual, Seq
from darchlang.errors import DarchError


def space_of(text, **kw):
    return darchlang.load_string(text, "t.darch", **kw).space


def layers(node):
    """Concrete layers in order, unrolling tied repeats."""
    if isinstance(node, Layer):
        return [node]
    if isinstance(node, Seq):
        return [x for item in node.items for x in layers(item)]
    if isinstance(node, Repeat):
        return layers(node.body) * node.times
    if isinstance(node, Residual):
        return layers(node.body)
    raise TypeError(node)


def test_binding_ties_a_choice_everywhere():
    space = space_of("w = one_of(8, 16)\nspace = concat [conv2d(filters: w, size: 3), "
                     "conv2d(filters: w, size: 3)]")
    assert space.count() == 2
    for arch in space.enumerate():
        a, b = layers(arch.network)
        assert a.attrs["filters"] == b.attrs["filters"]
    assert [c.name for c in space.choices] == ["w"]


def test_calling_copies_choices():
    space = space_of("def c() = conv2d(filters: one_of(8, 16), size: 3)\nspace = concat [c(), c()]")
    assert space.count() == 4
    assert len(space.choices) == 2


def test_repeat_tied_shares_and_repeat_copies():
    body = "conv2d(filters: one_of(8, 16), size: 3)"
    tied = space_of(f"space = repeat_tied({body}, times: one_of(1, 2, 3))")
    free = space_of(f"space = repeat({body}, times: one_of(1, 2, 3))")
    assert tied.count() == 3 * 2
    assert free.count() == 2 + 4 + 8
    arch = tied.replay([2, 1])
    assert [x.attrs["filters"] for x in layers(arch.network)] == [16, 16, 16]


def test_derived_values_are_not_decisions():
    space = space_of("w = one_of(8, 16)\nspace = concat [conv2d(filters: w, size: 3), "
                     "conv2d(filters: 2 * w + 1, size: 3)]")
    assert space.count() == 2
    arch = space.replay([1])
    assert [x.attrs["filters"] for x in layers(arch.network)] == [16, 33]


def test_if_over_a_choice_builds_both_branches():
    space = space_of("s = one_of(1, 2)\nspace = concat [conv2d(filters: 4, size: 3, stride: s), "
                     "if s == 1 then max_pool2d() else one_of(relu(), tanh())]")
    assert space.count() == 1 + 2
    kinds = sorted(tuple(x.kind for x in layers(a.network)) for a in space.enumerate())
    assert kinds == [("conv2d", "max_pool2d"), ("conv2d", "relu"), ("conv2d", "tanh")]


def test_if_on_plain_values_allows_recursion():
    space = space_of("def stack(n) = if n == 0 then identity() else concat [relu(), stack(n - 1)]\n"
                     "space = stack(3)")
    assert [x.kind for x in layers(space.sample(0).network)] == ["relu"] * 3 + ["identity"]


def test_optional_and_maybe_swap_from_the_prelude():
    space = space_of("space = concat [optional(dropout(keep: one_of(0.5, 0.9))), "
                     "maybe_swap(relu(), batch_norm())]")
    assert space.count() == 3 * 2


def test_let_and_defaults_and_keywords():
    space = space_of("def f(a, b = 3) = let w = one_of(a, 2 * a) in conv2d(filters: w, size: b)\n"
                     "space = concat [f(4), f(b: 5, a: 1)]")
    assert space.count() == 4
    arch = space.replay([1, 0])
    assert [(x.attrs["filters"], x.attrs["size"]) for x in layers(arch.network)] == [(8, 3), (1, 5)]


def test_user_names_and_hyperparams():
    space = space_of('space = conv2d(filters: one_of(8, 16, name: "width"), size: 3)\n'
                     'train = hyperparams { optimizer: one_of("adam", "sgd_mom"), batch_size: 32 }')
    assert [c.name for c in space.choices] == ["width", "train/optimizer"]
    arch = space.replay([0, 1])
    assert arch.hyperparams == {"optimizer": "sgd_mom", "batch_size": 32}
    assert arch.choices() == {"width": 8, "train/optimizer": "sgd_mom"}


def test_params_are_overridden_by_defines():
    text = "param classes = 10\nspace = affine(units: classes)"
    assert layers(space_of(text).sample(0).network)[0].attrs["units"] == 10
    over = space_of(text, defines={"classes": "100"})
    assert layers(over.sample(0).network)[0].attrs["units"] == 100


def test_math_helpers_match_numpy():
    import numpy as np

    program = darchlang.load_string("a = logspace(-2, -7, 32)\nb = range(4, 33, 4)\n"
                                    "c = linspace(0, 1, 5)\nd = log10(0.9)\ne = sqrt(2.0)\n"
                                    "space = relu()")
    assert program.get("a") == [float(x) for x in np.logspace(-2, -7, 32)]
    assert program.get("b") == [4, 8, 12, 16, 20, 24, 28, 32]
    assert program.get("c") == [0.0, 0.25, 0.5, 0.75, 1.0]
    assert program.get("d") == np.log10(0.9)
    assert program.get("e") == np.sqrt(2.0)


def test_imports_resolve_relative_to_the_importing_file(tmp_path):
    (tmp_path / "lib").mkdir()
    (tmp_path / "lib" / "blocks.darch").write_text("def block() = conv2d(filters: one_of(1, 2), size: 3)\n"
                                                   "_private = 1\n")
    (tmp_path / "main.darch").write_text('import "lib/blocks"\nspace = concat [block(), block()]\n')
    program = darchlang.load_file(tmp_path / "main.darch")
    assert program.space.count() == 4
    assert "_private" not in program.names


def test_residual_and_join():
    space = space_of('space = residual(conv2d(filters: 4, size: 3), join: one_of("pad", "project"))')
    joins = [a.network.join for a in space.enumerate()]
    assert joins == ["pad", "project"]


def test_identity_is_hash_of_text_and_stable():
    space = darchlang.load_file("examples/cifar10_complex.darch").space
    a, b = space.sample(7), space.sample(7)
    assert a.identity == b.identity and a.text == b.text
    assert a.decisions == b.decisions
    assert space.replay(a.decisions).identity == a.identity


@pytest.mark.parametrize("expr", ["true + 1", "1 - false", "true * 3", "-true", "true < 2",
                                  "2 ** true", "[1, 2] * true", "max(true, 3)", "min([1, false])",
                                  "10 // true", "5 % true"])
def test_booleans_are_not_numbers(expr):
    with pytest.raises(DarchError, match="cannot be applied") as info:
        darchlang.load_string(f"x = {expr}\nspace = relu()\n")
    assert "true and false are not numbers" in info.value.render()


@pytest.mark.parametrize(("expr", "value"), [("true == 1", False), ("false != 0", True),
                                             ("true == true", True), ("1 == 1.0", True)])
def test_a_boolean_equals_only_a_boolean(expr, value):
    assert darchlang.load_string(f"x = {expr}\nspace = relu()\n").get("x") is value


def test_booleans_over_choices_in_arithmetic_fail_at_check():
    with pytest.raises(DarchError, match="when `one_of\\(true, false\\)`"):
        darchlang.load_string("b = one_of(true, false)\n"
                              "space = conv2d(filters: 8 * b + 8, size: 3)\n")
