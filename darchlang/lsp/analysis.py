"""One document's text as the toolchain sees it: its AST, its program, its errors.

This is `darch check` run on text held in memory: parse, interpret with imports,
build, name and count the space, and check the `train` block's settings. A file
without a `space` binding is checked as a library (every binding is built, none is
required), so an imported helper file or a new empty buffer is not flagged for
lacking a network. While the user is half-way
through a statement the text does not parse; `statements_before` gives the complete
statements above the cursor, whose names completion can still offer.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from darchlang.app.programs import check_function_names, load_text
from darchlang.environment import Environment, default_environment
from darchlang.errors import CountOutOfReach, DarchError, all_errors
from darchlang.semantics.program import Loader, Program
from darchlang.space.nodes import Choice
from darchlang.space.space import Space
from darchlang.syntax import ast
from darchlang.syntax.parser import parse

_STATEMENT_START = re.compile(r"^(?:(?:def|param|import)\b|[A-Za-z_]\w*[ \t]*=(?!=))",
                              re.MULTILINE)


@dataclass
class Analysis:
    """A document's text, the program it builds (None when it does not), the errors in
    source order, and the choices of its space as the space names them."""

    name: str
    text: str
    program: Program | None
    errors: list[DarchError] = field(default_factory=list)
    choices: list[tuple[Choice, str]] = field(default_factory=list)
    seconds: float = 0.0  # how long the check took
    warnings: list[DarchError] = field(default_factory=list)  # the program is fine

    @cached_property
    def tree(self) -> ast.Program | None:
        """What the text parses to (None when it does not). A text that failed to build
        is parsed again only when a feature asks, so its diagnostics need not wait."""
        if self.program is not None:
            return self.program.ast
        try:
            return parse(self.text, self.name)
        except (DarchError, RecursionError):
            return None

    @property
    def directory(self) -> Path:
        """Where the document's imports are looked up first."""
        if self.name.startswith("<"):
            return Path.cwd()
        return Path(self.name).resolve().parent


def analyse(text: str, name: str, env: Environment | None = None) -> Analysis:
    """Check `text` as the file `name` (imports resolve beside it, then in the stdlib)."""
    start = time.perf_counter()
    analysis = _check(text, name, env or default_environment())
    analysis.seconds = time.perf_counter() - start
    return analysis


def _check(text: str, name: str, env: Environment) -> Analysis:
    warnings: list[DarchError] = []

    def count(program: Program) -> None:
        """A count out of reach is a warning, as in `darch check`: the space is fine."""
        try:
            _space(program).count()
        except CountOutOfReach as err:
            warnings.append(err)

    try:
        # the space counted, the `train` block's names and values and the names in
        # functions nothing has called yet checked: every error, at its place
        program = load_text(text, name, env, check_training=True,
                            checks=(count, check_function_names))
        space = _space(program)
    except DarchError as err:
        return Analysis(name, text, None, all_errors(err))
    except RecursionError:
        error = DarchError("the program nests too deeply to check",
                           help="split the deepest expression into named bindings")
        return Analysis(name, text, None, [error])
    return Analysis(name, text, program, [], [(c.node, c.name) for c in space.choices],
                    warnings=warnings)


def _space(program: Program) -> Space:
    """The program's space, or its `train` block's alone when it has no network."""
    network = program.network_name if program.network_name in program.scope.names else None
    return program.space_of(network, program.hyperparams_name)


def statements_before(text: str, offset: int) -> str:
    """The text of the statements that start before the one the cursor is in (a
    statement starts at column 0 with `def`, `param`, `import` or `NAME =`)."""
    start = 0
    for match in _STATEMENT_START.finditer(text, 0, offset):
        start = match.start()
    return text[:start]


_LOADERS: dict[int, tuple[Environment, Loader]] = {}


def shared_loader(env: Environment) -> Loader:
    """A loader kept for what does not change between edits: the builtins and the
    prelude every program sees, and how imports resolve. Each entry holds its
    environment, so an id is never reused by another environment while it is cached."""
    kept = _LOADERS.get(id(env))
    if kept is None or kept[0] is not env:
        kept = _LOADERS[id(env)] = (env, Loader(env))
    return kept[1]
