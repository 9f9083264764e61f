"""A faster run of Lark's own LALR tables, for text that parses, without importing Lark.

Lark's parser loop pays, per token, for a general lexer (positions kept in an object,
callbacks looked up by terminal) and, per reduction, for hashing its `Rule` objects in
Python; importing Lark costs a fifth of a `darch count`. Programs are mostly correct
text, so the common case runs here instead, from plain data taken once from a built
Lark parser (`tables_of`) and kept in the user's cache folder (`syntax/parser.py`):

- the grammar's terminals and their regular expressions, in the order Lark's lexer
  tries them, with keywords told from names as Lark tells them;
- the parse table, each reduction written out as its size, rule and target;
- for each rule, how Lark shapes its children before the transformer sees them (which
  to keep, which inlined rules to splice in, where `[x]` leaves a None, whether a
  `?rule` with one child passes it on), replayed by `_shaper` exactly as Lark's
  `parse_tree_builder` does it. The transformer is the same, so the AST is the same.

Anything unexpected (a character no terminal matches, a token the table does not take)
raises `Unparsed`, and the caller runs Lark's parser, whose errors are worded for the
user. Lark's contextual lexer also reads a keyword as a name where the keyword cannot
stand; such text goes that way too, to the same result.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

FORMAT = 2  # of the data below; a cached copy of another format is rebuilt
_END = "_END"  # the end of the text: Lark's `$END`, named as a regular expression's group
_BAD = "_BAD"  # a character no terminal matches


class Unparsed(Exception):
    """The text needs Lark's parser: it has an error, or reads a keyword as a name."""


class Tok(str):
    """A token: its text, its terminal's name and where it starts and ends (1-based).

    Made by `str.__new__` and its slots set in the parser's loop (no `__init__`): a
    constructor's call would cost a third of the tokenizing."""

    __slots__ = ("type", "line", "column", "end_line", "end_column")


class _Spliced:
    """The children of a rule Lark inlines into its parent (`_rule`, repetitions)."""

    __slots__ = ("children",)

    def __init__(self, children: list):
        self.children = children


def tables_of(lark: Any, comment: str) -> dict:
    """The data a FastParser runs on, read off a built Lark LALR parser whose
    transformer is inline and whose lexer keeps every token."""
    from lark.parse_tree_builder import (
        ChildFilterLALR,
        ChildFilterLALR_NoPlaceholders,
        ExpandSingleChild,
    )
    from lark.parsers.lalr_analysis import Shift

    terminals = sorted(lark.terminals, key=lambda t: (-t.priority, -t.pattern.max_width,
                                                      -len(t.pattern.value), t.name))
    name = re.compile(next(t for t in terminals if t.name == "NAME").pattern.to_regexp())
    keywords = {str(t.pattern.value): str(t.name) for t in terminals
                if t.pattern.type == "str" and name.fullmatch(t.pattern.value)}
    regexps = [[str(t.name), str(t.pattern.to_regexp())] for t in terminals
               if t.name not in keywords.values()]
    lalr = lark.parser.parser.parser  # ParsingFrontend -> LALR_Parser -> its _Parser
    table, callbacks = lalr.parse_table, lalr.callbacks
    rules: list = []
    index: dict[int, int] = {}

    def shape(rule) -> int:
        if id(rule) not in index:
            fn, expand1, keep, nones = callbacks[rule], False, None, 0
            while not hasattr(fn, "__self__"):  # down the wrappers to the transformer
                if isinstance(fn, ChildFilterLALR):
                    keep = [[int(i), bool(spliced), int(add)] for i, spliced, add in fn.to_include]
                    nones = int(fn.append_none)
                elif isinstance(fn, ChildFilterLALR_NoPlaceholders):
                    keep = [[int(i), bool(spliced), 0] for i, spliced in fn.to_include]
                elif isinstance(fn, ExpandSingleChild):
                    expand1 = True
                elif getattr(fn, "func", None) is not None:  # partial(Tree, name): no method
                    fn = None
                    break
                else:
                    raise TypeError(f"unknown Lark callback wrapper {fn!r}")
                fn = fn.node_builder
            index[id(rule)] = len(rules)
            rules.append([str(fn.__name__) if fn is not None else None, expand1, keep, nones])
        return index[id(rule)]

    # plain str throughout (Lark's names may be its Token, a str subclass marshal refuses)
    states = {int(state): {str(symbol): [True, int(arg)] if action is Shift else
                           [False, [len(arg.expansion), shape(arg), str(arg.origin.name)]]
                           for symbol, (action, arg) in actions.items()}
              for state, actions in table.states.items()}
    return {"format": FORMAT, "terminals": regexps, "keywords": keywords,
            "ignore": sorted(map(str, lark.lexer_conf.ignore)), "comment": comment,
            "rules": rules, "states": states,
            "start": {str(k): int(v) for k, v in table.start_states.items()},
            "end": {str(k): int(v) for k, v in table.end_states.items()}}


def _shaper(rule: list, transformer: Any) -> Callable[[list], Any]:
    """What Lark calls on a reduction by `rule`: its children filtered and spliced as
    Lark's ChildFilterLALR does, a lone child passed on for a `?rule`, then the
    transformer's method (or, for a rule without one, the children to splice)."""
    method, expand1, keep, nones = rule
    build: Callable[[list], Any] = getattr(transformer, method) if method else _Spliced
    if expand1:
        inner = build

        def build(children: list) -> Any:
            return children[0] if len(children) == 1 else inner(children)

    if keep is None:
        return build

    def shaped(children: list) -> Any:
        out: list = []
        for i, spliced, add_none in keep:
            if add_none:
                out += [None] * add_none
            if spliced:
                if out:
                    out += children[i].children
                else:
                    out = children[i].children
            else:
                out.append(children[i])
        if nones:
            out += [None] * nones
        return build(out)

    return shaped


def _passes_on(rule: list) -> bool:
    """Whether a reduction of one child by `rule` returns that child as it is."""
    _, expand1, keep, nones = rule
    return expand1 and not nones and keep in (None, [[0, False, 0]])


class FastParser:
    """The tables of `tables_of` run with `transformer`'s methods."""

    def __init__(self, data: dict, transformer: Any):
        # One match per token: the spaces and tabs before it (group 1: no terminal starts
        # with one, so the token found after them is the one Lark finds; a run of blanks
        # with a newline is still the ignored WS token, for line counting), then the
        # terminals in Lark's order, each followed by an empty group named after it, the
        # last group to close, so `lastgroup` names the terminal: a branch that starts
        # with the terminal's own first character is skipped at once by the regular
        # expression engine where that character is not there (a named group first would
        # be entered), a third of the tokenizing. Every place matches something (the end
        # of the text, `_END`, or any character, `_BAD`), so the scan never skips text.
        terminals = "|".join(f"(?:{regexp})(?P<{name}>)" for name, regexp in data["terminals"])
        self.scan = re.compile(
            f"([ \t]*)(?:{terminals}|\\Z(?P<{_END}>)|[\\s\\S](?P<{_BAD}>))").finditer
        self.keywords, self.comment = data["keywords"], data["comment"]
        self.ignore = frozenset(data["ignore"])
        rules = data["rules"]
        shapers = [_shaper(rule, transformer) for rule in rules]
        # A reduction of one child that Lark passes on unchanged (the `?rule` chains of
        # the expression grammar: most reductions) has no callback: it only moves the
        # state, and the loop below does that without touching the values.
        self.states = {state: {_END if symbol == "$END" else symbol: (True, arg) if shift else
                               (False, (arg[0], None if arg[0] == 1 and _passes_on(rules[arg[1]])
                                        else shapers[arg[1]], arg[2]))
                               for symbol, (shift, arg) in actions.items()}
                       for state, actions in data["states"].items()}
        # the state after each rule's reduction, from the state below it
        self.goto = {state: {symbol: arg for symbol, (shift, arg) in actions.items() if shift}
                     for state, actions in data["states"].items()}
        self.start_states, self.end_states = data["start"], data["end"]

    def parse(self, text: str, start: str, comments: list) -> Any:
        """What the callbacks build for `text` from rule `start`; raises Unparsed.
        Comments go to `comments`.

        The tokens are read in the same loop (one match each, the blanks before a token
        in it, the end of the text matched as `_END`, a character no terminal takes as
        `_BAD`, which no state takes either): a generator's resumption per token costs
        as much as the match."""
        table, goto, end_state = self.states, self.goto, self.end_states[start]
        ignore, keywords, comment, new = self.ignore, self.keywords, self.comment, str.__new__
        state = self.start_states[start]  # the top of `states`, kept at hand
        states, values = [state], []
        line, line_start = 1, 0
        try:
            for m in self.scan(text):
                kind = m.lastgroup
                pos, end = m.end(1), m.end()
                if kind in ignore:
                    newlines = text.count("\n", pos, end)
                    if newlines:
                        line += newlines
                        line_start = text.rindex("\n", pos, end) + 1
                    elif kind == comment:
                        comments.append(_token(kind, text[pos:end], line, pos - line_start + 1))
                    continue
                value = text[pos:end]
                if kind == "NAME":
                    kind = keywords.get(value, kind)
                tok = new(Tok, value)
                tok.type, tok.line, tok.end_line = kind, line, line
                tok.column = pos - line_start + 1
                tok.end_column = end - line_start + 1
                shift, arg = table[state][kind]
                while not shift:  # reduce by rule `arg`, as often as the table says
                    size, callback, origin = arg
                    if size == 1:  # the top of both stacks replaced, in place
                        if callback is not None:  # (None: the child is passed on as it is)
                            values[-1] = callback([values[-1]])
                        state = goto[states[-2]][origin]
                        if state == end_state:
                            return _accepted(values, kind)
                        states[-1] = state
                    else:
                        if size:
                            children = values[-size:]
                            del states[-size:], values[-size:]
                        else:
                            children = []
                        values.append(callback(children))
                        state = goto[states[-1]][origin]
                        if state == end_state:
                            return _accepted(values, kind)
                        states.append(state)
                    shift, arg = table[state][kind]
                state = arg
                states.append(state)
                values.append(tok)
        except KeyError:
            raise Unparsed from None
        raise Unparsed  # the table never reached its end state


def _token(kind: str, value: str, line: int, column: int) -> Tok:
    """A token of one line (the parser's loop makes its own the same way, inline)."""
    tok = str.__new__(Tok, value)
    tok.type, tok.line, tok.end_line = kind, line, line
    tok.column, tok.end_column = column, column + len(value)
    return tok


def _accepted(values: list, kind: str) -> Any:
    """The tree, once the start rule is reduced at the end of the text; with text left
    over (`3 x` as one expression), Lark's parser words the error."""
    if kind != _END:
        raise Unparsed
    return values[-1]
