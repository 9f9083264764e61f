"""Syntax highlighting: a Pygments lexer for darchlang, and one for REPL input.

`DarchLexer` is registered as the Pygments plugin `darch` (see pyproject.toml), so
`pygmentize -l darch file.darch` colours files the way the REPL colours its input.
The word lists come from the language itself (the parser's keywords, the builtin
scope and the prelude), so a new primitive is highlighted without touching this file.
"""

from __future__ import annotations

from functools import lru_cache

from pygments.lexer import RegexLexer, bygroups, include, words
from pygments.token import (
    Comment,
    Keyword,
    Name,
    Number,
    Operator,
    Punctuation,
    String,
    Whitespace,
)

from darchlang.syntax.parser import KEYWORDS

# Keywords that read as operators or constants rather than as statement structure.
WORD_OPERATORS = ("and", "or", "not")
CONSTANTS = ("true", "false")
STRUCTURE = tuple(k for k in KEYWORDS if k not in WORD_OPERATORS + CONSTANTS)


@lru_cache(maxsize=1)
def builtin_names() -> tuple[str, ...]:
    """Every primitive (layers, initializers, combinators, math) and prelude function.

    The prelude is parsed, not interpreted: highlighting needs its names only.
    """
    from darchlang.environment import default_environment
    from darchlang.resources import prelude_files
    from darchlang.semantics.builtins import base_scope
    from darchlang.syntax import ast
    from darchlang.syntax.parser import parse

    names = set(base_scope(default_environment()).names)
    for entry in prelude_files():
        program = parse(entry.read_text("utf-8"), entry.name)
        names.update(st.name for st in program.statements
                     if isinstance(st, ast.Def | ast.Bind) and not st.name.startswith("_"))
    return tuple(sorted(names))


class DarchLexer(RegexLexer):
    """Lexer for darchlang `.darch` files."""

    name = "darchlang"
    aliases = ["darch", "darchlang"]
    filenames = ["*.darch"]
    mimetypes = ["text/x-darchlang"]

    tokens = {
        "root": [
            (r"\s+", Whitespace),
            (r"#[^\n]*", Comment.Single),
            # `def name(` names a function; `param name` a program parameter.
            (r"\b(def)(\s+)([A-Za-z_]\w*)", bygroups(Keyword.Declaration, Whitespace, Name.Function)),
            (r"\b(param)(\s+)([A-Za-z_]\w*)", bygroups(Keyword.Declaration, Whitespace, Name.Variable)),
            (r"\b(import|from|as)\b", Keyword.Namespace),
            (words(STRUCTURE, prefix=r"\b", suffix=r"\b"), Keyword),
            (words(WORD_OPERATORS, prefix=r"\b", suffix=r"\b"), Operator.Word),
            (words(CONSTANTS, prefix=r"\b", suffix=r"\b"), Keyword.Constant),
            # A keyword argument or record field: `filters: 32`.
            (r"([A-Za-z_]\w*)(\s*)(:)", bygroups(Name.Attribute, Whitespace, Punctuation)),
            (words(builtin_names(), prefix=r"\b", suffix=r"\b"), Name.Builtin),
            (r"[A-Za-z_]\w*", Name),
            include("numbers"),
            include("strings"),
            (r"\*\*|//|==|!=|<=|>=|[-+*/%<>=]", Operator),
            (r"[()\[\]{},:.]", Punctuation),
        ],
        "numbers": [
            (r"(\d+\.\d*|\.\d+|\d+)[eE][+-]?\d+", Number.Float),
            (r"\d+\.\d*|\.\d+", Number.Float),
            (r"\d+", Number.Integer),
        ],
        "strings": [
            (r'"(?:[^"\\\n]|\\.)*"', String.Double),
            (r"'(?:[^'\\\n]|\\.)*'", String.Single),
        ],
    }


class DarchReplLexer(DarchLexer):
    """REPL input: darchlang, or a `:command` line whose arguments are plain words."""

    name = "darchlang REPL"
    aliases = ["darch-repl"]
    filenames = []
    mimetypes = []

    tokens = {
        "root": [
            (r"\A(\s*)(:[A-Za-z]*)(.*)$", bygroups(Whitespace, Keyword.Pseudo, String.Other)),
            include("code"),
        ],
        "code": DarchLexer.tokens["root"],
        "numbers": DarchLexer.tokens["numbers"],
        "strings": DarchLexer.tokens["strings"],
    }
