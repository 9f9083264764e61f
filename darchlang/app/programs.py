"""Actions on a program and its space: load, check, count, pick, sample, compile.

These are what `darch check/count/sample/compile` and the REPL's `:count`, `:sample`
and `:compile` do, written once. Each takes plain values and returns data (a count,
architectures, a summary); front ends only parse their arguments and print.
"""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from darchlang.arch.graph import Architecture
from darchlang.environment import Environment, default_environment
from darchlang.errors import DarchError, Source, Span, all_errors, did_you_mean, raise_all
from darchlang.semantics.interpreter import Scope
from darchlang.semantics.program import Program, load_string, read_source, source_name
from darchlang.space.nodes import RecordNode
from darchlang.space.space import Space, seeded
from darchlang.syntax import ast
from darchlang.syntax.parser import parse
from darchlang.text import plural


def load(path: str, *, defines: dict[str, Any] | None = None, entry: str = "space",
         optional: dict[str, Any] | None = None, check_training: bool = False,
         import_path: Sequence[str] = (),
         checks: Sequence[Callable[[Program], object]] = ()) -> Program:
    """A `.darch` file interpreted, with `param` overrides (`defines` must name declared
    params; `optional` apply where declared) and imports looked up along `import_path`
    too, its `train` block checked against the classifier's settings when
    `check_training` (so a misspelt setting is an error at its line before anything
    trains), then each of `checks` run on it.

    Every error is reported, not the first: the `train` block's even when the rest of
    the program does not load (the block is then checked on its own, when it does not
    depend on what failed), and those of every check together."""
    env = default_environment()
    return load_text(read_source(path, env.limits.source_size), source_name(path), env,
                     defines=defines, entry=entry, optional=optional,
                     check_training=check_training, import_path=import_path, checks=checks)


def load_text(text: str, name: str, env: Environment, *,
              defines: dict[str, Any] | None = None, entry: str = "space",
              optional: dict[str, Any] | None = None, check_training: bool = False,
              import_path: Sequence[str] = (),
              checks: Sequence[Callable[[Program], object]] = ()) -> Program:
    """`load` for program text held in memory as file `name` (an editor's buffer)."""
    try:
        program = load_string(text, name, defines or {}, env, entry, optional, import_path)
    except DarchError as err:
        if check_training:  # raises them all
            raise_all([err, *_settings_errors_apart(
                text, name, env, defines or {}, optional or {}, import_path)])
        raise
    run_checks(program, [check_settings] * check_training + list(checks))
    return program


def run_checks(program: Program, checks: Sequence[Callable[[Program], object]]) -> None:
    """Run every check on the program and raise all their errors together (in source
    order, duplicates left out), so that independent mistakes are reported at once."""
    errors: list[DarchError] = []
    for check in checks:
        try:
            check(program)
        except DarchError as err:
            errors.append(err)
    raise_all(errors)


def _settings_errors_apart(text: str, name: str, env: Environment, defines: dict[str, Any],
                           optional: dict[str, Any], import_path: Sequence[str]
                           ) -> list[DarchError]:
    """The `train` block's errors in a program that does not load: the block and the
    statements it depends on are interpreted on their own. When they fail too, the
    block depends on what is broken, whose errors are reported already: none here."""
    from darchlang.semantics.program import Loader, Module

    try:
        tree = parse(text, name)
    except DarchError:
        return []
    statements = _needed(tree.statements, Program.hyperparams_name)
    if not statements:
        return []
    loader = Loader(env, defines, optional, import_path)
    if not name.startswith("<"):
        loader.loading.append(str(Path(name).resolve()))
    module = Module(name, Scope(loader.prelude), ast.Program(statements))
    try:
        loader.interpret(module, main=False)
    except (DarchError, RecursionError):
        return []
    return all_errors_of(check_settings, Program(Source(name, text), module.program,
                                                 module.scope, module.params, env,
                                                 scopes=loader.hand_over()))


def all_errors_of(check: Callable[[Program], object], program: Program) -> list[DarchError]:
    """The errors `check` raises for the program, each one (none when it passes)."""
    try:
        check(program)
    except DarchError as err:
        return all_errors(err)
    return []


def _needed(statements: Sequence[ast.Node], name: str) -> list[ast.Node]:
    """The imports, and the top-level statements that binding `name` mentions directly
    or through others, in file order; nothing when `name` is not bound."""
    by_name = {st.name: st for st in statements if isinstance(st, ast.Bind | ast.ParamDecl | ast.Def)}
    keep: set[str] = set()
    todo = [name] if name in by_name else []
    while todo:
        current = todo.pop()
        if current in keep or current not in by_name:
            continue
        keep.add(current)
        todo.extend(n.id for n in _walk(by_name[current]) if isinstance(n, ast.Name))
    return [st for st in statements
            if isinstance(st, ast.Import) or keep and getattr(st, "name", None) in keep]


@dataclass(frozen=True)
class Count:
    """How big a space is: all its points, and the two parts they combine.

    `total` is what `darch count` prints: every network together with every
    combination of training settings of its `train` block (the points a search picks
    from; each is an architecture). `network` counts the networks alone, `settings`
    the combinations of the `train` block alone; either is None when the space has
    no such part, or when a choice shared by both keeps them from multiplying.
    """

    total: int
    network: int | None = None
    settings: int | None = None
    network_name: str = "space"
    settings_name: str = "train"

    def text(self) -> str:
        """`16,848 architectures (2,106 of `space` x 8 combinations of training settings
        of `train`)`: what is counted, said plainly."""
        if self.network is None and self.settings is not None:
            return plural(self.total, "combination") + " of training settings"
        out = plural(self.total, "architecture")
        if self.network is not None and self.settings is not None:
            out += (f" ({self.network:,} of `{self.network_name}` x "
                    f"{plural(self.settings, 'combination')} of training settings of "
                    f"`{self.settings_name}`)")
        return out


def count(space: Space) -> Count:
    """The exact size of a space, and of its network and `train` parts on their own."""
    total = space.count()
    names = {"network_name": space.network_name, "settings_name": space.hyperparams_name}
    network = None if space.network is None else space.count_node(space.network)
    settings = None if space.hyperparams is None else space.count_node(space.hyperparams)
    if network is not None and settings is not None and network * settings != total:
        return Count(total, **names)  # a choice shared by both: the parts do not multiply
    return Count(total, network, settings, **names)


def pick(space: Space, seed: int | random.Random = 0,
         decisions: Sequence[int] | None = None) -> Architecture:
    """The architecture of a decision list, or else the one `seed` samples."""
    if decisions is not None:
        return space.replay(list(decisions))
    return space.sample(seed)


def sample(space: Space, seed: int, n: int = 1, *, uniform: bool = False
           ) -> Iterator[Architecture]:
    """`n` architectures from one seeded stream (each decision uniform, or every
    architecture equally likely with `uniform`): the same seed, the same list."""
    if n < 1:
        raise DarchError(f"the number of architectures must be at least 1, got {n}")
    rng = seeded(seed)
    draw = space.sample_uniform if uniform else space.sample
    for _ in range(n):
        yield draw(rng)


def header(arch: Architecture, identity: str | None = None) -> str:
    """The comment line printed above a picked architecture: its identity (`identity`
    when given, for a space that is a value) and the decisions that replay it, or that
    there were none to make."""
    identity = identity or arch.identity
    if not arch.decisions:
        return f"# architecture {identity}  (no choices: the space has one architecture)"
    return f"# architecture {identity}  decisions: {','.join(map(str, arch.decisions))}"


def compile_summary(arch: Architecture, shape: tuple[int, ...], *, env: Any = None) -> Any:
    """The layer table of an architecture for an input shape, planned on the meta device
    (nothing allocated): source line, output shape, parameters, multiply-adds."""
    from darchlang.backends.torch.summary import summarize

    return summarize(arch.network, shape, env=env)


# ---- names in functions no call has run -------------------------------------------------
def check_function_names(program: Program) -> None:
    """Every name a `def` of the file uses is defined: a parameter, a `let` or graph
    binding before it, or a name of the file, its imports or the standard library.

    Building the space runs only the functions it calls, so a misspelling in one that
    nothing calls yet (a library's) would pass; `darch check` finds it here, each at
    its place, all of them at once."""
    known = program.scope.visible()
    errors: list[DarchError] = []
    for st in program.ast.statements:
        if isinstance(st, ast.Def):
            inner = set(known)
            for param in st.params:  # a default may use the parameters before it
                if param.default is not None:
                    _unknown_names(param.default, inner, errors)
                inner.add(param.name)
            _unknown_names(st.body, inner, errors)
    raise_all(errors)


def _unknown_names(node: Any, bound: set[str], errors: list[DarchError]) -> None:
    """Scopes as the interpreter makes them: `let` and graph bindings are seen by the
    bindings after them and by the body; a graph's inputs by all of it."""
    if isinstance(node, ast.Name):
        if node.id not in bound:
            errors.append(DarchError(f"unknown name `{node.id}`", node.span,
                                     help=did_you_mean(node.id, bound) or
                                     "not defined here, in an import or in the standard "
                                     "library"))
    elif isinstance(node, ast.Let | ast.Graph):
        inner = set(bound) | set(getattr(node, "inputs", ()))
        for binding in node.bindings:
            _unknown_names(binding.value, inner, errors)
            inner.add(binding.name)
        _unknown_names(node.body if isinstance(node, ast.Let) else node.output, inner, errors)
    elif isinstance(node, ast.Attribute):
        _unknown_names(node.value, bound, errors)
    elif isinstance(node, list):
        for item in node:
            _unknown_names(item, bound, errors)
    elif isinstance(node, ast.Node):
        for f in dataclasses.fields(node):
            if f.name != "span":
                _unknown_names(getattr(node, f.name), bound, errors)


# ---- the `train` block ----------------------------------------------------------------
def check_settings(program: Program) -> None:
    """Every name of the program's `train` block is a training setting and every value
    it may take is one that setting accepts; each wrong one is an error at its place,
    all raised together.

    A value over choices is tried as a layer argument is (`semantics.feasible`): for
    the combinations of the choices it reads, a shared choice decided once, so that
    `0.1 / one_of(0, 1)` is an error naming the option that divides by zero, and
    `a * 32 + (1 - a) * 16` over a shared `a` is not refused for a combination no
    architecture takes. Past the check's budget, random combinations look for a wrong
    one; the evaluator checks every value again when it trains."""
    from darchlang.semantics import feasible
    from darchlang.semantics.interpreter import Interpreter
    from darchlang.train.settings import Settings

    record = program.names.get(program.hyperparams_name)
    if isinstance(record, dict):  # a plain record: every search and training ignores it
        raise DarchError(f"`{program.hyperparams_name}` must be a `hyperparams` block to set "
                         "training settings, but it is a plain record",
                         _bound_value_span(program, program.hyperparams_name),
                         help=f"write `{program.hyperparams_name} = hyperparams {{ ... }}`")
    if not isinstance(record, RecordNode):
        return
    known = [f.name for f in dataclasses.fields(Settings)]  # in order: the most used first
    places = _field_spans(program)
    where = f"the `{program.hyperparams_name}` block"
    interp = Interpreter(program.env)  # the block is at the top: no `if` guards it
    errors: list[DarchError] = []
    for name, node in record.fields:
        name_span, value_span = places.get(name, (record.span, record.span))
        if name not in known:
            errors.append(DarchError(f"unknown training setting `{name}` in {where}",
                                     name_span, help=did_you_mean(name, known),
                                     notes=["known settings: " + ", ".join(sorted(known))]))
            continue
        try:
            values = feasible.values(interp, node, _setting_test(program, name, where, value_span),
                                     value_span, f"`{name}`")
        except DarchError as err:
            errors.append(err)
            continue
        if name in Settings.search_names() and node.vars and (values is None or len(values) > 1):
            errors.append(DarchError(f"`{name}` belongs to the whole search, so it cannot be "
                                     "a choice", value_span, help=f"give `{name}` one value"))
    raise_all(errors)


def _setting_test(program: Program, name: str, where: str, span: Span | None
                  ) -> Callable[[Any], None]:
    """Raises the error of a value setting `name` refuses, at `span` (or at the item of
    a written list that it refuses)."""
    from darchlang.train.settings import Settings

    def test(value: Any) -> None:
        try:
            Settings().updated({name: value}, where)
        except DarchError as err:
            raise DarchError(err.message, _wrong_item(program, name, where) or span,
                             err.help) from None

    return test


def setting_span(program: Program, name: str) -> Span | None:
    """Where the `train` block sets `name` (its value), or None when it does not."""
    return _field_spans(program).get(name, (None, None))[1]


def _field_spans(program: Program) -> dict[str, tuple[Span | None, Span | None]]:
    """(name span, value span) of each field written in the `train` binding."""
    out: dict[str, tuple[Span | None, Span | None]] = {}
    for st in program.ast.statements:
        if isinstance(st, ast.Bind) and st.name == program.hyperparams_name:
            for node in _walk(st.value):
                if isinstance(node, ast.Field) and node.name not in out:
                    out[node.name] = (_name_span(node), node.value.span or node.span)
    return out


def _bound_value_span(program: Program, name: str) -> Span | None:
    """The span of the value bound to `name` at the top of the program."""
    return next((st.value.span for st in program.ast.statements
                 if isinstance(st, ast.Bind) and st.name == name), None)


def _wrong_item(program: Program, name: str, where: str) -> Span | None:
    """The span of the first item of a list written for setting `name` that the setting
    refuses on its own (`"-parms"` in `objectives: ["accuracy", "-parms"]`)."""
    from darchlang.train.settings import Settings

    for st in program.ast.statements:
        if isinstance(st, ast.Bind) and st.name == program.hyperparams_name:
            for node in _walk(st.value):
                if isinstance(node, ast.Field) and node.name == name and \
                        isinstance(node.value, ast.ListExpr):
                    for item in node.value.items:
                        if isinstance(item, ast.String):
                            try:
                                Settings().updated({name: [item.value]}, where)
                            except DarchError:
                                return item.span
    return None


def _name_span(field: ast.Field) -> Span | None:
    span = field.span
    if span is None:
        return None
    return Span(span.source, span.line, span.col, span.line, span.col + len(field.name))


def _walk(node: Any) -> Iterator[Any]:
    stack = [node]
    while stack:
        n = stack.pop()
        if isinstance(n, list):
            stack.extend(reversed(n))
        elif dataclasses.is_dataclass(n) and isinstance(n, ast.Node):
            yield n
            stack.extend(getattr(n, f.name) for f in reversed(dataclasses.fields(n))
                         if f.name != "span")
