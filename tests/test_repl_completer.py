"""Completion: the text before the cursor in, the offered completions out."""

import pytest
from prompt_toolkit.completion import CompleteEvent
from prompt_toolkit.document import Document

from darchlang.app.complete import scan
from darchlang.repl.completer import DarchCompleter
from darchlang.repl.session import COMMANDS, Session


@pytest.fixture(scope="module")
def session():
    s = Session()
    for text in ("def block(filters, size = 3) = conv2d(filters: filters, size: size)",
                 "my_width = one_of(32, 64)",
                 "my_space = concat [block(my_width), relu()]"):
        assert s.execute(text).ok
    return s


def complete(session, text, cursor=None):
    completer = DarchCompleter(session.visible, session.env,
                               COMMANDS,
                               session.user_names)
    doc = Document(text, len(text) if cursor is None else cursor)
    return list(completer.get_completions(doc, CompleteEvent(completion_requested=True)))


def texts(session, text):
    return [c.text for c in complete(session, text)]


def test_keyword_arguments_of_a_layer_come_first(session):
    got = texts(session, "x = conv2d(")
    assert got[:5] == ["filters: ", "size: ", "stride: ", "padding: ", "init: "]
    assert "my_width" in got  # a positional argument may be any expression


def test_arguments_already_given_are_not_offered_again(session):
    got = texts(session, "x = conv2d(filters: 3, ")
    assert got[:4] == ["size: ", "stride: ", "padding: ", "init: "]
    assert "filters: " not in got
    assert texts(session, "conv2d(32, ")[:1] == ["size: "]  # filled by position


def test_a_partial_word_narrows_arguments_and_names(session):
    assert texts(session, "conv2d(filters: 3, s") == ["size: ", "stride: ", "sigmoid", "silu",
                                                     "slice", "softmax", "sqrt"]


def test_keyword_argument_completion_shows_type_and_meaning(session):
    stride = next(c for c in complete(session, "conv2d(") if c.text == "stride: ")
    assert stride.display_meta_text == "= 1; step of the kernel"
    filters = next(c for c in complete(session, "conv2d(") if c.text == "filters: ")
    assert filters.display_meta_text == "positive integer; number of output channels"


def test_user_functions_offer_their_parameters(session):
    assert texts(session, "block(")[:2] == ["filters: ", "size: "]
    assert texts(session, "maybe_swap(")[:2] == ["a: ", "b: "]  # a prelude function


def test_user_names_are_offered_first_with_their_kind(session):
    got = complete(session, "x = my_")
    assert [c.text for c in got] == ["my_space", "my_width"]
    assert [c.display_meta_text for c in got] == ["sub-space", "choice"]
    assert texts(session, "x = ")[:3] == ["block", "my_space", "my_width"]


def test_builtins_and_prelude_names(session):
    assert texts(session, "x = re") == ["relu", "relu6", "repeat", "repeat_tied", "residual",
                                        "resize"]
    assert "optional" in texts(session, "opt")
    layer = next(c for c in complete(session, "conv") if c.text == "conv2d")
    assert layer.display_meta_text == "layer"


def test_keywords_only_where_the_grammar_takes_them(session):
    assert texts(session, "x = if true th") == ["then"]
    assert texts(session, "x = if true then 1 el") == ["else"]
    assert "if" in texts(session, "x = i")
    assert "def" in texts(session, "de")
    assert texts(session, "x = 3 an") == ["and"]


def test_nothing_inside_strings_comments_and_numbers(session):
    assert texts(session, 'x = "con') == []
    assert texts(session, "x = 1  # con") == []
    assert texts(session, "x = 1e") == []


def test_completion_uses_only_the_text_before_the_cursor(session):
    text = "x = conv2d(fil)"
    assert texts(session, text[:-1])[:1] == ["filters: "]
    got = complete(session, text, cursor=len(text) - 1)
    assert got[0].text == "filters: " and got[0].start_position == -3


def test_commands_and_their_arguments(session):
    assert texts(session, ":sa") == [":sample"]
    assert set(texts(session, ":s")) == {":show", ":sample"}
    assert texts(session, ":show my_s") == ["my_space"]
    assert "conv2d" in texts(session, ":help conv")


def test_load_completes_paths(session, tmp_path, monkeypatch):
    (tmp_path / "spaces").mkdir()
    (tmp_path / "spaces" / "tiny.darch").write_text("space = relu()\n")
    monkeypatch.chdir(tmp_path)
    assert texts(session, ":load spaces/ti") == ["ny.darch"]


def test_scan_tracks_calls_strings_and_depth():
    ctx = scan("x = concat [conv2d(filters: 3, size: one_of(1, 2), ")
    assert ctx.frame.callee == "conv2d" and ctx.frame.keywords == {"filters", "size"}
    assert ctx.at_arg_start and ctx.depth == 2
    assert scan('x = f("a(b", ').frame.callee == "f"
    assert scan('x = "open').in_literal
