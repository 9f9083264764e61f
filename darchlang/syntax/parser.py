"""Text to AST: the Lark LALR parser, one Transformer, and errors in the user's words."""

from __future__ import annotations

import ast as pyast
import math
from functools import lru_cache

from lark import Lark, Token, Transformer, v_args
from lark.exceptions import UnexpectedCharacters, UnexpectedInput, UnexpectedToken, VisitError

from darchlang.errors import DarchError, Source, Span
from darchlang.resources import grammar_text
from darchlang.syntax import ast

_COMMENTS: list[Token] = []

KEYWORDS = ("def", "param", "import", "if", "then", "else", "let", "in", "and", "or", "not",
            "true", "false", "graph", "return")

_WORDS = {
    "NAME": "a name",
    "NUMBER": "a number",
    "STRING": "a string",
    "COMP_OP": "a comparison",
    "ADD_OP": "`+` or `-`",
    "MUL_OP": "`*`, `/`, `//` or `%`",
    "POW_OP": "`**`",
    "$END": "the end of the file",
}
_OPEN = {"(": ")", "[": "]", "{": "}"}


@lru_cache(maxsize=2)
def _lark(start: str = "start") -> Lark:
    return Lark(
        grammar_text(),
        parser="lalr",
        propagate_positions=True,
        maybe_placeholders=True,
        lexer_callbacks={"COMMENT": _COMMENTS.append},
        strict=True,
        start=start,
    )


def lark_parser(start: str = "start") -> Lark:
    """The shared LALR parser for a program (`start`) or one expression (`expr`), for
    tools that drive it token by token (REPL completion and validation)."""
    return _lark(start)


def parse(text: str, name: str = "<input>") -> ast.Program:
    """Parse program text; bad text raises DarchError with a span and a help line."""
    source = Source(name, text)
    _COMMENTS.clear()
    try:
        tree = _lark().parse(text)
    except UnexpectedInput as exc:
        raise _syntax_error(exc, source) from None
    comments = [ast.Comment(t.line, t.column, str(t)) for t in _COMMENTS]
    _COMMENTS.clear()
    try:
        program = _ToAst(source).transform(tree)
    except VisitError as exc:
        if isinstance(exc.orig_exc, DarchError):
            raise exc.orig_exc from None
        raise
    program.comments = comments
    return program


def parse_expression(text: str, name: str = "<input>") -> ast.Node:
    """Parse a single expression (the REPL's input when it is not a statement).

    It has its own start rule, so spans and error positions are those of `text` itself.
    """
    source = Source(name, text)
    try:
        tree = _lark("expr").parse(text)
    except UnexpectedInput as exc:
        raise _syntax_error(exc, source) from None
    finally:
        _COMMENTS.clear()
    try:
        return _ToAst(source).transform(tree)
    except VisitError as exc:
        if isinstance(exc.orig_exc, DarchError):
            raise exc.orig_exc from None
        raise


# ---- building the AST -----------------------------------------------------------------
def _span(source: Source, meta) -> Span | None:
    if getattr(meta, "empty", True):
        return None
    return Span(source, meta.line, meta.column, meta.end_line, meta.end_column)


def _tok_span(source: Source, tok: Token) -> Span:
    return Span(source, tok.line, tok.column, tok.end_line, tok.end_column)


@v_args(meta=True)
class _ToAst(Transformer):
    def __init__(self, source: Source):
        super().__init__()
        self.src = source

    def _s(self, meta):
        return _span(self.src, meta)

    def start(self, meta, items):
        return ast.Program(list(items), span=self._s(meta))

    def import_stmt(self, meta, items):
        return ast.Import(_string_value(items[0], self.src), self._s(meta))

    def param_stmt(self, meta, items):
        return ast.ParamDecl(str(items[0]), items[1], self._s(meta))

    def def_stmt(self, meta, items):
        name, params, body = items
        return ast.Def(str(name), params or [], body, self._s(meta), _tok_span(self.src, name))

    def params(self, meta, items):
        return [p for p in items if p is not None]

    def param(self, meta, items):
        return ast.FuncParam(str(items[0]), items[1], self._s(meta))

    def bind_stmt(self, meta, items):
        name, value = items
        return ast.Bind(str(name), value, self._s(meta), _tok_span(self.src, name))

    def if_expr(self, meta, items):
        return ast.If(items[0], items[1], items[2], self._s(meta))

    def let_expr(self, meta, items):
        return ast.Let(list(items[:-1]), items[-1], self._s(meta))

    def graph_expr(self, meta, items):
        inputs, *bindings, output = items
        names = inputs or []
        seen: set[str] = set()
        for b in bindings:
            if b.name in seen or b.name in names:
                raise DarchError(f"`{b.name}` is bound twice in this graph", b.span)
            seen.add(b.name)
        return ast.Graph(names, list(bindings), output, self._s(meta))

    def graph_inputs(self, meta, items):
        names = [str(t) for t in items if t is not None]
        if len(set(names)) != len(names):
            raise DarchError("a graph input is named twice", self._s(meta))
        return names

    def let_binding(self, meta, items):
        return ast.LetBinding(str(items[0]), items[1], self._s(meta))

    def binop(self, meta, items):
        left, op, right = items
        return ast.BinOp(str(op), left, right, self._s(meta))

    def unop(self, meta, items):
        op, operand = items
        if str(op) == "+":
            return operand
        if str(op) == "-" and isinstance(operand, ast.Number):
            return ast.Number(-operand.value, "-" + operand.text, self._s(meta))
        return ast.UnaryOp(str(op), operand, self._s(meta))

    def call(self, meta, items):
        func, args = items
        return ast.Call(func, args or [], "paren", self._s(meta))

    def call_list(self, meta, items):
        func, lst = items
        return ast.Call(func, [ast.Arg(None, lst, lst.span)], "list", self._s(meta))

    def call_record(self, meta, items):
        func, rec = items
        return ast.Call(func, [ast.Arg(None, rec, rec.span)], "record", self._s(meta))

    def args(self, meta, items):
        out = []
        for a in items:
            if a is None:
                continue
            out.append(a if isinstance(a, ast.Arg) else ast.Arg(None, a, a.span))
        return out

    def kwarg(self, meta, items):
        return ast.Arg(str(items[0]), items[1], self._s(meta))

    def number(self, meta, items):
        text = str(items[0])
        if any(c in text for c in ".eE"):
            value: int | float = float(text)
            if math.isinf(value):
                raise DarchError(f"the number `{text}` is too large for a float", self._s(meta),
                                 help="write a number below 1.8e308")
        else:
            value = int(text)
        return ast.Number(value, text, self._s(meta))

    def string(self, meta, items):
        return ast.String(_string_value(items[0], self.src), self._s(meta))

    def true(self, meta, items):
        return ast.Bool(True, self._s(meta))

    def false(self, meta, items):
        return ast.Bool(False, self._s(meta))

    def name(self, meta, items):
        return ast.Name(str(items[0]), self._s(meta))

    def list(self, meta, items):
        return ast.ListExpr([i for i in items if i is not None], self._s(meta))

    def record(self, meta, items):
        fields = [f for f in items if f is not None]
        seen: dict[str, ast.Field] = {}
        for f in fields:
            if f.name in seen:
                raise DarchError(f"field `{f.name}` is given twice", f.span,
                                 notes=[f"first given at {seen[f.name].span.where}"])
            seen[f.name] = f
        return ast.Record(fields, self._s(meta))

    def field(self, meta, items):
        return ast.Field(str(items[0]), items[1], self._s(meta))


def _string_value(tok: Token, source: Source) -> str:
    text = str(tok)
    try:
        value = pyast.literal_eval(text)
    except (ValueError, SyntaxError):
        raise DarchError("invalid escape sequence in string", _tok_span(source, tok)) from None
    return value


# ---- syntax errors ----------------------------------------------------------------------
def _describe_terminal(name: str) -> str:
    if name in _WORDS:
        return _WORDS[name]
    for term in _lark().terminals:
        if term.name == name and term.pattern.type == "str":
            return f"`{term.pattern.value}`"
    return name.lower()


def _expected_words(names) -> str:
    words = sorted({_describe_terminal(n) for n in names if n not in ("COMMENT",)})
    if len(words) > 6:
        return "an expression" if "a name" in words else ", ".join(words[:6]) + ", ..."
    if len(words) <= 2:
        return " or ".join(words)
    return ", ".join(words[:-1]) + " or " + words[-1]


def _open_brackets(text: str, upto: int) -> list[tuple[str, int]]:
    """Brackets still open before offset `upto`, skipping strings and comments."""
    stack: list[tuple[str, int]] = []
    i = 0
    while i < upto:
        c = text[i]
        if c == "#":
            while i < upto and text[i] != "\n":
                i += 1
            continue
        if c in "\"'":
            j = i + 1
            while j < upto and text[j] != c and text[j] != "\n":
                j += 2 if text[j] == "\\" else 1
            i = j + 1
            continue
        if c in _OPEN:
            stack.append((c, i))
        elif c in ")]}" and stack and _OPEN[stack[-1][0]] == c:
            stack.pop()
        i += 1
    return stack


def _position(text: str, offset: int) -> tuple[int, int]:
    line = text.count("\n", 0, offset) + 1
    col = offset - (text.rfind("\n", 0, offset) + 1) + 1
    return line, col


def _syntax_error(exc: UnexpectedInput, source: Source) -> DarchError:
    text = source.text
    if isinstance(exc, UnexpectedCharacters):
        span = Span(source, exc.line, exc.column, exc.line, exc.column + 1)
        char = text[exc.pos_in_stream] if exc.pos_in_stream < len(text) else ""
        if char in "\"'":
            return DarchError("unterminated string", span,
                              help=f"close the string with {char} before the end of the line")
        return DarchError(f"unexpected character `{char}`", span,
                          help=_char_help(char))
    assert isinstance(exc, UnexpectedToken)
    tok = exc.token
    accepts = exc.accepts or exc.expected
    expected = _expected_words(accepts)
    if tok.type == "$END":
        end = len(text.rstrip())
        line, col = _position(text, end)
        span = Span(source, line, col, line, col + 1)
        opened = _open_brackets(text, len(text))
        msg = f"unexpected end of file; expected {expected}"
        if opened:
            ch, off = opened[-1]
            oline, ocol = _position(text, off)
            return DarchError(msg, span, help=f"the `{ch}` opened at line {oline}, column {ocol} "
                              f"is still open: add `{_OPEN[ch]}`")
        return DarchError(msg, span)
    span = _tok_span(source, tok)
    what = f"`{tok}`" if tok.type not in ("NAME", "NUMBER", "STRING") else (
        f"{_WORDS[tok.type].split(' ', 1)[1]} `{tok}`")
    msg = f"unexpected {what}; expected {expected}"
    opened = _open_brackets(text, tok.start_pos or 0)
    help_text = _token_help(tok, accepts, opened, text)
    return DarchError(msg, span, help=help_text)


def _char_help(char: str) -> str | None:
    if char == ";":
        return "statements need no separator: start the next one on a new line"
    if char == "@":
        return "darchlang has no decorators; call the function instead"
    return None


def _token_help(tok: Token, accepts, opened, text: str) -> str | None:
    if tok.type == "EQUAL" and opened and opened[-1][0] == "(":
        return "keyword arguments use `:`, as in `filters: 32`"
    if tok.type == "EQUAL" and "COLON" in accepts:
        return "record fields use `:`, as in `{ optimizer: \"adam\" }`"
    if tok.type in ("RPAR", "RSQB", "RBRACE"):
        if opened:
            ch, off = opened[-1]
            line, col = _position(text, off)
            if _OPEN[ch] != str(tok):
                return f"the `{ch}` opened at line {line}, column {col} needs `{_OPEN[ch]}` first"
        return f"remove this `{tok}`: nothing is open here"
    if opened and tok.type in ("NAME", "NUMBER", "STRING", "LPAR", "LSQB"):
        ch, off = opened[-1]
        line, col = _position(text, off)
        sep = "`,`" if ch in "[{(" else "an operator"
        return f"inside the `{ch}` opened at line {line}, column {col}: is a {sep} missing before this?"
    if tok.type == "RETURN":
        return "`return` ends a `graph { ... }` block; a `def` body is a single expression"
    if tok.type == "NAME" and str(tok) in ("lambda", "for", "while", "class"):
        return f"`{tok}` is not a darchlang keyword; a `def` body is a single expression"
    return None
