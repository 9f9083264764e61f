"""darchlang in Jupyter: rich displays of spaces, architectures and searches, and magics.

    %load_ext darchlang

    %%darch simple
    space = concat [conv2d(filters: one_of(16, 32), size: 3), relu(), affine(units: 10)]

A `%%darch NAME` cell is a darchlang program: it is loaded (errors print as `darch
check` prints them, without a Python traceback), bound to `NAME` in the notebook
(`program` when no name is given) and its space is displayed. `%darch ARGS` runs a
`darch` command in the kernel (`%darch count examples/cifar10_simple.darch`).

The HTML displays are built here rather than in the classes they show, so that the
space, architecture and search modules stay free of presentation; the classes'
`_repr_html_` methods only call in. Nothing here imports IPython or torch until a
display or a magic needs it.
"""

from __future__ import annotations

import html
import shlex
from typing import Any

_STYLE = ("font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-size: 12px; "
          "border-collapse: collapse")
_CELL = "padding: 2px 8px; border-bottom: 1px solid #ddd; text-align: left; vertical-align: top"


def _table(head: list[str], rows: list[list[str]]) -> str:
    """An HTML table of already-escaped cells."""
    th = "".join(f'<th style="{_CELL}">{h}</th>' for h in head)
    body = "".join("<tr>" + "".join(f'<td style="{_CELL}">{c}</td>' for c in row) + "</tr>"
                   for row in rows)
    return f'<table style="{_STYLE}"><thead><tr>{th}</tr></thead><tbody>{body}</tbody></table>'


def _pre(text: str) -> str:
    return f'<pre style="{_STYLE}">{html.escape(text)}</pre>'


def highlighted(text: str) -> str:
    """darchlang source as HTML with the REPL's colours (inline styles, no stylesheet)."""
    from pygments import highlight
    from pygments.formatters import HtmlFormatter

    from darchlang.repl.lexer import DarchLexer

    return highlight(text, DarchLexer(), HtmlFormatter(noclasses=True, nobackground=True))


def _plural(n: int, word: str) -> str:
    return f"{n:,} {word}" + ("" if n == 1 else "s")


def space_repr(space: Any) -> str:
    """`<Space: 2,025 architectures, 9 choices>`: short enough for a list of spaces."""
    return f"<Space: {_plural(space.count(), 'architecture')}, {_plural(len(space.choices), 'choice')}>"


def space_html(space: Any) -> str:
    """The count, each choice with its options, and the tree of `darch show`."""
    from darchlang.space.show import describe_value, render_tree

    rows = [[html.escape(c.name), html.escape(", ".join(describe_value(o) for o in c.options)),
             html.escape(c.span.where if c.span else "")] for c in space.choices]
    parts = [f"<b>{_plural(space.count(), 'architecture')}</b>, "
             f"{_plural(len(space.choices), 'choice')}"]
    if rows:
        parts.append(_table(["choice", "options", "where"], rows))
    parts.append(f"<details><summary>tree</summary>{_pre(render_tree(space, counts=True))}</details>")
    return "".join(parts)


def architecture_repr(arch: Any) -> str:
    decisions = ",".join(map(str, arch.decisions)) or "none"
    return f"<Architecture {arch.identity}: decisions {decisions}>"


def architecture_html(arch: Any, input_shape: str | None = None) -> str:
    """The architecture as highlighted darchlang text, its choices and, given an input
    shape such as `3x32x32`, the layer table of `darch compile` (this needs torch)."""
    parts = [f"<b>architecture {arch.identity}</b>"]
    if arch.names:
        parts.append(_table(["choice", "value"], [
            [html.escape(n), html.escape(_value_text(v))]
            for n, v in zip(arch.names, arch.values, strict=True)]))
    parts.append(highlighted(arch.text))
    if input_shape is not None:
        parts.append(_pre(layer_table(arch, input_shape)))
    return "".join(parts)


def layer_table(arch: Any, input_shape: str) -> str:
    """The `darch compile` table of one architecture for an input shape."""
    from darchlang.backends.torch.compiler import compile_architecture
    from darchlang.backends.torch.plan import parse_shape
    from darchlang.backends.torch.summary import summarize

    model = compile_architecture(arch, parse_shape(input_shape))
    return summarize(model).render()


def _value_text(value: Any) -> str:
    from darchlang.text import format_value

    try:
        return value if isinstance(value, str) else format_value(value)
    except (TypeError, ValueError):
        return str(value)


def search_repr(result: Any) -> str:
    best = result.best
    tail = f", best {best.score:.4f} (#{best.index})" if best is not None else ""
    tail += f", {result.invalid} invalid (not trained)" if result.invalid else ""
    tail += f"; stopped: {result.stopped}" if result.stopped else ""
    return f"<SearchResult: {result.done} of {result.budget} evaluations, {result.failed} failed{tail}>"


def search_html(result: Any, k: int = 5) -> str:
    """The summary line and the `k` best architectures with their scores."""
    rows = [[str(e.index), f"{e.score:.4f}", html.escape(e.identity),
             highlighted(e.text)] for e in result.top(k)]
    head = html.escape(search_repr(result))
    if not rows:
        return f"<b>{head}</b>"
    return f"<b>{head}</b>" + _table(["#", "score", "architecture", "text"], rows)


class _Shown:
    """A value whose notebook display is given HTML (what `show` returns)."""

    def __init__(self, text: str, markup: str):
        self._text, self._markup = text, markup

    def __repr__(self) -> str:
        return self._text

    def _repr_html_(self) -> str:
        return self._markup


def show(value: Any, input: str | None = None) -> _Shown:
    """Display an architecture with its layer table for `input` (e.g. "3x32x32"); any
    other darchlang value as its usual display."""
    from darchlang.arch.graph import Architecture

    if isinstance(value, Architecture):
        return _Shown(architecture_repr(value), architecture_html(value, input))
    return _Shown(repr(value), value._repr_html_())


# -- the IPython extension ---------------------------------------------------------------


def program_repr(program: Any) -> str:
    """`<Program <cell simple>: w, space>`: the names a program defines or imports, in order
    (its dataclass repr is the whole syntax tree, pages long in a notebook's output)."""
    names = [n for n in program.scope.names if not n.startswith("_")]
    return f"<Program {program.source.name}: {', '.join(names) or 'no names'}>"


def load_ipython_extension(ipython: Any) -> None:
    """`%load_ext darchlang`: register the `%%darch` cell magic and `%darch` line magic,
    and show a program as one line."""
    from darchlang.semantics.program import Program

    ipython.register_magic_function(_darch_magic, magic_kind="line_cell", magic_name="darch")
    formatters = getattr(getattr(ipython, "display_formatter", None), "formatters", {})
    if "text/plain" in formatters:
        formatters["text/plain"].for_type(
            Program, lambda program, printer, cycle: printer.text(program_repr(program)))


def _darch_magic(line: str, cell: str | None = None) -> Any:
    from IPython import get_ipython

    if cell is None:
        return _run_command(line)
    return _define(get_ipython(), line.strip() or "program", cell)


def _define(ipython: Any, name: str, cell: str) -> Any:
    import sys

    import darchlang
    from darchlang.errors import DarchError

    if not name.isidentifier():
        print(f"darch: error: `%%darch {name}`: the name to bind must be an identifier",
              file=sys.stderr)
        return None
    try:
        program = darchlang.load_string(cell, f"<cell {name}>")
        space = program.space
        space.count()
    except DarchError as err:
        print(err.render(), file=sys.stderr)
        return None
    ipython.user_ns[name] = program
    return space


def _run_command(line: str) -> None:
    """`%darch count FILE`: a `darch` command in the kernel; its output is the cell's."""
    import sys

    from darchlang.cli import main

    try:
        args = shlex.split(line)
    except ValueError as exc:  # an open quote
        print(f"darch: error: cannot read the arguments ({exc})\n"
              "  = help: quote each argument with a space in it, and close every quote",
              file=sys.stderr)
        return
    try:
        code = main(args)
    except SystemExit as exc:  # argparse's usage errors and --help
        code = int(exc.code or 0)
    if code:
        print(f"(darch exited with {code})")
