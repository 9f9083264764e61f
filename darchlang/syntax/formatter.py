"""The canonical layout of darchlang programs (`darch fmt`), comments kept.

An expression prints on one line when it fits in `WIDTH` columns and holds no
comment; otherwise its outermost bracket breaks, one item per line with a trailing
comma, and each item tries again on its own line. A chain of operators breaks before
each of its loosest operators, one operand per line at one more indent (the grammar
gives newlines no meaning, so no brackets are added); `tail`, the columns that follow
an expression on its last line (`)`, `,`, ` then`), counts against the width. Parentheses are re-derived from
precedence, so formatting never changes the parsed program. Past MAX_BREAK_DEPTH
indents an expression without comments stays on one line, however long.
"""

from __future__ import annotations

import json
from collections import deque

from darchlang.errors import Span
from darchlang.process import deep_recursion
from darchlang.syntax import ast
from darchlang.syntax.parser import PRECEDENCE, UNARY_MINUS, parse

WIDTH = 88
INDENT = "    "
# Past this many indents an expression stays on one line (unless it holds a comment):
# every broken level copies the text of the levels inside it, so breaking 1,000 levels
# would take seconds, and such text is machine-made anyway.
MAX_BREAK_DEPTH = 100

_PREC = PRECEDENCE
_UNARY_MINUS = UNARY_MINUS
_ATOM = 9


def format_source(text: str, name: str = "<input>") -> str:
    """Reformat program text; raises DarchError when it does not parse."""
    program = parse(text, name)
    with deep_recursion():
        return Formatter(program, text).program()


class Formatter:
    def __init__(self, program: ast.Program, text: str):
        self.prog = program
        self.lines = text.splitlines()
        # comments not yet placed, in order; taken from the front (a deque: a file of
        # 200,000 comments took seconds as a list)
        self.pending = deque(sorted(program.comments, key=lambda c: (c.line, c.col)))
        self._flat: dict[int, str] = {}  # id(node) -> its one-line text (each made once)

    # ---- comments ---------------------------------------------------------------------
    def _code_before(self, c: ast.Comment) -> bool:
        line = self.lines[c.line - 1] if c.line - 1 < len(self.lines) else ""
        return bool(line[: c.col - 1].strip())

    def take_before(self, line: int) -> list[str]:
        """Own-line comments above `line` (and any stranded comment before it)."""
        out = []
        while self.pending and self.pending[0].line < line:
            out.append(self.pending.popleft().text.rstrip())
        return out

    def take_trailing(self, line: int) -> str:
        for i, c in enumerate(self.pending):
            if c.line == line and self._code_before(c):
                del self.pending[i]
                return "  " + c.text.rstrip()
            if c.line > line:
                break
        return ""

    def _trailing_after(self, e: ast.Node, nxt: ast.Node) -> str:
        """The comment that ends the last line of `e`, if any, when it comes before `nxt`
        (what follows on the line belongs to `nxt`)."""
        if e.span is None or nxt.span is None:
            return ""
        line = e.span.end_line
        for c in self.pending:
            if c.line == line and (line, c.col) < (nxt.span.line, nxt.span.col):
                return self.take_trailing(line)
        return ""

    def _comments_before(self, e: ast.Node, indent: str) -> list[str]:
        """Comments written before `e` (kept inside a broken `if` or `let`), indented."""
        return [indent + c for c in self.take_before(e.span.line)] if e.span is not None else []

    def has_comment(self, span: Span | None) -> bool:
        if span is None:
            return False
        start, end = (span.line, span.col), (span.end_line, span.end_col)
        return any(start <= (c.line, c.col) < end for c in self.pending)

    # ---- statements -------------------------------------------------------------------
    def program(self) -> str:
        out: list[str] = []
        prev_end = 0
        for st in self.prog.statements:
            start = st.span.line if st.span else prev_end + 1
            last = prev_end
            while self.pending and self.pending[0].line < start:
                c = self.pending.popleft()
                if out and self._blank_between(last, c.line):
                    out.append("")
                out.append(c.text.rstrip())
                last = c.line
            if out and self._blank_between(last, start):
                out.append("")
            text = self.statement(st)
            end = st.span.end_line if st.span else start
            out.append(text + self.take_trailing(end))
            prev_end = end
        last = prev_end
        for c in self.pending:
            if out and self._blank_between(last, c.line):
                out.append("")
            out.append(c.text.rstrip())
            last = c.line
        self.pending.clear()
        return "\n".join(out) + "\n" if out else ""

    def _blank_between(self, a: int, b: int) -> bool:
        return any(not self.lines[i - 1].strip() for i in range(a + 1, b) if i - 1 < len(self.lines))

    def statement(self, st: ast.Node) -> str:
        if isinstance(st, ast.Import):
            if st.names is not None:
                return f"from {_string(st.path)} import {', '.join(st.names)}"
            return f"import {_string(st.path)}" + (f" as {st.alias}" if st.alias else "")
        if isinstance(st, ast.ParamDecl):
            head = f"param {st.name} = "
            return head + self.expr(st.value, 0, len(head))
        if isinstance(st, ast.Bind):
            head = f"{st.name} = "
            return head + self.expr(st.value, 0, len(head))
        if isinstance(st, ast.Def):
            params = ", ".join(
                p.name if p.default is None else f"{p.name} = {self.flat(p.default)}"
                for p in st.params
            )
            head = f"def {st.name}({params}) = "
            return head + self.expr(st.body, 0, len(head))
        raise TypeError(f"no formatter for statement {type(st).__name__}")

    # ---- expressions ------------------------------------------------------------------
    def expr(self, e: ast.Node, depth: int, col: int, tail: int = 0) -> str:
        """`e` laid out starting at column `col`, continuation lines at `depth` indents;
        `tail` columns follow it on its last line (a closing bracket, a comma, ` then`)."""
        flat = self.flat(e)
        if (col + len(flat) + tail <= WIDTH or depth >= MAX_BREAK_DEPTH) and type(e) is not ast.Graph \
                and not self.has_comment(e.span):
            return flat
        method = getattr(self, f"break_{type(e).__name__}", None)
        if method is None:
            return flat
        return method(e, depth, col, tail)

    def items(self, open_: str, close: str, entries: list[tuple[str, ast.Node, Span | None]],
              depth: int, span: Span | None) -> str:
        """One entry per line between brackets, with comments kept in place."""
        inner = INDENT * (depth + 1)
        lines = [open_]
        starts = [where.line if where else 0 for _, _, where in entries[1:]] + [0]
        for (prefix, value, where), next_start in zip(entries, starts, strict=True):
            if where is not None:
                lines.extend(inner + c for c in self.take_before(where.line))
            body = self.expr(value, depth + 1, len(inner) + len(prefix), 1)
            end = where.end_line if where else 0
            # A comment ends its line: it follows the last item on that line.
            trailing = self.take_trailing(end) if end != next_start else ""
            lines.append(f"{inner}{prefix}{body},{trailing}")
        if span is not None:
            lines.extend(inner + c for c in self.take_before(span.end_line))
        lines.append(INDENT * depth + close)
        return "\n".join(lines)

    def break_Call(self, e: ast.Call, depth: int, col: int, tail: int) -> str:
        if _prec(e.func) != _ATOM:  # a computed callee: break it inside its brackets
            func = "(" + self.expr(e.func, depth, col + 1, 1) + ")"
            entries = [((f"{a.name}: " if a.name else ""), a.value, a.span) for a in e.args]
            return func + self.items("(", ")", entries, depth, e.span)
        func = self.flat(e.func)
        if e.style == "paren" and (col + len(func) + 1 > WIDTH or self.has_comment(e.func.span)):
            # a long callee (a layer applied in a graph block): break it, keep the args short
            func = self.expr(e.func, depth, col)
            args = "(" + ", ".join((f"{a.name}: " if a.name else "") + self.flat(a.value)
                                   for a in e.args) + ")"
            if _end(col, func) + len(args) + tail <= WIDTH and not any(self.has_comment(a.span) for a in e.args):
                return func + args
            entries = [((f"{a.name}: " if a.name else ""), a.value, a.span) for a in e.args]
            return func + self.items("(", ")", entries, depth, e.span)
        if e.style in ("list", "record"):
            inner = e.args[0].value
            return f"{func} " + self.expr(inner, depth, col + len(func) + 1, tail)
        entries = [((f"{a.name}: " if a.name else ""), a.value, a.span) for a in e.args]
        return func + self.items("(", ")", entries, depth, e.span)

    def break_ListExpr(self, e: ast.ListExpr, depth: int, col: int, tail: int) -> str:
        return self.items("[", "]", [("", i, i.span) for i in e.items], depth, e.span)

    def break_Record(self, e: ast.Record, depth: int, col: int, tail: int) -> str:
        return self.items("{", "}", [(f"{f.name}: ", f.value, f.span) for f in e.fields], depth,
                          e.span)

    def break_If(self, e: ast.If, depth: int, col: int, tail: int) -> str:
        """`if c then a` on the first line, each `else if ... then ...` and the final
        `else` on lines of their own, one indent in."""
        inner = INDENT * (depth + 1)
        cond = self.expr(e.cond, depth + 1, col + 3, 5)
        then = self.expr(e.then, depth + 1, _end(col + 3, cond) + 6)
        lines = [f"if {cond} then {then}{self._trailing_after(e.then, e.orelse)}"]
        rest = e.orelse
        while isinstance(rest, ast.If):
            lines.extend(self._comments_before(rest, inner))
            cond = self.expr(rest.cond, depth + 1, len(inner) + 8, 5)
            then = self.expr(rest.then, depth + 1, _end(len(inner) + 8, cond) + 6)
            lines.append(f"{inner}else if {cond} then {then}{self._trailing_after(rest.then, rest.orelse)}")
            rest = rest.orelse
        lines.extend(self._comments_before(rest, inner))
        lines.append(f"{inner}else {self.expr(rest, depth + 1, len(inner) + 5, tail)}")
        return "\n".join(lines)

    def break_Let(self, e: ast.Let, depth: int, col: int, tail: int) -> str:
        inner = INDENT * (depth + 1)
        lines = ["let"]
        for b, nxt in zip(e.bindings, [*e.bindings[1:], e.body], strict=True):
            if b.span is not None:
                lines.extend(inner + c for c in self.take_before(b.span.line))
            value = self.expr(b.value, depth + 1, len(inner) + len(b.name) + 3)
            lines.append(f"{inner}{b.name} = {value}{self._trailing_after(b, nxt)}")
        lines.extend(self._comments_before(e.body, inner))
        body = self.expr(e.body, depth, len(INDENT * depth) + 3, tail)
        lines.append(f"{INDENT * depth}in {body}")
        return "\n".join(lines)

    def break_Graph(self, e: ast.Graph, depth: int, col: int, tail: int) -> str:
        inner = INDENT * (depth + 1)
        lines = [f"graph({', '.join(e.inputs)}) {{"]
        for b in e.bindings:
            if b.span is not None:
                lines.extend(inner + c for c in self.take_before(b.span.line))
            head = f"{inner}{b.name} = "
            value = self.expr(b.value, depth + 1, len(head))
            end = b.span.end_line if b.span else 0
            lines.append(f"{head}{value}{self.take_trailing(end)}")
        if e.output.span is not None:
            lines.extend(inner + c for c in self.take_before(e.output.span.line))
        lines.append(f"{inner}return {self.expr(e.output, depth + 1, len(inner) + 7)}")
        if e.span is not None:
            lines.extend(inner + c for c in self.take_before(e.span.end_line))
        lines.append(INDENT * depth + "}")
        return "\n".join(lines)

    def break_BinOp(self, e: ast.BinOp, depth: int, col: int, tail: int) -> str:
        """A chain of the loosest operator (`a or b or c`, `a + b - c`) broken before each
        operator, one operand per line at one more indent, as black does for Python; the
        grammar gives newlines no meaning, so no brackets are needed. A chain whose last
        operand opens a bracket (`x + y + f(...)`) stays on its line when all before that
        bracket fits, and the bracket breaks."""
        chain = _chain(e)
        last, op, side = chain[-1]
        if _opens_bracket(last) and not _needs_parens(last, op, side) \
                and not self._comment_between(e.span, last.span):
            head = self.flat_operand(*chain[0]) + "".join(
                f" {o} {self.flat_operand(operand, o, s)}" for operand, o, s in chain[1:-1])
            head += f" {op} "
            if col + len(head) + len(_opening(self.flat(last))) <= WIDTH:
                return head + self.expr(last, depth, col + len(head), tail)
        inner = INDENT * (depth + 1)
        first = self.operand(*chain[0], depth + 1, col, 0)
        lines = [first]
        for i, ((prev, _, _), (operand, op, side)) in enumerate(zip(chain, chain[1:],
                                                                      strict=False)):
            if prev.span is not None and operand.span is not None \
                    and prev.span.end_line != operand.span.line:
                lines[-1] += self.take_trailing(prev.span.end_line)
            if operand.span is not None:
                lines.extend(inner + c for c in self.take_before(operand.span.line))
            prefix = f"{inner}{op} "
            after = tail if i == len(chain) - 2 else 0
            lines.append(prefix + self.operand(operand, op, side, depth + 1, len(prefix), after))
        return "\n".join(lines)

    def _comment_between(self, start: Span | None, end: Span | None) -> bool:
        """Whether a comment not yet placed lies from the start of `start` to the start of
        `end` (a comment between a chain's operands rules out keeping them on one line)."""
        if start is None or end is None:
            return False
        a, b = (start.line, start.col), (end.line, end.col)
        return any(a <= (c.line, c.col) < b for c in self.pending)

    def break_UnaryOp(self, e: ast.UnaryOp, depth: int, col: int, tail: int) -> str:
        sign = "not " if e.op == "not" else "-"
        prec = _UNARY_MINUS if e.op == "-" else _PREC["not"]
        if _prec(e.operand) < prec:
            return f"{sign}(" + self.expr(e.operand, depth, col + len(sign) + 1, tail + 1) + ")"
        return sign + self.expr(e.operand, depth, col + len(sign), tail)

    def flat_operand(self, e: ast.Node, op: str, side: str) -> str:
        return f"({self.flat(e)})" if _needs_parens(e, op, side) else self.flat(e)

    def operand(self, e: ast.Node, op: str, side: str, depth: int, col: int, tail: int) -> str:
        if _needs_parens(e, op, side):
            return "(" + self.expr(e, depth, col + 1, tail + 1) + ")"
        return self.expr(e, depth, col, tail)

    # ---- one-line rendering -------------------------------------------------------------
    def flat(self, e: ast.Node) -> str:
        """`e` on one line. Each node's text is made once: every level of a deep
        expression asks whether its whole text fits."""
        text = self._flat.get(id(e))
        if text is None:
            text = self._flat[id(e)] = self._one_line(e)
        return text

    def _one_line(self, e: ast.Node) -> str:
        t = type(e)
        if t is ast.Number:
            return e.text or _number(e.value)
        if t is ast.String:
            return _string(e.value)
        if t is ast.Bool:
            return "true" if e.value else "false"
        if t is ast.Name:
            return e.id
        if t is ast.ListExpr:
            return "[" + ", ".join(self.flat(i) for i in e.items) + "]"
        if t is ast.Record:
            if not e.fields:
                return "{}"
            return "{ " + ", ".join(f"{f.name}: {self.flat(f.value)}" for f in e.fields) + " }"
        if t is ast.Attribute:
            value = self.flat(e.value)
            return f"{value if _prec(e.value) == _ATOM else f'({value})'}.{e.name}"
        if t is ast.Index:
            value = self.flat(e.value)
            return f"{value if _prec(e.value) == _ATOM else f'({value})'}[{self.flat(e.index)}]"
        if t is ast.Call:
            func = self.flat(e.func)
            if _prec(e.func) != _ATOM:  # `(if r then a else b)(3)` keeps its brackets
                func = f"({func})"
            if e.style in ("list", "record"):
                return f"{func} {self.flat(e.args[0].value)}"
            args = ", ".join((f"{a.name}: " if a.name else "") + self.flat(a.value) for a in e.args)
            return f"{func}({args})"
        if t is ast.BinOp:
            return f"{self.flat_operand(e.left, e.op, 'left')} {e.op} " \
                f"{self.flat_operand(e.right, e.op, 'right')}"
        if t is ast.UnaryOp:
            inner = self.flat(e.operand)
            prec = _UNARY_MINUS if e.op == "-" else _PREC["not"]
            if _prec(e.operand) < prec:
                inner = f"({inner})"
            return f"not {inner}" if e.op == "not" else f"-{inner}"
        if t is ast.If:
            return f"if {self.flat(e.cond)} then {self.flat(e.then)} else {self.flat(e.orelse)}"
        if t is ast.Let:
            binds = " ".join(f"{b.name} = {self.flat(b.value)}" for b in e.bindings)
            return f"let {binds} in {self.flat(e.body)}"
        if t is ast.Graph:
            binds = " ".join(f"{b.name} = {self.flat(b.value)}" for b in e.bindings)
            return f"graph({', '.join(e.inputs)}) {{ {binds} return {self.flat(e.output)} }}"
        raise TypeError(f"no formatter for {t.__name__}")


def _prec(e: ast.Node) -> int:
    if isinstance(e, ast.BinOp):
        return _PREC[e.op]
    if isinstance(e, ast.UnaryOp):
        return _UNARY_MINUS if e.op == "-" else _PREC["not"]
    if isinstance(e, ast.If | ast.Let):
        return 0
    if isinstance(e, ast.Graph):
        return _ATOM
    if isinstance(e, ast.Number) and e.value < 0:
        return _UNARY_MINUS
    return _ATOM


def _needs_parens(child: ast.Node, op: str, side: str) -> bool:
    mine, theirs = _PREC[op], _prec(child)
    if theirs < mine:
        return True
    if theirs > mine:
        return op == "**" and side == "left" and theirs == _UNARY_MINUS
    if op == "**":
        return side == "left"
    if mine == 4:
        return True
    return side == "right"


def _chain(e: ast.BinOp) -> list[tuple[ast.Node, str, str]]:
    """The operands of `e`'s run of operators of its own precedence, in order, each with
    the operator printed before it (the first: the one after it) and its side of its
    parent, so `a - b + c` is [(a, "-", left), (b, "-", right), (c, "+", right)].
    Operands that need brackets at that level (`a - (b - c)`) are single items.
    Iterative: a run of 10,000 operators costs no recursion."""
    if e.op == "**":  # right to left: the run goes down the right operands
        powers = [e]
        while isinstance(powers[-1].right, ast.BinOp) and powers[-1].right.op == "**":
            powers.append(powers[-1].right)
        return [*((p.left, "**", "left") for p in powers), (powers[-1].right, "**", "right")]
    prec = _PREC[e.op]
    spine: list[ast.BinOp] = [e]
    while isinstance(spine[-1].left, ast.BinOp) and _PREC[spine[-1].left.op] == prec \
            and not _needs_parens(spine[-1].left, spine[-1].op, "left"):
        spine.append(spine[-1].left)
    spine.reverse()
    return [(spine[0].left, spine[0].op, "left"), *((b.right, b.op, "right") for b in spine)]


def _opens_bracket(e: ast.Node) -> bool:
    """Whether `e` prints starting with a name and a bracket, or a bracket, that can break."""
    if isinstance(e, ast.Call):
        return _prec(e.func) == _ATOM
    return isinstance(e, ast.ListExpr | ast.Record) and bool(e.items if isinstance(e, ast.ListExpr)
                                                             else e.fields)


def _opening(text: str) -> str:
    """The text up to and including the first opening bracket (what stays on the line)."""
    cut = min((i for i in (text.find("("), text.find("["), text.find("{")) if i >= 0),
              default=len(text) - 1)
    return text[: cut + 1]


def _end(col: int, text: str) -> int:
    """The column where `text`, started at column `col`, ends (its last line's length
    when it spans lines)."""
    return len(text) - text.rindex("\n") - 1 if "\n" in text else col + len(text)


def _number(v: int | float) -> str:
    if isinstance(v, int):
        return str(v)
    text = repr(v)
    return text if any(c in text for c in ".en") else text + ".0"


def _string(s: str) -> str:
    return json.dumps(s, ensure_ascii=False)
