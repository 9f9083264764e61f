"""Validation and reading: input in, error positions or how to go on out."""

import pytest
from prompt_toolkit.document import Document
from prompt_toolkit.validation import ValidationError

from darchlang.app.reader import kind_of, offset_of, state
from darchlang.repl.app import inputs
from darchlang.repl.keys import continues
from darchlang.repl.validator import DarchValidator, error_position


@pytest.mark.parametrize("text, kind", [
    ("", "empty"), ("  \n", "empty"), ("# just a note", "empty"),
    (":count", "command"), ("  :show space", "command"),
    ("w = one_of(1, 2)", "statements"), ("def f(x) = x", "statements"),
    ('import "lib/blocks"', "statements"), ("param n = 3", "statements"),
    ("# note\nw = 3", "statements"),
    ("w", "expression"), ("w == 3", "expression"), ("conv2d(filters: 3, size: 3)", "expression"),
    ("definitely", "expression"),
])
def test_kind_of_input(text, kind):
    assert kind_of(text) == kind


@pytest.mark.parametrize("text, expected", [
    ("w = 3", "complete"), ("relu()", "complete"), (":sample", "complete"), ("", "complete"),
    ("space = concat [", "incomplete"), ("conv2d(filters: 3,", "incomplete"),
    ("def f(x) =", "incomplete"), ("x = if a then b", "incomplete"), ("w =", "incomplete"),
    ("x = = 3", "error"), ("conv2d(filters 3)", "error"), ("x = )", "error"),
    ('x = "open', "error"),
])
def test_state_of_input(text, expected):
    assert state(text) == expected


@pytest.mark.parametrize("text, offset, message", [
    ("x = = 3", 4, "unexpected `=`"),
    ("conv2d(filters 3)", 15, "unexpected number `3`"),
    ("space = concat [\n  relu()\n  relu()\n]", 28, "is a `,` missing before this?"),
    ("x = conv2d(filters = 3)", 19, "keyword arguments use `:`"),
    ("x = 3;", 5, "unexpected character `;`"),
    ("space = concat [relu(),", 23, "the `[` opened at line 1, column 16 is still open"),
])
def test_error_positions(text, offset, message):
    found = error_position(text)
    assert found is not None
    assert found[0] == offset
    assert message in found[1]


@pytest.mark.parametrize("text", [
    "w = one_of(1, 2)", "conv2d(filters: 3, size: 3)", ":sample space 1 2", "", "# note",
    "def f(x) = concat [\n    x,\n    x,\n]",
])
def test_valid_input_has_no_error(text):
    assert error_position(text) is None


def test_validator_moves_the_cursor_to_the_error():
    with pytest.raises(ValidationError) as info:
        DarchValidator().validate(Document("w = one_of(1 2)"))
    assert info.value.cursor_position == 13
    assert "unexpected number `2`" in info.value.message
    DarchValidator().validate(Document("w = one_of(1, 2)"))


def test_offset_of_line_and_column():
    text = "ab\ncde\nf"
    assert offset_of(text, 1, 1) == 0
    assert offset_of(text, 2, 3) == 5
    assert offset_of(text, 3, 1) == 7
    assert offset_of(text, 9, 9) == len(text)


def test_enter_continues_inside_an_open_bracket_only():
    assert continues(Document("space = concat ["))
    assert continues(Document("space = concat [\n    relu(),"))
    assert not continues(Document("space = concat [\n    relu(),\n]"))
    assert not continues(Document("x = = 3"))  # an error is submitted, to be shown
    assert not continues(Document("space = concat [\n    relu(),\n    "))  # blank line


def test_script_lines_are_grouped_into_inputs():
    lines = ["w = 3\n", "space = concat [\n", "  relu(),\n", "]\n", "\n", ":count\n",
             "x = (\n", "\n", "w\n"]
    assert list(inputs(lines)) == ["w = 3", "space = concat [\n  relu(),\n]", ":count",
                                   "x = (", "w"]
