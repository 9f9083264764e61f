"""Error messages pinned as (source, expected message) pairs, as Jinja's tests do.

Each case gives the program, the `FILE:LINE:COL: error: MESSAGE` first line and, where
there is one, the help line. Changing a message means changing it here on purpose.
"""

import pytest

import darchlang
from darchlang import DarchError

CASES = [
    ("space = conv2d(filters: 16, size: 3, activation: \"relu\")",
     "t.darch:1:38: error: `conv2d` has no parameter `activation`",
     "`conv2d` takes no activation: follow it with one in a `concat`, as in "
     "`concat [conv2d(...), relu()]`"),
    ("space = conv2d(filters: 16, size: 3, bias: True)",
     "t.darch:1:44: error: unknown name `True`", "darchlang writes booleans in lower case: `true`"),
    ("space = conv2d(filters: 16, filters: 8, size: 3)",
     "t.darch:1:29: error: argument `filters` is given twice", None),
    ("w = 64\nspace = conv2d(filters: w / 2, size: 3)",
     "t.darch:2:25: error: argument `filters` of `conv2d`: expected a positive integer, got "
     "number 32.0 (a float: `/`, or a float anywhere in the expression, makes one; divide "
     "integers with `//`, or make it an integer with `round(...)` or `int(...)`)", None),
    ("x = true + 1\nspace = relu()",
     "t.darch:1:5: error: `+` cannot be applied to true and integer 1", None),
    ("import blocks\nspace = relu()",
     "t.darch:1:8: error: unexpected name `blocks`; expected a string",
     'a file is imported by its name in quotes, as in `import "blocks.darch"`; Python modules '
     "cannot be imported"),
    ("from blocks import conv_block\nspace = relu()",
     "t.darch:1:6: error: unexpected name `blocks`; expected a string",
     'a file is imported by its name in quotes, as in `from "blocks.darch" import ...`; Python '
     "modules cannot be imported"),
    ("space = concat [conv2(filters: 3)]",
     "t.darch:1:17: error: unknown name `conv2`", "did you mean `conv2d`?"),
    ("space = conv2d(filters = 3, size: 3)",
     "t.darch:1:24: error: unexpected `=`", "keyword arguments use `:`, as in `filters: 32`"),
    ("space = concat [\n  relu(),\n  conv2d(filters: 3, size: 3)\n",
     "t.darch:3:30: error: unexpected end of file; expected `,` or `]`",
     "the `[` opened at line 1, column 16 is still open: add `]`"),
    ("space = concat [relu())",
     "t.darch:1:23: error: unexpected `)`; expected `,` or `]`",
     "the `[` opened at line 1, column 16 needs `]` first"),
    ('x = "abc\nspace = relu()',
     "t.darch:1:5: error: unterminated string", 'close the string with " before the end of the line'),
    ("space = concat [relu() relu()]",
     "t.darch:1:24: error: unexpected name `relu`; expected `,` or `]`",
     "inside the `[` opened at line 1, column 16: is a `,` missing before this?"),
    ("space = one_of()", "t.darch:1:9: error: `one_of` needs at least one option",
     "list the options, as in `one_of(32, 64)` or `one_of([3, 5])`"),
    ("space = conv2d(filters: -3, size: 3)",
     "t.darch:1:25: error: argument `filters` of `conv2d`: expected a positive integer, got -3", None),
    ("space = conv2d(filters: 3, size: 3, stride: 0)",
     "t.darch:1:45: error: argument `stride` of `conv2d`: expected a positive integer or a pair "
     "[h, w] of them, got 0", None),
    ("space = conv2d(filters: one_of(3, -1), size: 3)",
     "t.darch:1:25: error: argument `filters` of `conv2d` (option 2 of the choice): "
     "expected a positive integer, got -1", None),
    ("space = conv2d(filters: 1e999, size: 3)",
     "t.darch:1:25: error: the number `1e999` is too large for a float",
     "write a number below 1.8e308"),
    ("space = relu()\ntrain = hyperparams { lr: one_of(logspace(0, 400, 2)) }",
     "t.darch:2:34: error: `logspace` gives a non-finite number",
     "keep the values within the range of a float (about 1.8e308)"),
    ("space = conv2d(filter: 3, size: 3)",
     "t.darch:1:16: error: `conv2d` has no parameter `filter`", "did you mean `filters`?"),
    ("space = conv2d(size: 3)", "t.darch:1:9: error: `conv2d` is missing its argument `filters`",
     "signature: conv2d(filters, size, stride, padding, init, dilation, groups, bias)"),
    ("space = relu(1)", "t.darch:1:14: error: `relu` takes no arguments, got 1", "signature: relu()"),
    ("x = 1\nx = 2\nspace = relu()", "t.darch:2:1: error: `x` is defined twice", "rename one of them"),
    ("def f() = relu()\ndef f() = relu()\nspace = f()",
     "t.darch:2:5: error: `f` is defined twice", "rename one of them"),
    ("def f(n) = concat [relu(), f(n + 1)]\nspace = f(0)",
     "t.darch:1:28: error: recursion too deep: `f` was called 200 times without returning",
     "make sure a recursive function reaches a case that does not call itself"),
    ("space = repeat(concat [conv2d(filters: one_of(1,2), size: 3), relu(), relu(), relu()], "
     "times: one_of(1, 9000))",
     "t.darch:1:9: error: the space is too large to build: more than 50,000 nodes",
     "lower the largest repeat count, or use repeat_tied so copies share one body"),
    ("space = repeat(conv2d(filters: one_of(1,2), size: 3), times: one_of(1, 1000000))",
     "t.darch:1:62: error: a repeat count of 1,000,000 is over the limit of 10,000",
     'the limits are listed in the language reference under "Limits and errors"'),
    ('import "nothere.darch"\nspace = relu()',
     "t.darch:1:1: error: cannot find `nothere.darch` to import", None),
    ("space = dropout(keep: 1.5)",
     "t.darch:1:23: error: argument `keep` of `dropout`: expected a number in (0.0, 1.0], got 1.5", None),
    ("space = concat [relu(), 3]",
     "t.darch:1:16: error: `concat` takes layers or sub-spaces; item 2 is integer 3", None),
    ("space = concat [relu]",
     "t.darch:1:16: error: `concat` takes layers or sub-spaces; item 1 is function", "call it: `relu()`"),
    ("space = concat [a]\na = relu()", "t.darch:1:17: error: `a` is used before it is defined",
     "`a` is bound later, at line 2; move this after it"),
    ("space = one_of(relu(), 3)", "t.darch:1:9: error: `one_of` mixes layers and plain values",
     "a choice picks either among sub-spaces or among values"),
    ('space = conv2d(filters: "a", size: 3)',
     't.darch:1:25: error: argument `filters` of `conv2d`: expected a positive integer, got string "a"',
     None),
    ("x = 1; space = relu()", "t.darch:1:6: error: unexpected character `;`",
     "statements need no separator: start the next one on a new line"),
    ("x = 1 / 0\nspace = relu()", "t.darch:1:5: error: division by zero", None),
    ("space = 3", "t.darch:1:1: error: `space` must be layers or a sub-space, but it is integer 3", None),
    ("space = ", "t.darch:1:8: error: unexpected end of file; expected an expression", None),
    ('space = conv2d(filters: 3, size: 3, padding: "full")',
     't.darch:1:46: error: argument `padding` of `conv2d`: expected "same" or "valid", '
     'got string "full"', None),
    ("space = if 3 then relu() else identity()",
     "t.darch:1:12: error: an `if` condition must be true or false, got integer 3", None),
    ('def f() = conv2d(filters: one_of(1, 2, name: "w"), size: 3)\nspace = concat [f(), f()]',
     "t.darch:1:27: error: two different choices are named `w`",
     "each call of `f` makes its own choices; to share them across its calls, call it through "
     "`tied(f)`, or bind the choice outside `f` and pass it in"),
    ("", "t.darch:1:1: error: `t.darch` is empty", "define the network: `space = concat [ ... ]`"),
    ("x = 1", "error: no `space` binding in t.darch",
     "bind the network to `space = ...`, or name another binding with --entry"),
    ("space = concat [relu(), conv2d(filters: 3, size: 3) + 1]",
     "t.darch:1:25: error: `+` cannot be applied to layers", None),
    ("space = repeat(relu(), times: -1)",
     "t.darch:1:31: error: a repeat count must be a non-negative integer, got integer -1", None),
    ("space = hyperparams { a: 1, a: 2 }", "t.darch:1:29: error: field `a` is given twice", None),
    ('x = "abc" * 10000000000\nspace = relu()',
     "t.darch:1:5: error: `*` would make a string of 30,000,000,000 characters (over the limit of 100,000)", None),
    ("x = 2 ** 10 ** 10\nspace = relu()",
     "t.darch:1:5: error: `**` would make an integer of over 4096 bits", None),
]


@pytest.mark.parametrize(("source", "first", "help_text"), CASES)
def test_error_message(source, first, help_text):
    with pytest.raises(DarchError) as info:
        _ = darchlang.load_string(source, "t.darch").space
    text = info.value.render()
    assert text.splitlines()[0].startswith(first), text
    if help_text is not None:
        assert f"= help: {help_text}" in text, text


def test_caret_sits_under_the_spot():
    with pytest.raises(DarchError) as info:
        darchlang.load_string("space = concat [conv2(filters: 3)]", "t.darch")
    lines = info.value.render().splitlines()
    assert lines[2] == "1 | space = concat [conv2(filters: 3)]"
    assert lines[3] == "  |                 ^^^^^"


def test_import_cycle(tmp_path):
    (tmp_path / "a.darch").write_text('import "b.darch"\nspace = relu()\n')
    (tmp_path / "b.darch").write_text('import "a.darch"\nx = 1\n')
    with pytest.raises(DarchError, match=r"import cycle: a.darch -> b.darch -> a.darch"):
        darchlang.load_file(tmp_path / "a.darch")


def test_non_utf8_file(tmp_path):
    path = tmp_path / "bin.darch"
    path.write_bytes(b"space = relu()\n\xff\xfe")
    with pytest.raises(DarchError) as info:
        darchlang.load_file(path)
    assert info.value.render().splitlines()[0].endswith(
        "bin.darch:2:1: error: the file is not UTF-8 text (byte 0xff)")


def test_unknown_define():
    with pytest.raises(DarchError, match="the program has no `param width`"):
        darchlang.load_string("param classes = 10\nspace = relu()", defines={"width": "3"})


def test_replay_errors_name_the_choice():
    space = darchlang.load_string("space = conv2d(filters: one_of(1, 2), size: one_of(3, 5))").space
    with pytest.raises(DarchError, match="ends before choice `space/conv2d/size`"):
        space.replay([0])
    with pytest.raises(DarchError, match="out of range"):
        space.replay([0, 7])
    with pytest.raises(DarchError, match="too long"):
        space.replay([0, 1, 1])


def test_an_excerpt_never_sends_control_characters_to_the_terminal():
    """A binary file's bytes (an escape sequence, a bell) show as U+FFFD, one for one,
    so the caret still points at the right column."""
    with pytest.raises(DarchError) as info:
        darchlang.load_string("x = [1, 2] \x1b[31m\x07 ++ é\n")
    text = info.value.render()
    assert "\x1b" not in text and "\x07" not in text
    line, caret = [row.split("| ", 1)[1] for row in text.splitlines()[2:4]]
    assert line == "x = [1, 2] \ufffd[31m\ufffd ++ é"
    assert caret.index("^") == line.index("\ufffd")


def test_a_python_file_is_named_as_one():
    with pytest.raises(DarchError) as info:
        darchlang.load_string("import torch\n\nclass Net:\n    pass\n", "model.py")
    assert "this looks like a Python file" in info.value.render()
    assert "import darchlang" in info.value.render()


def test_a_name_written_longer_than_a_parameter_suggests_it():
    from darchlang.errors import closest

    assert closest("activation", ["dilation", "act"]) == "act"
    assert closest("sizes", ["size", "stride"]) == "size"
