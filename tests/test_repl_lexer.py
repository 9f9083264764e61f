"""The Pygments lexer: darchlang text in, token types out; every shipped file lexes cleanly."""

from pathlib import Path

import pytest
from pygments.lexers import get_lexer_by_name, get_lexer_for_filename
from pygments.token import Comment, Error, Keyword, Name, Number, Operator, Punctuation, String

from darchlang.repl.lexer import DarchLexer, DarchReplLexer, builtin_names

ROOT = Path(__file__).resolve().parent.parent
SHIPPED = sorted(ROOT.glob("examples/**/*.darch")) + sorted(ROOT.glob("stdlib/*.darch"))


def tokens(text, lexer=DarchLexer):
    """(type, text) pairs without whitespace."""
    return [(t, v) for t, v in lexer().get_tokens(text) if v.strip()]


def test_a_definition_is_split_into_the_expected_tokens():
    got = tokens('def blk(f, k = 2) = concat [conv2d(filters: f, size: 3), relu()]  # ok')
    assert got == [
        (Keyword.Declaration, "def"), (Name.Function, "blk"), (Punctuation, "("),
        (Name, "f"), (Punctuation, ","), (Name, "k"), (Operator, "="),
        (Number.Integer, "2"), (Punctuation, ")"), (Operator, "="),
        (Name.Builtin, "concat"), (Punctuation, "["), (Name.Builtin, "conv2d"),
        (Punctuation, "("), (Name.Attribute, "filters"), (Punctuation, ":"), (Name, "f"),
        (Punctuation, ","), (Name.Attribute, "size"), (Punctuation, ":"),
        (Number.Integer, "3"), (Punctuation, ")"), (Punctuation, ","),
        (Name.Builtin, "relu"), (Punctuation, "("), (Punctuation, ")"), (Punctuation, "]"),
        (Comment.Single, "# ok"),
    ]


@pytest.mark.parametrize("text, kind", [
    ("1e-3", Number.Float), ("0.5", Number.Float), (".5", Number.Float), ("42", Number.Integer),
    ('"adam"', String.Double), ("'a\\'b'", String.Single),
    ("if", Keyword), ("then", Keyword), ("let", Keyword), ("in", Keyword),
    ("and", Operator.Word), ("not", Operator.Word), ("true", Keyword.Constant),
    ("import", Keyword.Namespace), ("**", Operator), ("//", Operator), (">=", Operator),
    ("optional", Name.Builtin), ("one_of", Name.Builtin), ("kaiming", Name.Builtin),
    ("my_block", Name), ("relu7", Name),
])
def test_each_kind_of_token(text, kind):
    assert tokens(text) == [(kind, text)]


def test_builtin_names_come_from_the_language():
    names = builtin_names()
    assert {"conv2d", "one_of", "repeat_tied", "logspace", "optional", "maybe_swap"} <= set(names)


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.name)
def test_shipped_files_lex_without_errors_and_round_trip(path):
    text = path.read_text("utf-8")
    pairs = list(DarchLexer().get_tokens(text))
    assert [v for t, v in pairs if t is Error] == []
    assert "".join(v for _, v in pairs).rstrip("\n") == text.rstrip("\n")


def test_repl_lexer_marks_a_command_only_at_the_start():
    assert tokens(":sample space 3", DarchReplLexer)[:2] == [
        (Keyword.Pseudo, ":sample"), (String.Other, " space 3")]
    rest = tokens("x = {a\n: 1}", DarchReplLexer)
    assert (Keyword.Pseudo, ":") not in rest
    assert (Punctuation, ":") in rest


def test_registered_as_a_pygments_plugin():
    assert isinstance(get_lexer_by_name("darch"), DarchLexer)
    assert isinstance(get_lexer_for_filename("space.darch"), DarchLexer)
