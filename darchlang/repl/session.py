"""The REPL's evaluation state: definitions accumulate, expressions show their value.

A `Session` runs one input at a time and answers with a `Reply` (text, whether it
went well, whether the text is darchlang to highlight); it never touches a terminal,
so the REPL's behaviour is tested by feeding it strings.

Semantics are those of files, because the session drives the same `Loader`: each
input of statements is interpreted as a module whose scope starts as a copy of the
session's names, so a new input may refer to everything defined before and may
define a name again (the new definition wins from then on, as in GHCi; functions
defined earlier keep the values they saw). An input that fails changes nothing.
Each input gets a fresh interpreter, so the size guard counts per input rather than
over the whole session. An expression's value is also bound to `it`.
"""

from __future__ import annotations

import hashlib
import random
import re
import shlex
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from darchlang.app import describe as about
from darchlang.app import programs
from darchlang.app.inputs import DEFAULT_INPUT, decide_input
from darchlang.app.reader import kind_of
from darchlang.arch.graph import Architecture, Node
from darchlang.environment import Environment, default_environment
from darchlang.errors import DarchError, Source, closest, did_you_mean
from darchlang.semantics.interpreter import Interpreter, Scope, is_space
from darchlang.semantics.program import Loader, Module, read_source
from darchlang.semantics.values import Builtin, Closure
from darchlang.space.nodes import Choice, RecordNode, SNode
from darchlang.space.show import describe_value, render_tree
from darchlang.space.space import Space
from darchlang.syntax import ast
from darchlang.syntax.formatter import format_source
from darchlang.syntax.parser import parse, parse_expression
from darchlang.text import format_value, plural, value_text

SOURCE = "<repl>"
IT = "it"
NETWORK = "space"
HYPERPARAMS = "train"
MAX_SAMPLES = 100
# `:train` is a short run: these are the evaluator's defaults here, and a program's
# own `train = hyperparams {...}` block still overrides them.
TRAIN_DEFAULTS = {"max_epochs": 10, "time_minutes_max": 2.0}


@dataclass
class Reply:
    """What one input gives back: the text to print, and how to print it."""

    text: str
    ok: bool = True
    darch: bool = False  # the text is darchlang source (the app highlights it)

    def __str__(self) -> str:
        return self.text


@dataclass(frozen=True)
class Command:
    """A `:command`: how to call it, what it does, the method that runs it, and what its
    first argument is, for completion: "file", "name" (one the session defined), "any
    name" (the standard library's too) or None."""

    name: str
    usage: str
    summary: str
    run: Callable[[Session, list[str]], Reply]
    argument: str | None = None


class Session:
    """The names defined so far and the commands that explore them.

    `progress` receives the line a long command (`:train`) prints as it starts; the
    final result still comes back as the command's reply. With `live` (the terminal
    REPL), `:train` draws a progress bar while it runs rather than a line per epoch;
    `on_epoch` hears each epoch's `ProgressEvent` (a notebook or a test may watch).
    """

    def __init__(self, env: Environment | None = None,
                 progress: Callable[[str], None] | None = None, live: bool = False,
                 on_epoch: Callable[[Any], None] | None = None):
        self.env = env or default_environment()
        self.progress = progress or (lambda line: None)
        self.live = live
        self.on_epoch = on_epoch
        self.quit_requested = False
        # What `:reload` replays: ("load", path) and ("code", text) in the order they ran.
        self.entries: list[tuple[str, str]] = []
        self._rng = random.Random()
        self._dataset: Any = None
        self._fresh()

    def _fresh(self) -> None:
        self.loader = Loader(self.env)
        self.scope = Scope(self.loader.prelude)
        # The source of each name's latest definition, in the order they were made
        # (`:fmt`); a loaded file is one `import "PATH"` entry.
        self.sources: dict[str, str] = {}

    # ---- names ---------------------------------------------------------------------------
    def visible(self) -> dict[str, Any]:
        """Every name an input can use: builtins, the prelude, then the session's own."""
        return {**self.loader.builtins.names, **self.loader.prelude.names, **self.scope.names}

    def user_names(self) -> list[str]:
        """The names defined in this session (typed or loaded), in definition order."""
        return list(self.scope.names)

    def lookup(self, name: str) -> Any:
        try:
            return self.scope.lookup(name)
        except KeyError:
            raise DarchError(
                f"unknown name `{name}`",
                help=did_you_mean(name, self.scope.visible()) or "`:env` lists the names defined",
            ) from None

    # ---- running input -------------------------------------------------------------------
    def execute(self, text: str) -> Reply:
        """Run one input: a `:command`, statements, or an expression."""
        kind = kind_of(text)
        try:
            if kind == "empty":
                return Reply("")
            if kind == "command":
                return self.command(text)
            if kind == "statements":
                return self.define(text)
            return self.evaluate(text)
        except DarchError as err:
            return Reply(err.render(), ok=False)

    def _interpreter(self) -> Interpreter:
        interp = Interpreter(self.env)
        interp.main_source = SOURCE
        self.loader.interp = interp
        return interp

    def _next_scope(self) -> Scope:
        scope = Scope(self.loader.prelude)
        scope.names.update(self.scope.names)
        return scope

    def define(self, text: str) -> Reply:
        """Interpret statements as a module over the session's names; commit on success."""
        program = parse(text, SOURCE)
        before = dict(self.scope.names)
        scope = self._next_scope()
        self._interpreter()
        self.loader.interpret(Module(SOURCE, scope, program), main=True)
        self.scope = scope
        self.entries.append(("code", text))
        changed = [n for n, v in scope.names.items() if before.get(n, _MISSING) is not v]
        named: list[str] = []
        for st in program.statements:
            source = about.span_text(st.span) if st.span is not None else ""
            if isinstance(st, ast.Import):
                self.sources[f'import "{st.path}"'] = source
                continue
            self.sources.pop(st.name, None)
            self.sources[st.name] = source
            named.append(st.name)
        named += [n for n in changed if n not in named]
        return Reply("\n".join(f"{n}: {self.brief(scope.names[n], n)}" for n in named))

    def evaluate(self, text: str) -> Reply:
        """Evaluate one expression and show its value; it is bound to `it` as well."""
        expr = parse_expression(text, SOURCE)
        value = self._interpreter().eval(expr, self.scope)
        name = expr.id if isinstance(expr, ast.Name) else IT
        if name == IT:
            scope = self._next_scope()
            scope.names[IT] = value
            self.scope = scope
        return self.show_value(value, name)

    def load(self, path: str) -> Reply:
        """Interpret a file as a program of its own and add its names to the session."""
        file = Path(path).expanduser()
        text = read_source(file)
        module = self.loader.load_module(text, str(file), parent=self.loader.prelude, main=True)
        exports = {k: v for k, v in module.scope.names.items() if not k.startswith("_")}
        scope = self._next_scope()
        scope.names.update(exports)
        self.scope = scope
        self.entries.append(("load", str(file)))
        for name in exports:
            self.sources.pop(name, None)
        self.sources[f'import "{file.resolve()}"'] = f'import "{file.resolve()}"'
        lines = [f"loaded {path}: {plural(len(exports), 'name')}"]
        for name in (NETWORK, HYPERPARAMS):
            if name in exports:
                lines.append(f"{name}: {self.brief(exports[name], name)}")
        if is_space(exports.get(NETWORK)) and isinstance(exports.get(HYPERPARAMS), RecordNode):
            size = programs.count(self.space_named(None))
            lines.append(f"{NETWORK} with {HYPERPARAMS}: {plural(size.total, 'architecture')} "
                         "to search (what `darch count` counts)")
        return Reply("\n".join(lines))

    # ---- showing values ------------------------------------------------------------------
    def show_value(self, value: Any, name: str) -> Reply:
        """A value as the user wants to see it: a space as its tree and size, a space
        of one architecture as `.darch` text, a choice with its options."""
        if isinstance(value, Closure | Builtin):
            return Reply(about.help_text(value, self.env))
        if is_space(value) or isinstance(value, RecordNode):
            space = about.space_of(value, name)
            if space.count() == 1:
                return Reply(_architecture_text(space.sample(0)), darch=True)
            return Reply(render_tree(space))
        if isinstance(value, Choice):
            options = ", ".join(describe_value(o) for o in value.options)
            return Reply(f"one_of({options})  # a choice of {len(value.options)} options",
                         darch=True)
        if isinstance(value, SNode):
            return Reply(f"{describe_value(value)}  # {about.depends(value)}", darch=True)
        return Reply(value_text(value), darch=True)

    def brief(self, value: Any, name: str) -> str:
        """One line about a value: what it is and, for a space, how big it is."""
        return about.brief(value, name, self.env)

    # ---- choosing what a command works on ------------------------------------------------
    def space_named(self, name: str | None, with_train: bool = False) -> Space:
        """The space a command works on: NAME alone, or `space` with `train` by default.

        With `with_train`, a named network is searched with the `train` block too (what
        `:train` needs: the evaluator reads its settings from the architecture).
        """
        names = self.scope.names
        hyper = names.get(HYPERPARAMS)
        hyper = hyper if isinstance(hyper, RecordNode) else None
        if name is None:
            net = names.get(NETWORK)
            if net is None and hyper is None:
                raise DarchError(f"no `{NETWORK}` is defined yet",
                                 help=f"define `{NETWORK} = concat [...]`, or name a binding")
            if net is not None and not is_space(net):
                raise DarchError(f"`{NETWORK}` is {about.with_article(net, self.env)}, "
                                 "not layers",
                                 help="name the binding to use")
            return Space(net, hyper, NETWORK, HYPERPARAMS, env=names)
        value = self.lookup(name)
        if with_train and is_space(value):
            return Space(value, hyper if name != HYPERPARAMS else None, name, HYPERPARAMS,
                         env=names)
        if is_space(value) or isinstance(value, SNode):
            return about.space_of(value, name)
        raise DarchError(f"`{name}` is {about.with_article(value, self.env)}, not a space",
                         help="spaces are layers, sub-spaces, choices and hyperparams blocks")

    def network_named(self, name: str | None) -> tuple[Space, str]:
        """A space of layers (for `:compile` and `:train`), `space` by default."""
        target = name or NETWORK
        value = self.lookup(target)
        if not is_space(value):
            raise DarchError(f"`{target}` is {about.with_article(value, self.env)}, "
                             "not layers",
                             help="compile and train need a network: layers or a sub-space")
        return self.space_named(target, with_train=True), target

    # ---- commands ------------------------------------------------------------------------
    def command(self, text: str) -> Reply:
        """Run a `:command` line; a unique prefix of a command's name is enough."""
        parts = text.strip()[1:].split(None, 1)
        word = parts[0] if parts else ""
        rest = parts[1] if len(parts) > 1 else ""
        try:
            args = shlex.split(rest)
        except ValueError as exc:
            raise DarchError(f"cannot read the arguments: {exc}") from None
        found = self._find_command(word)
        return found.run(self, args)

    def _find_command(self, word: str) -> Command:
        if word in COMMANDS:
            return COMMANDS[word]
        if word in ALIASES:
            return COMMANDS[ALIASES[word]]
        matches = [c for c in COMMANDS if word and c.startswith(word)]
        if len(matches) == 1:
            return COMMANDS[matches[0]]
        if matches:
            listed = " or ".join(f":{m}" for m in matches)
            raise DarchError(f"`:{word}` is ambiguous: {listed}?")
        close = closest(word, [*COMMANDS, *ALIASES], cutoff=0.5)
        close = ALIASES.get(close, close)
        raise DarchError(
            f"unknown command `:{word}`",
            help=f"did you mean `:{close}`?" if close else "`:help` lists the commands",
        )

    def cmd_help(self, args: list[str]) -> Reply:
        if args:
            topic = args[0]
            if topic.startswith(":") or (topic in COMMANDS and topic not in self.scope.names):
                c = self._find_command(topic.lstrip(":"))
                return Reply(f":{c.usage}\n  {c.summary}")
            return Reply(self._topic_help(topic))
        width = max(len(c.usage) for c in COMMANDS.values()) + 3
        lines = ["Type definitions (`w = one_of(32, 64)`, `def f(x) = ...`) or an expression "
                 "to see its value.", ""]
        lines += [f"  :{c.usage:<{width}}{c.summary}" for c in COMMANDS.values()]
        lines += [
            "",
            "Tab completes names and keyword arguments; Enter inside an open bracket goes on",
            "to the next line; Ctrl-C cancels the line (or a running :train); Ctrl-D quits.",
            "`:help NAME` describes a layer, builtin or definition; commands may be shortened.",
        ]
        return Reply("\n".join(lines))

    def _topic_help(self, name: str) -> str:
        value = self.lookup(name)
        if isinstance(value, Closure | Builtin):
            return about.help_text(value, self.env)
        return f"{name}: {self.brief(value, name)}"

    def cmd_load(self, args: list[str]) -> Reply:
        if len(args) != 1:
            raise DarchError("`:load` takes one file", help="write `:load path/to/space.darch`")
        return self.load(args[0])

    def cmd_reload(self, args: list[str]) -> Reply:
        _no_args("reload", args)
        entries, self.entries = self.entries, []
        if not entries:
            return Reply("nothing to reload: no file loaded and nothing defined yet")
        self._fresh()
        problems: list[str] = []
        for kind, payload in entries:
            try:
                if kind == "load":
                    self.load(payload)
                else:
                    self.define(payload)
            except DarchError as err:
                problems.append(err.render())
        files = sum(1 for k, _ in entries if k == "load")
        done = f"reloaded {plural(files, 'file')} and {plural(len(entries) - files, 'input')}"
        if problems:
            n = len(problems)
            dropped = f"; {n} of them fail{'s' if n == 1 else ''} now and {'was' if n == 1 else 'were'} dropped"
            return Reply("\n".join([done + dropped, *problems]), ok=False)
        return Reply(done)

    def cmd_show(self, args: list[str]) -> Reply:
        name = _at_most_one("show", args)
        if name is not None:
            return self.show_value(self.lookup(name), name)
        return Reply(render_tree(self.space_named(None)))

    def cmd_count(self, args: list[str]) -> Reply:
        name = _at_most_one("count", args)
        return Reply(programs.count(self.space_named(name)).text())

    def cmd_sample(self, args: list[str]) -> Reply:
        name = None
        if args and not _is_int(args[0]):
            name, args = args[0], args[1:]
        if len(args) > 2 or not all(_is_int(a) for a in args):
            raise DarchError("usage: :" + COMMANDS["sample"].usage,
                             help="SEED and N are integers, as in `:sample space 7 3`")
        seed = int(args[0]) if args else self._rng.randrange(1_000_000)
        n = int(args[1]) if len(args) > 1 else 1
        if not 1 <= n <= MAX_SAMPLES:
            raise DarchError(f"N must be between 1 and {MAX_SAMPLES}, got {n}")
        space = self.space_named(name)
        parts = [] if args else [f"# seed {seed}"]
        for arch in programs.sample(space, seed, n):
            text = _architecture_text(arch)
            identity = hashlib.sha256(text.encode()).hexdigest()[:16]  # arch.identity, for values too
            parts.append(f"{programs.header(arch, identity)}\n{text}")
        return Reply("\n".join(parts).rstrip("\n"), darch=True)

    def cmd_fmt(self, args: list[str]) -> Reply:
        name = _at_most_one("fmt", args)
        if name is not None:
            if name not in self.sources:
                self.lookup(name)
                raise DarchError(f"`{name}` has no definition typed in this session",
                                 help="it comes from a loaded file or the standard library")
            text = self.sources[name]
        else:
            text = "\n".join(self.sources.values())
            if not text:
                return Reply("# nothing defined yet", darch=True)
        return Reply(format_source(text, SOURCE).rstrip("\n"), darch=True)

    def cmd_compile(self, args: list[str]) -> Reply:
        name = shape_text = None
        if len(args) == 2 and not any(map(_looks_like_shape, args)):
            raise DarchError(f"`{args[1]}` is not an input shape",
                             help="INPUT is channels x height x width (or a feature count), "
                                  f"as in `:compile {args[0]} {DEFAULT_INPUT}`")
        for a in args:
            if _looks_like_shape(a) and shape_text is None:
                shape_text = a
            elif name is None and not _looks_like_shape(a):
                name = a
            else:
                raise DarchError("usage: :" + COMMANDS["compile"].usage,
                                 help="one NAME and one INPUT at most, as in "
                                      f"`:compile space {DEFAULT_INPUT}`")
        given = decide_input(shape_text, self._loaded_source())
        space, target = self.network_named(name)
        arch = programs.pick(space, 0)
        note = (f"# `{target}`" if not arch.decisions else
                f"# `{target}`, the architecture of seed 0 (`:sample {target} 0` shows it)")
        if given.origin != "given":
            note += f"\n# for input {given.described('INPUT')}"
        summary = programs.compile_summary(arch, given.shape, env=self.env)
        return Reply(f"{note}\n{summary.render()}")

    def _loaded_source(self) -> Source | None:
        """The file loaded last, whose `# darch: input` line `:compile` follows."""
        path = next((p for kind, p in reversed(self.entries) if kind == "load"), None)
        return None if path is None else Source(path, read_source(Path(path)))

    def cmd_train(self, args: list[str]) -> Reply:
        from darchlang.app.training import Watch, check_builds, load_dataset, make_evaluator
        from darchlang.train.progress import result_text

        name = None
        if args and not _is_int(args[0]):
            name, args = args[0], args[1:]
        if len(args) > 1 or not all(_is_int(a) for a in args):
            raise DarchError("usage: :" + COMMANDS["train"].usage,
                             help="SEED is an integer, as in `:train space 3`")
        seed = int(args[0]) if args else 0
        space, target = self.network_named(name)
        arch = programs.pick(space, seed)
        if self._dataset is None:
            self._dataset = load_dataset("digits")
        check_builds(arch, self._dataset, self.env)
        watch = Watch(self.on_epoch)
        evaluator = make_evaluator(self._dataset, settings=TRAIN_DEFAULTS, seed=seed,
                                   progress=self.live, on_progress=watch)
        self.progress(f"training `{target}` (seed {seed}, architecture {arch.identity}) "
                      f"on {evaluator.dataset.name}; Ctrl-C stops")
        try:
            result = evaluator.evaluate(arch)
        except KeyboardInterrupt:
            return Reply(f"training interrupted: {watch.best_so_far()}", ok=False)
        return Reply(result_text(result, arch.decisions), ok=result.ok)

    def cmd_env(self, args: list[str]) -> Reply:
        _no_args("env", args)
        names = self.scope.names
        if not names:
            return Reply("nothing defined yet (the standard library is always there: "
                         "press Tab to see it)")
        width = max(len(n) for n in names)
        return Reply("\n".join(f"{n:<{width}}  {self.brief(v, n)}" for n, v in names.items()))

    def cmd_quit(self, args: list[str]) -> Reply:
        _no_args("quit", args)
        self.quit_requested = True
        return Reply("")


COMMANDS: dict[str, Command] = {c.name: c for c in (
    Command("help", "help [NAME]", "this list, or what a layer, builtin or name is",
            Session.cmd_help, "any name"),
    Command("load", "load FILE", "run a .darch file and add its names", Session.cmd_load,
            "file"),
    Command("reload", "reload", "re-read loaded files and re-run the definitions typed since",
            Session.cmd_reload),
    Command("show", "show [NAME]", "a space as a tree of choices (default: space and train)",
            Session.cmd_show, "name"),
    Command("count", "count [NAME]", "the exact number of architectures (with `train`: "
            "of networks with their training settings)", Session.cmd_count, "name"),
    Command("sample", "sample [NAME] [SEED] [N]", "N random architectures as .darch text",
            Session.cmd_sample, "name"),
    Command("fmt", "fmt [NAME]", "the session's definitions (or one), formatted as a file",
            Session.cmd_fmt, "name"),
    Command("compile", "compile [NAME] [INPUT]",
            "the layer table of a network's seed-0 architecture (INPUT: the loaded file's "
            f"`# darch: input`, else {DEFAULT_INPUT})",
            Session.cmd_compile, "name"),
    Command("train", "train [NAME] [SEED]", "a short training run on the digits data",
            Session.cmd_train, "name"),
    Command("env", "env", "the names defined in this session", Session.cmd_env),
    Command("quit", "quit", "leave (Ctrl-D does too)", Session.cmd_quit),
)}
ALIASES = {"q": "quit", "exit": "quit", "h": "help", "?": "help"}


# ---- helpers ------------------------------------------------------------------------------
class _Missing:
    """Stands for "not defined before this input" when finding what an input changed."""


_MISSING = _Missing()


def _architecture_text(arch: Architecture) -> str:
    """`.darch` text of an architecture, or `NAME = VALUE` when the space was a value."""
    if arch.network is None or isinstance(arch.network, Node):
        return arch.text
    return f"{arch.network_name} = {format_value(arch.network)}\n"


def _is_int(text: str) -> bool:
    try:
        int(text)
    except ValueError:
        return False
    return True


def _looks_like_shape(text: str) -> bool:
    """`3x32x32`, `64`, and near misses such as `3x` (which then fail as shapes, not as
    unknown names)."""
    return bool(re.fullmatch(r"\d[\dx,]*", text.lower()))


def _no_args(name: str, args: list[str]) -> None:
    if args:
        raise DarchError(f"`:{name}` takes no arguments")


def _at_most_one(name: str, args: list[str]) -> str | None:
    if len(args) > 1:
        raise DarchError("usage: :" + COMMANDS[name].usage)
    return args[0] if args else None


