"""A faster run of Lark's own LALR tables, for text that parses.

Lark's parser loop pays, per token, for a general lexer (positions kept in an object,
callbacks looked up by terminal) and, per reduction, for hashing its `Rule` objects in
Python. Programs are mostly correct text, so the common case runs here instead: one
regular expression built from the grammar's terminals (ordered as Lark orders them,
keywords told from names as Lark tells them), slim tokens, and the parse table with each
reduction's size, callback and target written out once. The callbacks are Lark's own
(the inline transformer with its child filters), so the AST is the same.

Anything unexpected (a character no terminal matches, a token the table does not take)
raises `Unparsed`, and the caller runs Lark's parser, whose errors are worded for the
user (`syntax/parser.py`). Lark's contextual lexer also reads a keyword as a name where
the keyword cannot stand; such text goes the slow way too, to the same result.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from itertools import chain
from typing import Any

from lark import Lark
from lark.parsers.lalr_analysis import Shift


class Unparsed(Exception):
    """The text needs Lark's parser: it has an error, or reads a keyword as a name."""


class Tok(str):
    """A token: its text, its terminal's name and where it starts and ends (1-based)."""

    __slots__ = ("type", "line", "column", "end_line", "end_column")

    def __new__(cls, kind: str, value: str, line: int, column: int, end_line: int,
                end_column: int) -> Tok:
        tok = str.__new__(cls, value)
        tok.type, tok.line, tok.column = kind, line, column
        tok.end_line, tok.end_column = end_line, end_column
        return tok


class FastParser:
    """Lark's LALR tables and callbacks for `lark` (an inline-transformer parser)."""

    def __init__(self, lark: Lark, comment: str):
        terminals = sorted(lark.terminals, key=lambda t: (-t.priority, -t.pattern.max_width,
                                                          -len(t.pattern.value), t.name))
        name = re.compile(next(t for t in terminals if t.name == "NAME").pattern.to_regexp())
        self.keywords = {t.pattern.value: t.name for t in terminals
                         if t.pattern.type == "str" and name.fullmatch(t.pattern.value)}
        self.match = re.compile("|".join(f"(?P<{t.name}>{t.pattern.to_regexp()})"
                                         for t in terminals
                                         if t.name not in self.keywords.values())).match
        self.ignore = frozenset(lark.lexer_conf.ignore)
        self.comment = comment
        lalr = lark.parser.parser.parser  # ParsingFrontend -> LALR_Parser -> its _Parser
        table, callbacks = lalr.parse_table, lalr.callbacks
        self.start_states, self.end_states = table.start_states, table.end_states
        self.states: dict[Any, dict[str, tuple[bool, Any]]] = {
            state: {symbol: (True, arg) if action is Shift else
                    (False, (len(arg.expansion), callbacks[arg], arg.origin.name))
                    for symbol, (action, arg) in actions.items()}
            for state, actions in table.states.items()}

    def tokens(self, text: str, comments: list) -> Iterator[Tok]:
        """The tokens of `text`; comments go to `comments`, blanks nowhere."""
        match, ignore, keywords, comment = self.match, self.ignore, self.keywords, self.comment
        line, line_start, pos, size = 1, 0, 0, len(text)
        while pos < size:
            m = match(text, pos)
            if m is None:
                raise Unparsed
            kind, end = m.lastgroup, m.end()
            if kind in ignore:
                newlines = text.count("\n", pos, end)
                if newlines:
                    line += newlines
                    line_start = text.rindex("\n", pos, end) + 1
                elif kind == comment:
                    col = pos - line_start + 1
                    comments.append(Tok(kind, m.group(), line, col, line, col + end - pos))
                pos = end
                continue
            value = m.group()
            if kind == "NAME":
                kind = keywords.get(value, kind)
            col = pos - line_start + 1
            yield Tok(kind, value, line, col, line, col + end - pos)
            pos = end

    def parse(self, text: str, start: str, comments: list) -> Any:
        """What the callbacks build for `text` from rule `start`; raises Unparsed."""
        table, end_state = self.states, self.end_states[start]
        states, values = [self.start_states[start]], []
        try:
            for tok in chain(self.tokens(text, comments), (_END,)):
                kind = tok.type
                shift, arg = table[states[-1]][kind]
                while not shift:  # reduce by rule `arg`, as often as the table says
                    size, callback, origin = arg
                    if size:
                        children = values[-size:]
                        del states[-size:], values[-size:]
                    else:
                        children = []
                    values.append(callback(children))
                    goto = table[states[-1]][origin][1]
                    if goto == end_state:
                        return values[-1]
                    states.append(goto)
                    shift, arg = table[states[-1]][kind]
                states.append(arg)
                values.append(tok)
        except KeyError:
            raise Unparsed from None
        raise Unparsed  # the table never reached its end state


_END = Tok("$END", "", 0, 0, 0, 0)
