"""`darch check` finds unknown names inside functions that nothing calls yet (a
library's), with the interpreter's scopes: parameters (a default sees the ones before
it), `let` and graph bindings in order, imports as namespaces."""

from __future__ import annotations

import pytest

import darchlang
from darchlang.app.programs import check_function_names
from darchlang.errors import DarchError, all_errors


def unknown(text: str) -> list[tuple[int, int, str]]:
    program = darchlang.load_string(text, "lib.darch")
    try:
        check_function_names(program)
    except DarchError as err:
        return [(e.span.line, e.span.col, e.message) for e in all_errors(err)]
    return []


@pytest.mark.parametrize("text", [
    "def f(w, h = 2 * w) = conv2d(filters: h, size: 3)\n",
    "def f(w) = let a = w\n b = a + 1 in conv2d(filters: b, size: 3)\n",
    "def f(w) = graph(x) {\n a = conv2d(filters: w, size: 3)(x)\n return add(a, x)\n}\n",
    "def f() = g()\ndef g() = relu()\n",  # a later function, and itself
    "def f(n) = if n > 0 then f(n - 1) else relu()\n",
    "def f() = blocks.conv_bn_relu(8)\nimport \"blocks\" as blocks\n",
    "def f() = concat [optional(relu()), maybe_swap(relu(), batch_norm())]\n",
])
def test_names_the_interpreter_would_find_pass(text):
    assert unknown(text) == []


def test_every_unknown_name_of_every_function_is_reported_in_order():
    text = ("def f(w) = concat [conv2d(filters: wdth, size: 3), relux()]\n"
            "def g() = let a = b\n b = 1 in a\n"
            "def h() = graph(x) { return add(y, x) }\n")
    assert unknown(text) == [(1, 36, "unknown name `wdth`"), (1, 52, "unknown name `relux`"),
                             (2, 19, "unknown name `b`"), (4, 33, "unknown name `y`")]


def test_a_default_sees_only_the_parameters_before_it():
    assert unknown("def f(h = w, w = 3) = affine(units: h)\n") == [(1, 11, "unknown name `w`")]


def test_the_help_names_the_closest():
    program = darchlang.load_string("def f(width) = affine(units: widht)\n", "lib.darch")
    with pytest.raises(DarchError) as info:
        check_function_names(program)
    assert info.value.help == "did you mean `width`?"
