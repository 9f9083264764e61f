"""Text to AST: the Lark LALR parser, one inline transformer, errors in the user's words.

The AST is built while the LALR parser reduces (Lark's inline `transformer=`), so no
parse tree is made and nothing recurses: nesting as deep as the input goes costs a
longer parser stack, not Python frames. The parser keeps every token
(`keep_all_tokens`) so that each node's span is its first and last token, brackets and
keywords included. What one parse needs (its source, its comments, its brackets) lives
in context variables, so parses in several threads at once, or nested, never mix.

Building the LALR tables in strict mode takes longer than the rest of a `darch` command;
they are cached on disk (see `_cache_file`). Text that parses runs through a copy of those
tables in `syntax/driver.py`, twice as fast as Lark's own loop and without importing Lark
(see `_fast`); Lark's parser takes over where that one stops, so errors read the same.
"""

from __future__ import annotations

import ast as pyast
import math
import re
from contextvars import ContextVar
from functools import cache, partial
from pathlib import Path
from typing import TYPE_CHECKING

from darchlang.errors import MAX_ERRORS, DarchError, Source, Span, raise_all
from darchlang.process import no_cyclic_gc
from darchlang.resources import grammar_text
from darchlang.syntax import ast
from darchlang.syntax.driver import FORMAT, FastParser, Unparsed, tables_of

if TYPE_CHECKING:
    from lark import Lark, Token
    from lark.exceptions import UnexpectedInput

KEYWORDS = ("def", "param", "import", "from", "as", "if", "then", "else", "let", "in", "and",
            "or", "not", "true", "false", "graph", "return")

# Deeper expressions are refused with an error at the node that passes the limit: every
# later phase (interpreting, formatting, printing) walks the AST recursively.
MAX_DEPTH = 1000

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

_SOURCE: ContextVar[Source] = ContextVar("darchlang_source")
_COMMENTS: ContextVar[list[Token]] = ContextVar("darchlang_comments")
_PARENS: ContextVar[dict[int, tuple[Token, Token, ast.Node]]] = ContextVar("darchlang_parens")
_OPTIONS = dict(parser="lalr", keep_all_tokens=True, maybe_placeholders=True, strict=True)


def _keep_comment(tok: Token) -> None:
    comments = _COMMENTS.get(None)
    if comments is not None:
        comments.append(tok)


def _cache_folder() -> Path | None:
    """The user's cache folder for darchlang, made if missing; None when it cannot be."""
    import platformdirs

    folder = Path(platformdirs.user_cache_dir("darchlang"))
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None
    return folder


def _cache_file(kind: str) -> str | bool:
    """Where Lark keeps the built tables of `kind`: one file per grammar text and Lark
    version (Lark also checks a hash of both inside the file, and rebuilds from the
    grammar when the file is missing, unreadable or damaged). Tables of earlier grammars
    are removed. Without a usable cache folder the tables are built in memory each time."""
    import hashlib

    import lark

    folder = _cache_folder()
    if folder is None:
        return False
    digest = hashlib.sha256(grammar_text().encode()).hexdigest()[:16]
    path = folder / f"parser-{kind}-{digest}-lark{lark.__version__}.cache"
    try:
        if not path.exists():
            for old in folder.glob(f"parser-{kind}-*.cache"):
                old.unlink()
    except OSError:
        return False
    return str(path)


@cache
def _lark() -> Lark:
    """The parser that builds the AST, for programs (`start`) and expressions (`expr`)."""
    from lark import Lark

    return Lark(grammar_text(), start=["start", "expr"], transformer=_ToAst(),
                lexer_callbacks={"COMMENT": _keep_comment}, cache=_cache_file("ast"), **_OPTIONS)


@cache
def lark_parser(start: str = "start") -> Lark:
    """A plain LALR parser (Lark trees, no AST) for a program (`start`) or one expression
    (`expr`), for tools that drive it token by token (REPL completion and validation)."""
    from lark import Lark

    return Lark(grammar_text(), start=start, cache=_cache_file(start), **_OPTIONS)


def parse(text: str, name: str = "<input>") -> ast.Program:
    """Parse program text; bad text raises DarchError with a span and a help line, or
    DarchErrors when several statements are wrong."""
    comments: list[Token] = []
    try:
        program = _run(text, name, "start", comments)
    except DarchError as first:
        raise_all(_every_syntax_error(text, name) or [first])
    program.comments = [ast.Comment(t.line, t.column, str(t)) for t in comments]
    return program


def parse_expression(text: str, name: str = "<input>") -> ast.Node:
    """Parse a single expression (the REPL's input when it is not a statement).

    It has its own start rule, so spans and error positions are those of `text` itself.
    """
    return _run(text, name, "expr", [])


@cache
def _fast() -> FastParser:
    """The fast run's tables: read from the cache folder (a marshal file that also holds
    the grammar text it was made from), or taken from Lark's parser and written there."""
    import marshal
    import os
    import sys
    import zlib

    grammar = grammar_text()
    folder = _cache_folder()
    path = None
    if folder is not None:
        py = "".join(map(str, sys.version_info[:2]))  # marshal's format is Python's own
        path = folder / f"fast-{FORMAT}-py{py}-{zlib.crc32(grammar.encode()):08x}.marshal"
        try:
            grammar_then, data = marshal.loads(path.read_bytes())
            if grammar_then == grammar and data.get("format") == FORMAT:
                return FastParser(data, _ToAst())
        except (OSError, ValueError, EOFError, TypeError):
            pass  # missing or damaged: made again below
    data = tables_of(_lark(), "COMMENT")
    if path is not None:
        part = path.with_name(f"{path.name}.{os.getpid()}.part")
        try:
            part.write_bytes(marshal.dumps((grammar, data)))  # ValueError: not plain data
            os.replace(part, path)  # whole or not at all, whoever reads it meanwhile
            for old in folder.glob("fast-*.marshal"):
                if old != path:
                    old.unlink(missing_ok=True)
        except (OSError, ValueError):
            part.unlink(missing_ok=True)
    return FastParser(data, _ToAst())


def _run(text: str, name: str, start: str, comments: list[Token]):
    """The fast run of the tables first; where it stops, Lark's parser, which finds the
    same tree or words the error."""
    source = Source(name, text)
    tokens = _SOURCE.set(source), _COMMENTS.set(comments), _PARENS.set({})
    try:
        with no_cyclic_gc():
            try:
                return _fast().parse(text, start, comments)
            except Unparsed:
                comments.clear()
                _PARENS.get().clear()
            return _lark_parse(text, start, source)
    finally:
        for var, token in zip((_SOURCE, _COMMENTS, _PARENS), tokens, strict=True):
            var.reset(token)


def _lark_parse(text: str, start: str, source: Source):
    from lark.exceptions import UnexpectedInput

    try:
        return _lark().parse(text, start=start)
    except UnexpectedInput as exc:
        raise _syntax_error(exc, source) from None


# Where a statement may start: a line that begins with a keyword or `name =`.
_STATEMENT_START = re.compile(r"^(?:(?:def|param|import|from)\b|[A-Za-z_]\w*[ \t]*=(?!=))", re.M)
_KEYWORD_START = re.compile(r"(?:def|param|import|from)\b")


def _every_syntax_error(text: str, name: str) -> list[DarchError]:
    """The syntax errors of a text that does not parse, one per broken statement.

    The text is cut where statements start, and each piece is parsed alone (padded
    with the newlines before it, so positions stay those of the whole text). A piece
    that ends too early is joined to the next one when that does not parse alone either
    (a `let` or an open bracket split over lines); when the joined piece breaks right
    where it was joined, that piece is checked alone next. At most MAX_ERRORS."""
    source = Source(name, text)
    starts = [m.start() for m in _STATEMENT_START.finditer(text)]
    if not starts or starts[0] != 0:
        starts.insert(0, 0)
    starts.append(len(text))
    if len(starts) == 2:  # one statement: its error is the whole text's, found already
        return []
    errors: list[DarchError] = []
    first = 0
    while first < len(starts) - 1 and len(errors) < MAX_ERRORS:
        last = first + 1
        while True:
            piece = "\n" * text.count("\n", 0, starts[first]) + text[starts[first]:starts[last]]
            try:
                _run(piece, name, "start", [])
                break
            except DarchError as err:
                if err.message.startswith("unexpected end of file") and last < len(starts) - 1 \
                        and not _parses_alone(text, name, starts[last], starts[last + 1]):
                    last += 1  # a `let` or an open bracket may go on past a `name = ...` line
                    continue
                if err.message.startswith("unexpected end of file") and starts[last] < len(text):
                    err.message = err.message.replace("end of file", "end of the statement", 1)
                    err.notes.append(f"the next statement starts at line "
                                     f"{_position(text, starts[last])[0]}")
                if err.span is not None:
                    err.span = Span(source, err.span.line, err.span.col, err.span.end_line,
                                    err.span.end_col)
                    joined_at = starts[last - 1]
                    if last - 1 > first and _position(text, joined_at) == (err.span.line,
                                                                            err.span.col):
                        last -= 1  # the piece joined last is where it broke: check it alone
                errors.append(err)
                break
        first = last
    return errors


def _parses_alone(text: str, name: str, start: int, end: int) -> bool:
    if _KEYWORD_START.match(text, start):
        return True  # a `def`, `param` or import never goes on a statement before it
    try:
        _run("\n" * text.count("\n", 0, start) + text[start:end], name, "start", [])
    except DarchError:
        return False
    return True


# ---- building the AST -----------------------------------------------------------------
# A span made as its tuple, without the Python frame of a named tuple's `__new__`: the
# parser makes one per node and one per name, number or string.
_new_span = partial(tuple.__new__, Span)


def _span(first, last) -> Span:
    """From the start of `first` to the end of `last` (each a token or a node, a node in
    brackets counting from its brackets)."""
    parens = _PARENS.get()
    if isinstance(first, str):  # a token
        line, col = first.line, first.column
    elif parens and id(first) in parens:
        line, col = parens[id(first)][0].line, parens[id(first)][0].column
    else:
        line, col = first.span.line, first.span.col
    if parens and id(last) in parens:
        last = parens[id(last)][1]
    if isinstance(last, str):
        return _new_span((_SOURCE.get(), line, col, last.end_line, last.end_column))
    end = last.span
    return _new_span((_SOURCE.get(), line, col, end.end_line, end.end_col))


def _depth(node: ast.Node, *children: ast.Node) -> ast.Node:
    """Give `node` its depth (one more than its deepest child) and refuse one too deep."""
    depth = 0
    for child in children:  # a loop: most nodes have one or two children
        if child.depth > depth:
            depth = child.depth
    depth += 1
    if depth > MAX_DEPTH:
        raise DarchError(f"this expression nests too deeply: more than {MAX_DEPTH} levels",
                         node.span, help="bind inner parts to names and use the names")
    node.depth = depth
    return node


def _nodes(items) -> list:
    return [i for i in items if isinstance(i, ast.Node)]


class _ToAst:
    """One method per grammar rule (or alias); each gets the rule's children, every token
    included, and returns an AST node whose span runs from its first to its last token."""

    def start(self, items):
        statements = _nodes(items)
        span = _span(statements[0], statements[-1]) if statements else None
        return ast.Program(statements, span=span)

    def import_stmt(self, items):
        _, path, _, alias = items
        if alias is None:
            return ast.Import(_string_value(path), _span(items[0], path))
        return ast.Import(_string_value(path), _span(items[0], alias), alias=str(alias),
                          name_spans=[_tok_span(alias)])

    def from_import(self, items):
        names = [t for t in items[3:] if isinstance(t, str) and t.type == "NAME"]
        seen: set[str] = set()
        for t in names:
            if t in seen:
                raise DarchError(f"`{t}` is imported twice", _tok_span(t))
            seen.add(t)
        return ast.Import(_string_value(items[1]), _span(items[0], names[-1]),
                          names=[str(t) for t in names], name_spans=[_tok_span(t) for t in names])

    def param_stmt(self, items):
        _, name, _, value = items
        return ast.ParamDecl(str(name), value, _span(items[0], value))

    def def_stmt(self, items):
        _, name, _, params, _, _, body = items
        return ast.Def(str(name), params or [], body, _span(items[0], body), _tok_span(name))

    def params(self, items):
        return _nodes(items)

    def param(self, items):
        name, default = items[0], items[-1]
        if not isinstance(default, ast.Node):
            return ast.FuncParam(str(name), None, _tok_span(name))
        return _depth(ast.FuncParam(str(name), default, _span(name, default)), default)

    def bind_stmt(self, items):
        name, _, value = items
        return ast.Bind(str(name), value, _span(name, value), _tok_span(name))

    def if_expr(self, items):
        _, cond, _, then, _, orelse = items
        return _depth(ast.If(cond, then, orelse, _span(items[0], orelse)), cond, then, orelse)

    def let_expr(self, items):
        bindings, body = _nodes(items[1:-2]), items[-1]
        return _depth(ast.Let(bindings, body, _span(items[0], body)), *bindings, body)

    def graph_expr(self, items):
        inputs, bindings, output = items[2], _nodes(items[5:-3]), items[-2]
        names = inputs or []
        seen: set[str] = set()
        for b in bindings:
            if b.name in seen or b.name in names:
                raise DarchError(f"`{b.name}` is bound twice in this graph", b.span)
            seen.add(b.name)
        node = ast.Graph(names, bindings, output, _span(items[0], items[-1]))
        return _depth(node, *bindings, output)

    def graph_inputs(self, items):
        names = [str(t) for t in items if isinstance(t, str) and t.type == "NAME"]
        if len(set(names)) != len(names):
            raise DarchError("a graph input is named twice", _span(items[0], items[-1]))
        return names

    def let_binding(self, items):
        name, _, value = items
        return _depth(ast.LetBinding(str(name), value, _span(name, value)), value)

    def operation(self, items):
        return _group(items)

    def call(self, items):
        func, _, args, _ = items
        args = args or []
        return _depth(ast.Call(func, args, "paren", _span(func, items[-1])), func, *args)

    def attribute(self, items):
        value, dot, name = items
        node = ast.Attribute(value, str(name), _span(value, name), _tok_span(name), _tok_span(dot))
        return _depth(node, value)

    def call_list(self, items):
        func, lst = items
        end = _span(func, func)
        if len(lst.items) == 1 and (end.end_line, end.end_col) == (lst.span.line, lst.span.col):
            index = lst.items[0]  # `xs[i]`: the bracket touches what it indexes
            node = ast.Index(func, index, _span(func, lst), lst.span)
            return _depth(node, func, index)
        node = ast.Call(func, [_depth(ast.Arg(None, lst, lst.span), lst)], "list", _span(func, lst))
        return _depth(node, func, lst)

    def call_record(self, items):
        func, rec = items
        node = ast.Call(func, [_depth(ast.Arg(None, rec, rec.span), rec)], "record",
                        _span(func, rec))
        return _depth(node, func, rec)

    def args(self, items):
        return [a if type(a) is ast.Arg else _depth(ast.Arg(None, a, a.span), a)
                for a in _nodes(items)]

    def kwarg(self, items):
        name, _, value = items
        return _depth(ast.Arg(str(name), value, _span(name, value)), value)

    def number(self, items):
        (tok,) = items
        text = str(tok)
        if "." in text or "e" in text or "E" in text:
            value: int | float = float(text)
            if math.isinf(value):
                raise DarchError(f"the number `{text}` is too large for a float", _tok_span(tok),
                                 help="write a number below 1.8e308")
        else:
            try:
                value = int(text)
            except ValueError:  # past Python's limit on digits (4,300)
                raise DarchError(f"this integer has {len(text):,} digits, too many to be a "
                                 "number", _tok_span(tok),
                                 help="darchlang integers have at most 4,096 bits "
                                 "(about 1,233 digits)") from None
        return ast.Number(value, text, _tok_span(tok))

    def string(self, items):
        return ast.String(_string_value(items[0]), _tok_span(items[0]))

    def true(self, items):
        return ast.Bool(True, _tok_span(items[0]))

    def false(self, items):
        return ast.Bool(False, _tok_span(items[0]))

    def name(self, items):
        return ast.Name(str(items[0]), _tok_span(items[0]))

    def atom(self, items):
        """`( expr )`: the expression itself; an expression around it spans the brackets."""
        opening, node, closing = items
        _PARENS.get()[id(node)] = (opening, closing, node)  # the node kept: ids stay unique
        return node

    def list(self, items):
        values = _nodes(items)
        return _depth(ast.ListExpr(values, _span(items[0], items[-1])), *values)

    def record(self, items):
        fields = _nodes(items)
        seen: dict[str, ast.Field] = {}
        for f in fields:
            if f.name in seen:
                raise DarchError(f"field `{f.name}` is given twice", f.span,
                                 notes=[f"first given at {seen[f.name].span.where}"])
            seen[f.name] = f
        return _depth(ast.Record(fields, _span(items[0], items[-1])), *fields)

    def field(self, items):
        name, _, value = items
        return _depth(ast.Field(str(name), value, _span(name, value)), value)


# Binding power of each operator (higher binds tighter); the formatter uses it too.
PRECEDENCE = {"or": 1, "and": 2, "not": 3, "==": 4, "!=": 4, "<": 4, "<=": 4, ">": 4,
              ">=": 4, "+": 5, "-": 5, "*": 6, "/": 6, "//": 6, "%": 6, "**": 8}
UNARY_MINUS = 7
_PREFIX = 0  # marks a prefix operator on the operator stack


def _group(items: list) -> ast.Node:
    """A flat run `[prefix*] operand (op [prefix*] operand)*` grouped by precedence with
    an operator stack (shunting-yard): no recursion, however long the run."""
    operands: list[ast.Node] = []
    stack: list[tuple[int, Token, int]] = []  # (power, operator, kind)

    def apply() -> None:
        power, op, kind = stack.pop()
        right = operands.pop()
        if kind == _PREFIX:
            if op == "+":
                operands.append(right)
            elif op == "-" and type(right) is ast.Number:
                operands.append(ast.Number(-right.value, "-" + right.text, _span(op, right)))
            else:
                operands.append(_depth(ast.UnaryOp(str(op), right, _span(op, right)), right))
            return
        left = operands.pop()
        operands.append(_depth(ast.BinOp(str(op), left, right, _span(left, right)), left, right))

    expect_operand = True
    for item in items:
        if not isinstance(item, str):  # an operand, not an operator token
            operands.append(item)
            expect_operand = False
        elif expect_operand:
            power = PRECEDENCE["not"] if item == "not" else UNARY_MINUS
            if item == "not" and stack and stack[-1][1] not in ("or", "and", "not"):
                raise DarchError("`not` cannot follow this operator without brackets",
                                 _tok_span(item), help="write `(not ...)`")
            stack.append((power, item, _PREFIX))
        else:
            power = PRECEDENCE[str(item)]
            right_to_left = power == PRECEDENCE["**"]
            while stack and (stack[-1][0] > power or (stack[-1][0] == power and not right_to_left)):
                if power == PRECEDENCE["=="] and stack[-1][0] == power and stack[-1][2] != _PREFIX:
                    raise DarchError("comparisons do not chain", _tok_span(item),
                                     help="join two comparisons with `and`: `a < b and b < c`")
                apply()
            stack.append((power, item, 2))
            expect_operand = True
    while stack:
        apply()
    return operands[0]


def _tok_span(tok: Token) -> Span:
    return _new_span((_SOURCE.get(), tok.line, tok.column, tok.end_line, tok.end_column))


def _string_value(tok: Token) -> str:
    try:
        return pyast.literal_eval(str(tok))
    except (ValueError, SyntaxError):
        raise DarchError("invalid escape sequence in string", _tok_span(tok)) from None


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
    from lark.exceptions import UnexpectedCharacters, UnexpectedToken

    text = source.text
    if isinstance(exc, UnexpectedCharacters):
        span = Span(source, exc.line, exc.column, exc.line, exc.column + 1)
        char = text[exc.pos_in_stream] if exc.pos_in_stream < len(text) else ""
        if char in "\"'":
            return DarchError("unterminated string", span,
                              help=f"close the string with {char} before the end of the line")
        import unicodedata

        if "\udc80" <= char <= "\udcff":  # a byte of text read with surrogateescape
            shown = f"byte 0x{ord(char) - 0xDC00:02x}, which is not UTF-8 text"
        elif char.isprintable() and not char.isspace():
            shown = f"character `{char}`"
        else:
            shown = f"character U+{ord(char):04X} ({unicodedata.name(char, 'a control character')})"
        return DarchError(f"unexpected {shown}", span, help=_char_help(char))
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
    span = Span(source, tok.line, tok.column, tok.end_line, tok.end_column)
    what = f"`{tok}`" if tok.type not in ("NAME", "NUMBER", "STRING") else (
        f"{_WORDS[tok.type].split(' ', 1)[1]} `{tok}`")
    # nothing accepted: one expression (a -D value, REPL input) ended before this token
    msg = f"unexpected {what}; expected {expected}" if expected else \
        f"unexpected {what} after the end of the expression"
    opened = _open_brackets(text, tok.start_pos or 0)
    help_text = _token_help(tok, accepts, opened, text)
    notes = ["this looks like a Python file: darch reads `.darch` programs (see "
             "docs/tutorial.md), and Python code uses darchlang through `import darchlang`"
             ] if source.name.endswith(".py") else []
    return DarchError(msg, span, help=help_text, notes=notes)


def _char_help(char: str) -> str | None:
    if char == ";":
        return "statements need no separator: start the next one on a new line"
    if char == "@":
        return "darchlang has no decorators; call the function instead"
    if char in "\u201c\u201d\u2018\u2019":
        return 'strings take straight quotes, as in "relu" (an editor may have curled them)'
    if char.isspace():
        return "replace it with a plain space"
    if "\udc80" <= char <= "\udcff":
        return "type or save the text as UTF-8"
    if char and not char.isprintable():
        return "remove it: a program is plain text"
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
    before = text[:tok.start_pos or 0].rstrip()
    if tok.type == "NAME" and set(accepts) <= {"STRING"} and before.endswith(("import", "from")):
        example = f'from "{tok}.darch" import ...' if before.endswith("from") else \
            f'import "{tok}.darch"'
        return (f"a file is imported by its name in quotes, as in `{example}`; Python modules "
                "cannot be imported")
    if tok.type == "RETURN":
        return "`return` ends a `graph { ... }` block; a `def` body is a single expression"
    if tok.type == "NAME" and str(tok) in ("lambda", "for", "while", "class"):
        return f"`{tok}` is not a darchlang keyword; a `def` body is a single expression"
    return None
