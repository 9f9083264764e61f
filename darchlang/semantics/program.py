"""Loading programs: files and strings, imports, the prelude, program parameters.

`load_file` / `load_string` parse and interpret a program into a `Program`, whose
`space` is the search space named by `space` (the network) and `train` (the
evaluator's hyperparams block).
"""

from __future__ import annotations

import os
import re
import stat
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from functools import lru_cache
from pathlib import Path
from typing import Any

from darchlang.environment import Environment, Limits, default_environment
from darchlang.errors import (
    DarchError,
    Source,
    Span,
    UnknownDefine,
    closest,
    did_you_mean,
    raise_all,
)
from darchlang.process import STACK_FRAMES, deep_recursion, no_cyclic_gc
from darchlang.resources import prelude_files, stdlib_dir
from darchlang.semantics.builtins import base_scope
from darchlang.semantics.interpreter import Interpreter, Scope, is_space
from darchlang.semantics.tied import TiedFunction
from darchlang.semantics.values import Builtin, Closure, Namespace
from darchlang.space.naming import name_binding
from darchlang.space.nodes import RecordNode
from darchlang.space.space import Space
from darchlang.syntax import ast
from darchlang.syntax.parser import parse, parse_expression


@dataclass
class Module:
    """One interpreted file: its scope and the names it exports."""

    path: str
    scope: Scope
    program: ast.Program
    params: dict[str, Any] = field(default_factory=dict)


class Loader:
    """Interprets a program and its imports once each; reports import cycles."""

    def __init__(self, env: Environment, defines: dict[str, Any] | None = None,
                 optional_defines: dict[str, Any] | None = None,
                 import_path: Sequence[str | Path] = ()):
        self.env = env
        self.import_path = _import_path(import_path)
        self.project: Path | None = None  # the folder of the program loaded as main
        self.defines = {**(optional_defines or {}), **(defines or {})}
        self.optional = set(optional_defines or {}) - set(defines or {})
        self.used_defines: set[str] = set()
        self.interp = Interpreter(env)
        self.builtins = base_scope(env)
        self.modules: dict[str, Module] = {}
        self.closures: list[Closure] = []
        """Every function this loader defined, for `hand_over`."""
        self.loading: list[str] = []
        self.prelude = self._load_prelude()

    def _load_prelude(self) -> Scope:
        scope = Scope(self.builtins)
        for path in prelude_files():
            module = self.load_module(path.read_text("utf-8"), str(path), parent=self.builtins,
                                      main=False)
            scope.names.update(_exports(module.scope))
        return scope

    def load_module(self, text: str, name: str, parent: Scope, main: bool) -> Module:
        if len(text) > self.env.limits.source_size:
            raise _too_large(name, text, self.env.limits.source_size, "characters")
        program = _parse_library(text, name) if name.startswith(str(stdlib_dir())) else parse(text, name)
        if main:
            self.interp.main_source = name
            if self.project is None:
                self.project = Path(name).resolve().parent if not name.startswith("<") else Path.cwd()
        scope = Scope(parent)
        module = Module(name, scope, program)
        with deep_recursion(), no_cyclic_gc():
            self.interpret(module, main)
        return module

    def interpret(self, module: Module, main: bool) -> None:
        scope = module.scope
        defined: dict[str, Span | None] = {}
        imported: dict[str, str] = {}  # name -> the file it was imported from

        def define(name: str, value: Any, span: Span | None) -> None:
            if name in defined:
                first = defined[name]
                origin = f"imported from {imported[name]}" if name in imported else "first defined"
                raise DarchError(
                    f"`{name}` is defined twice",
                    span,
                    notes=[f"{origin} at {first.where}"] if first else [],
                    help="rename one of them" if name not in imported else
                    f"rename it, or import {imported[name]} `as` a namespace",
                )
            defined[name] = span
            scope.names[name] = value

        # Errors are collected, not raised one by one: a file with several independent
        # mistakes reports them all. A binding that mentions one that failed is skipped
        # (its error would only repeat the first).
        errors: list[DarchError] = []
        failed: set[str] = set()
        walked: set[int] = set()  # nodes whose choices the bindings so far have named
        statements = module.program.statements
        for st in statements:
            if isinstance(st, ast.Import):
                try:
                    origin, exports = self.import_file(st, module.path)
                    for name, value, span in _imported(st, origin, exports):
                        if name in imported and scope.names[name] is value:
                            continue  # the same definition, reached through two files
                        if name in imported:
                            raise DarchError(
                                f"`{name}` is imported from both {imported[name]} and {origin}",
                                span, notes=[f"{imported[name]} was imported at "
                                             f"{defined[name].where}"],
                                help=f"import one of them `as` a namespace, or name what you "
                                     f'need with `from "{st.path}" import ...`')
                        define(name, value, span)
                        imported[name] = origin
                except DarchError as err:
                    errors.append(err)
        raise_all(errors)  # the names a broken import would bring are unknown
        for st in statements:
            try:
                if isinstance(st, ast.Def):
                    closure = Closure(st, scope)
                    self.closures.append(closure)
                    define(st.name, closure, st.name_span or st.span)
                elif isinstance(st, ast.Bind | ast.ParamDecl) and st.span is not None:
                    scope.pending.setdefault(st.name, st.span)
            except DarchError as err:
                errors.append(err)
        for st in statements:
            if not isinstance(st, ast.Bind | ast.ParamDecl):
                continue
            if _mentions(st.value, failed):
                failed.add(st.name)
                continue
            try:
                if isinstance(st, ast.ParamDecl):
                    scope.pending.pop(st.name, None)
                    value = self.param_value(st, scope)
                    module.params[st.name] = value
                    define(st.name, value, st.span)
                else:
                    scope.pending.pop(st.name, None)
                    if st.name in defined:
                        define(st.name, None, st.name_span)
                    value = self.interp.eval(st.value, scope)
                    if isinstance(value, TiedFunction):
                        value.bound_to(st.name)
                    elif main:
                        name_binding(st.name, value, walked)
                    define(st.name, value, st.name_span)
            except (DarchError, RecursionError) as err:
                errors.append(err if isinstance(err, DarchError) else _too_deep(st))
                if st.name not in defined:
                    failed.add(st.name)
                if self.interp.steps > self.interp.limits.steps or \
                        self.interp.nodes > self.interp.limits.nodes:
                    break  # the budget of the whole load is spent: nothing more can be built
        raise_all(errors)

    def hand_over(self) -> tuple[Scope, ...]:
        """The scopes of the functions this loader defined (the prelude's, the imports',
        the program's), for the program to own; each function's link to its scope
        becomes weak (see `Closure`), so nothing the load made is in a reference cycle."""
        scopes = {id(c.scope): c.scope for c in self.closures}
        for closure in self.closures:
            closure.loosen()
        self.closures.clear()
        return tuple(scopes.values())

    def param_value(self, st: ast.ParamDecl, scope: Scope) -> Any:
        if st.name in self.defines:
            self.used_defines.add(st.name)
            value = self.defines[st.name]
            if isinstance(value, str):
                try:
                    expr = parse_expression(value, f"-D {st.name}")
                    return self.interp.eval(expr, self.builtins)
                except DarchError as err:
                    err.help = _define_help(st, value)
                    raise
            return self.interp.given(value, st.span, f"the value given for `{st.name}`")
        return self.interp.eval(st.value, scope)

    def import_file(self, st: ast.Import, importer: str) -> tuple[str, dict[str, Any]]:
        """The imported file's name (as errors show it) and its public names."""
        path = self.resolve(st, importer)
        key = str(path)
        if key in self.loading:
            chain = " -> ".join(Path(p).name for p in [*self.loading[self.loading.index(key):], key])
            raise DarchError(f"import cycle: {chain}", st.span,
                             help="move the shared definitions into a third file that both import")
        if key not in self.modules:
            text = _darch_text(path, st, self.env.limits.source_size)
            self.loading.append(key)
            try:
                self.modules[key] = self.load_module(text, key, parent=self.prelude, main=False)
            finally:
                self.loading.pop()
        return path.name, _exports(self.modules[key].scope)

    def resolve(self, st: ast.Import, importer: str) -> Path:
        """The file an import names, under the import policy (docs/language.md):

        a path is looked up beside the importing file, then in each `--import-path` /
        DARCH_PATH folder, then in the standard library; the first that exists is taken.
        Wherever its links and `..` lead, it must end inside the project (the folder of
        the program being loaded), an import-path folder or the standard library, and be
        a regular file."""
        name = st.path if st.path.endswith(".darch") else st.path + ".darch"
        if importer and not importer.startswith("<"):
            here = Path(importer).resolve().parent
        else:
            here = Path.cwd()
        project = self.project or here
        bases = [here, *self.import_path, stdlib_dir()]
        roots = [project, *self.import_path, stdlib_dir().resolve()]
        for base in bases:
            candidate = base / name
            if not os.path.lexists(candidate):
                continue
            try:
                real = candidate.resolve()
            except (RuntimeError, OSError):  # Python 3.11 raises RuntimeError for a loop
                raise DarchError(f"`{st.path}` is a loop of symbolic links", st.span) from None
            if not any(real.is_relative_to(root) for root in roots):
                raise DarchError(
                    f"`{st.path}` leads outside the project, the import path and the standard "
                    f"library (to {real})", st.span,
                    help="imports stay under the program's folder; name another folder "
                         "with --import-path DIR or the DARCH_PATH environment variable")
            try:
                regular = stat.S_ISREG(real.stat().st_mode)
            except OSError as exc:
                raise DarchError(f"cannot read `{st.path}`: {exc.strerror}", st.span) from None
            if not regular:
                raise DarchError(f"`{st.path}` is not a regular file", st.span)
            return real
        raise DarchError(
            f"cannot find `{st.path}` to import",
            st.span,
            help=f"looked in {', '.join(str(b) for b in bases)}",
        )


def _darch_text(path: Path, st: ast.Import, limit: int) -> str:
    """The text of an imported file, refused without quoting a byte of it unless it is
    text a program could be (UTF-8, no NUL or other control characters, not past the
    source size limit)."""
    try:
        with path.open("rb") as f:
            data = f.read(limit + 1)
    except OSError as exc:
        raise DarchError(f"cannot read `{st.path}`: {exc.strerror}", st.span) from None
    if len(data) > limit:
        raise DarchError(f"`{st.path}` is too large to be a program: more than {limit:,} bytes",
                         st.span, help=_SPLIT)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DarchError(f"`{st.path}` is not darchlang text: it is not UTF-8 (at byte "
                         f"{exc.start:,})", st.span, help="save the file as UTF-8") from None
    bad = _CONTROL.search(text)
    if bad is not None:
        raise DarchError(f"`{st.path}` is not darchlang text: it holds the control character "
                         f"U+{ord(bad.group()):04X} (at character {bad.start():,})", st.span)
    return text


def _too_large(name: str, text: str, limit: int, unit: str) -> DarchError:
    """A program past the source size limit, at the spot where it passes it."""
    before = text[:limit]
    line = before.count("\n") + 1
    col = limit - (before.rfind("\n") + 1) + 1
    return DarchError(f"the program is too large: it goes on past {limit:,} {unit} here",
                      Span(Source(name, text), line, col, line, col + 1), help=_SPLIT)


_SPLIT = ("the source size limit (docs/language.md) holds parsing to about a second; "
          "split the program into files that import each other")


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f]")


def _import_path(folders: Sequence[str | Path]) -> list[Path]:
    """The import-path folders: those given, then DARCH_PATH's (os.pathsep between)."""
    named = [*folders, *os.environ.get("DARCH_PATH", "").split(os.pathsep)]
    return [Path(f).expanduser().resolve() for f in named if str(f).strip()]


def _imported(st: ast.Import, origin: str, exports: dict[str, Any]):
    """(name, value, where it is named) for each name an import statement binds."""
    if st.alias is not None:
        return [(st.alias, Namespace(st.alias, origin, exports), st.name_spans[0])]
    if st.names is None:
        return [(name, value, st.span) for name, value in exports.items()]
    out = []
    for name, span in zip(st.names, st.name_spans, strict=True):
        if name not in exports:
            raise DarchError(f"{origin} has no `{name}` to import", span,
                             help=did_you_mean(name, exports))
        out.append((name, exports[name], span))
    return out


def _mentions(node: ast.Node, names: set[str]) -> bool:
    """Whether `node` uses any of `names` (walked with a stack: ASTs can be deep)."""
    if not names:
        return False
    stack: list[Any] = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, ast.Name):
            if item.id in names:
                return True
        elif isinstance(item, ast.Node):
            stack.extend(getattr(item, f.name) for f in fields(item))
        elif isinstance(item, list):
            stack.extend(item)
    return False


def _define_help(st: ast.ParamDecl, value: str) -> str:
    """What a `-D NAME=VALUE` that does not read as a value should have been: darchlang
    text, with a string in quotes that the shell keeps."""
    name = st.name
    quoted = f"""-D {name}='"{value}"'"""
    if isinstance(st.value, ast.String):
        return f"`{name}` is a string: write it in quotes the shell keeps, {quoted}"
    return (f"a -D value is darchlang text: a number (-D {name}=64), a string in quotes "
            f"({quoted}), a list (-D '{name}=[32, 64]') or a choice "
            f"(-D '{name}=one_of(32, 64)')")


def _too_deep(st: ast.Bind | ast.ParamDecl) -> DarchError:
    """Calls within the call limit over expressions within the nesting limit can still
    pass Python's stack: the binding being built is where that happened."""
    return DarchError(f"`{st.name}` nests too deeply to build (past {STACK_FRAMES:,} Python "
                      "frames)", getattr(st, "name_span", None) or st.span,
                      help="recurse less deeply, or bind inner parts to names")


@lru_cache(maxsize=64)
def _parse_library(text: str, name: str) -> ast.Program:
    """Standard-library files parse once per process; their ASTs are never mutated."""
    return parse(text, name)


def _exports(scope: Scope) -> dict[str, Any]:
    return {k: v for k, v in scope.names.items() if not k.startswith("_")}


@dataclass
class Program:
    """An interpreted program: its names, parameters and the search space it defines."""

    source: Source
    ast: ast.Program
    scope: Scope
    params: dict[str, Any]
    env: Environment
    network_name: str = "space"
    hyperparams_name: str = "train"
    _space: Space | None = field(default=None, repr=False)
    scopes: tuple[Scope, ...] = field(default=(), repr=False)
    """The scopes the program's functions were defined in, which it keeps alive: the
    functions refer to them weakly (`Loader.hand_over`)."""

    @property
    def names(self) -> dict[str, Any]:
        return dict(self.scope.names)

    def get(self, name: str) -> Any:
        try:
            return self.scope.lookup(name)
        except KeyError:
            raise DarchError(f"unknown name `{name}`") from None

    @property
    def space(self) -> Space:
        """The space of `space` (network) and `train` (settings), searched together."""
        if self._space is None:
            self._space = self.space_of(self.network_name, self.hyperparams_name)
        return self._space

    def space_of(self, network: str | None, hyperparams: str | None = None) -> Space:
        names = self.scope.names
        net = names.get(network) if network else None
        if network and network not in names:
            if not self.ast.statements:
                raise DarchError(f"`{self.source.name}` is empty",
                                 Span(self.source, 1, 1, 1, 1),
                                 help=f"define the network: `{network} = concat [ ... ]`")
            raise self._no_entry(network)
        if net is not None and not is_space(net):
            raise DarchError(
                f"`{network}` must be layers or a sub-space, but it is {_kind(net)}",
                self._binding_span(network),
            )
        hyper = names.get(hyperparams) if hyperparams else None
        if hyper is not None and not isinstance(hyper, RecordNode):
            hyper = None
        return Space(net, hyper, network or "space", hyperparams or "train", self.scope.names,
                     self.env.limits)

    def _no_entry(self, network: str) -> DarchError:
        """No binding `network`: name the networks the file does bind (for --entry), or
        say that a file of functions alone is a library, used by importing it."""
        written = [st for st in self.ast.statements if isinstance(st, ast.Bind | ast.Def)]
        nets = [st.name for st in written if isinstance(st, ast.Bind)
                and is_space(self.scope.names.get(st.name))]
        defs = [st.name for st in written if isinstance(st, ast.Def)]
        message = f"no `{network}` binding in {self.source.name}"
        if nets:
            return DarchError(message, help=f"name the network to use with --entry "
                              f"{nets[-1]}, or bind `{network} = ...`",
                              notes=[f"the networks it binds: {', '.join(nets)}"])
        if defs:
            shown = ", ".join(f"`{d}`" for d in defs[:5]) + (", ..." if len(defs) > 5 else "")
            return DarchError(
                f"{message}: it defines functions ({shown}) and no network, as a library does",
                help=f'import it from a program that binds `{network} = ...` (`import '
                     f'"{Path(self.source.name).stem}"`), or add `{network} = {defs[0]}(...)` '
                     "here")
        return DarchError(message, help=f"bind the network to `{network} = ...`, or name "
                          "another binding with --entry")

    def _binding_span(self, name: str) -> Span | None:
        for st in self.ast.statements:
            if isinstance(st, ast.Bind) and st.name == name:
                return st.name_span
        return None


def _kind(value: Any) -> str:
    if isinstance(value, Closure | Builtin):
        return f"a function (`{value.name}`)"
    from darchlang.text import describe

    return describe(value)


def load_string(
    text: str,
    name: str = "<string>",
    defines: dict[str, Any] | None = None,
    env: Environment | None = None,
    network: str = "space",
    optional_defines: dict[str, Any] | None = None,
    import_path: Sequence[str | Path] = (),
) -> Program:
    """Parse and interpret program text. `defines` override `param` values by name (a
    name the program does not declare is an error); `optional_defines` apply only where
    declared (a dataset's number of classes, say). `import_path` names folders imports
    may come from besides the program's own and the standard library."""
    loader = Loader(env or default_environment(), defines, optional_defines, import_path)
    if not name.startswith("<"):
        loader.loading.append(str(Path(name).resolve()))
    module = loader.load_module(text, name, parent=loader.prelude, main=True)
    unknown = set(loader.defines) - loader.used_defines - loader.optional
    if unknown:
        name_given = sorted(unknown)[0]
        known = ", ".join(sorted(module.params)) or "none"
        raise UnknownDefine(
            f"-D {name_given}: the program has no `param {name_given}`",
            help=did_you_mean(name_given, module.params) or f"its parameters are: {known}",
        )
    return Program(Source(name, text), module.program, module.scope, module.params,
                   loader.env, network_name=network, scopes=loader.hand_over())


def load_file(
    path: str | Path,
    defines: dict[str, Any] | None = None,
    env: Environment | None = None,
    network: str = "space",
    optional_defines: dict[str, Any] | None = None,
    import_path: Sequence[str | Path] = (),
) -> Program:
    """Load a `.darch` file (imports resolve relative to it, then along `import_path`
    and DARCH_PATH, then to the stdlib)."""
    env = env or default_environment()
    text = read_source(path, env.limits.source_size)  # the limits it is loaded under
    return load_string(text, source_name(path), defines, env, network, optional_defines,
                       import_path)


STDIN = "-"  # the file name that means standard input (`darch fmt -`, editors' pipes)


def source_name(path: str | Path) -> str:
    """How errors name a program: its path, or `<stdin>` (imports then resolve from the
    working directory)."""
    return "<stdin>" if str(path) == STDIN else str(path)


def read_source(path: str | Path, limit: int = Limits.source_size) -> str:
    """A program file's text (`-`: standard input's); a missing, unreadable, non-UTF-8
    or too large file, and anything but a regular file (a pipe or a device would block
    or never end), is a DarchError."""
    if str(path) == STDIN:
        return _decoded(sys.stdin.buffer.read(limit + 1), "<stdin>", limit)
    return _decoded(_read_file(path, limit), path, limit)


def _read_file(path: str | Path, limit: int) -> bytes:
    p = Path(path).expanduser()
    try:
        mode = p.stat().st_mode
        if stat.S_ISDIR(mode):
            raise IsADirectoryError
        if not stat.S_ISREG(mode):
            raise DarchError(f"{path} is not a regular file (a pipe, a device or a socket)",
                             help="give the path of a .darch file")
        with p.open("rb") as f:
            data = f.read(limit + 1)
    except FileNotFoundError:
        raise DarchError(f"no such file: {path}", help=_nearby(p)) from None
    except IsADirectoryError:
        raise DarchError(f"{path} is a directory, not a .darch file") from None
    except OSError as exc:
        raise DarchError(f"cannot read {path}: {exc.strerror}") from None
    return data


def _nearby(path: Path) -> str | None:
    """`did you mean`: the name with `.darch` added, or a `.darch` file beside it spelt
    alike (the first thousand entries of its folder are looked at)."""
    with_suffix = path.with_name(path.name + ".darch")
    if path.suffix != ".darch" and with_suffix.is_file():
        return f"did you mean `{with_suffix}`?"
    try:
        entries = [e for _, e in zip(range(1000), path.parent.iterdir(), strict=False)]
    except OSError:
        return None
    # alike by the stem: every candidate shares `.darch`
    close = closest(path.name.removesuffix(".darch"),
                    sorted(e.stem for e in entries if e.suffix == ".darch"))
    return f"did you mean `{path.with_name(close + '.darch')}`?" if close else None


def _decoded(data: bytes, path: str | Path, limit: int) -> str:
    if data.startswith(b"SQLite format 3\x00"):
        raise DarchError(f"{path} is a SQLite database (a search's journal?), not a .darch "
                         "program", help=f"`darch report {path}` shows a journal's results; "
                         "a search takes the program it searches")
    if data[:8192].count(b"\x00") > 1:  # (a stray one in text is an error at its place)
        raise DarchError(f"{path} is a binary file, not a .darch program",
                         help="give the path of a .darch file (plain text)")
    if len(data) > limit:
        text = data[:limit].decode("utf-8", errors="replace")
        raise _too_large(str(path), text + data[limit:].decode("utf-8", errors="replace"),
                         len(text), "bytes")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        col = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        src = Source(str(path), data.decode("utf-8", errors="replace"))
        raise DarchError(f"the file is not UTF-8 text (byte 0x{data[exc.start]:02x})",
                         Span(src, line, col, line, col + 1),
                         help="save the file as UTF-8") from None
