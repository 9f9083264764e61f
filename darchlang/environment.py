"""One environment holds everything a program, a search and a backend look up by name.

Jinja's `Environment` is the model: one object, handed to whoever needs it, instead of
module-level registries filled as a side effect of imports. An `Environment` holds

- `layers` (`LayerDef`s) and `functions` (Python-written functions and combinators),
  which share one namespace, since a program calls both by name;
- `evaluators`, `searchers`, `datasets` and `schedulers`, by the names the CLI takes;
- `lowerings`: per backend ("torch"), how each layer becomes code there;
- `limits`: how much work building a space may do;
- `plugins`: what each installed plugin added, or why it failed.

`builtin_environment()` makes a fresh one with darchlang's own entries;
`default_environment()` adds the installed plugins, once per process. A plugin's
`register(env)` receives an environment and extends it through the same `add_*`
methods the built-ins use, so a duplicate name is refused the same way whoever adds it,
and the error names both origins.

Searchers, datasets and built-in evaluators may be given as an import path
(`"darchlang.search.tpe:TPESearcher"`) and are imported only when first used, so that
building the environment (which every `darch count` does) imports neither numpy nor
torch.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field, replace
from typing import Any

from darchlang.errors import DarchError, did_you_mean
from darchlang.layers.defs import REQUIRED, LayerDef, Param, ParamType

Ref = Any  # an object, or "module:attr" to import on first use


def resolve(ref: Ref) -> Any:
    """The object an entry names: itself, or the target of a "module:attr" path."""
    if isinstance(ref, str) and ":" in ref:
        module, _, attr = ref.partition(":")
        return getattr(importlib.import_module(module), attr)
    return ref


@dataclass(frozen=True)
class Limits:
    """How much loading one program may build and compute; the interpreter checks every
    one, and each trips in well under a second with an error at the spot that passed it
    (docs/language.md, "Limits and errors", lists them). They are far above what the
    literature's spaces need: the largest stdlib space builds about 1,500 nodes in about
    5,000 steps."""

    source_size: int = 524_288
    """Characters of one program or imported file (512 KiB; the largest stdlib file is
    about 10 KB, 30,000 levels of `concat [...]` 270 KB): parsing a larger one could take
    seconds, so it is refused unread."""
    call_depth: int = 200
    """Nested calls of darchlang functions (recursion without end)."""
    steps: int = 100_000
    """Evaluation steps of one load (an expression evaluated, an option of a choice or an
    item of a `concat` made, or 25 items of a list or string made); a function that
    calls itself twice per call passes it quickly."""
    nodes: int = 50_000
    """Nodes of the space: layers, choices, combinators and values over choices."""
    repeat: int = 10_000
    """The largest count of `repeat` and `repeat_tied`."""
    value_size: int = 100_000
    """Items of a list (nested lists count their items) or characters of a string."""
    int_bits: int = 4096
    """Bits of an integer (about 1,233 decimal digits)."""
    combinations: int = 10_000
    """Combinations of values computed for one node when listing the values a value
    over choices can take from its parts' (a repeat count, an index)."""
    check_work: int = 500_000
    """Nodes visited (or values computed) checking the values over choices of one load
    (layer arguments, repeat counts, indices, `if` conditions) for every combination of
    the choices they read (`semantics/feasible.py`); one value gets at most a 25th of
    it, after which random combinations are tried instead."""
    layers: int = 100_000
    """Layers of a space's largest architecture (each copy of a `repeat_tied` counts),
    measured on the space without building one (`darchlang.space.size`)."""
    count_steps: int = 2_000
    """Conditionings on a shared choice while counting one space (`darchlang.space.count`);
    the literature's spaces need none or a handful, so it trips in well under a
    second."""
    parameters: int = 10_000_000_000
    """Parameters of a space's largest architecture, bounded by `check --shapes` from
    the shapes each layer can see (layers without a parameter formula count 0)."""
    uniform_work: int = 2_000_000
    """Choices times options times choices for sampling uniformly (`--uniform`, the
    `uniform` searcher): each decision weighs its options by counting the space once per
    option, so the work grows with the square of the choices; past it, uniform sampling
    is refused at once rather than running for minutes."""


@dataclass(frozen=True)
class DatasetDef:
    """A named dataset: how to load it (a `Path | None -> Dataset` function, or the
    import path of one), what it is, and whether it needs `--data-dir`."""

    name: str
    load: Ref
    doc: str
    needs_dir: bool
    origin: str = "darchlang"


@dataclass
class PluginInfo:
    """What `darch plugins` reports about one installed plugin."""

    name: str
    source: str  # "module:attr" of the entry point, or the module given
    distribution: str = ""
    provides: list[str] = field(default_factory=list)
    error: str | None = None


_TABLES = ("layers", "functions", "evaluators", "searchers", "datasets", "schedulers")


class Environment:
    """Layers, functions, evaluators, searchers, datasets, schedulers, backend lowerings
    and limits, in one object that programs are loaded with and plugins extend.

    `origin` is who is adding entries now: "darchlang" for the built-ins, "plugin NAME"
    while a plugin registers. Copy an environment to add entries for one session
    without touching the default one.
    """

    def __init__(self, origin: str = "darchlang", limits: Limits | None = None):
        self.origin = origin
        self.limits = limits or Limits()
        self.layers: dict[str, LayerDef] = {}
        self.functions: dict[str, Any] = {}
        self.evaluators: dict[str, Ref] = {}
        self.searchers: dict[str, Ref] = {}
        self.datasets: dict[str, DatasetDef] = {}
        self.schedulers: dict[str, Ref] = {}
        self.lowerings: dict[str, dict[str, Any]] = {}
        self.plugins: list[PluginInfo] = []
        # (table, name) -> who added it, for every entry of every table.
        self.origins: dict[tuple[str, str], str] = {}

    # -- adding -----------------------------------------------------------------------

    def _claim(self, table: str, kind: str, name: str, origin: str | None) -> str:
        """Refuse a taken name, naming both origins; return the new entry's origin."""
        origin = origin or self.origin
        if not isinstance(name, str) or not name:
            raise ValueError(f"a {kind} needs a name, got {name!r}")
        # Layers and functions share the namespace programs call them in.
        tables = ("layers", "functions") if table in ("layers", "functions") else (table,)
        for t in tables:
            other = self.origins.get((t, name))
            if other is not None:
                what = "layer" if t == "layers" else "function" if t == "functions" else kind
                raise ValueError(f"a {what} named `{name}` is already registered (from {other}); "
                                 f"{origin} cannot add another")
        self.origins[(table, name)] = origin
        return origin

    def add_layer(self, layer: LayerDef) -> LayerDef:
        """Add a layer primitive; names are unique across layers and functions."""
        if not isinstance(layer, LayerDef):
            raise TypeError(f"add_layer takes a LayerDef, got {type(layer).__name__}")
        if not isinstance(layer.name, str) or not layer.name.isidentifier():
            raise ValueError(f"layer name {layer.name!r} is not a valid darchlang name")
        for p in layer.params:
            if not isinstance(p, Param) or not isinstance(p.type, ParamType):
                raise TypeError(f"layer `{layer.name}`: parameter {p!r} needs a Param with a type")
        names = [p.name for p in layer.params]
        if len(set(names)) != len(names):
            raise ValueError(f"layer `{layer.name}` lists a parameter twice")
        for p in layer.params:
            problem = p.type.check(p.default) if p.default is not REQUIRED else None
            if problem:
                raise ValueError(f"layer `{layer.name}`: the default of `{p.name}` is invalid: {problem}")
        origin = self._claim("layers", "layer", layer.name,
                             layer.origin if layer.origin != "darchlang" else None)
        if origin != layer.origin:
            layer = replace(layer, origin=origin)
        self.layers[layer.name] = layer
        return layer

    def add_function(self, function: Any) -> Any:
        """Add a function or combinator (a `darchlang.extend.Function`)."""
        if not isinstance(function.name, str) or not function.name.isidentifier():
            raise ValueError(f"function name {function.name!r} is not a valid darchlang name")
        origin = self._claim("functions", "function", function.name,
                             function.origin if function.origin != "darchlang" else None)
        if origin != function.origin:
            function = replace(function, origin=origin)
        self.functions[function.name] = function
        return function

    def add_evaluator(self, name: str, factory: Ref, origin: str | None = None) -> None:
        """Add an evaluator factory (called with no arguments) usable as `--evaluator NAME`;
        `origin` says who provides it (by default, whoever is registering now)."""
        self._claim("evaluators", "evaluator", name, origin)
        self.evaluators[name] = factory

    def add_searcher(self, searcher: Ref, name: str | None = None, origin: str | None = None) -> None:
        """Add a `Searcher` subclass under its `name` (or `name`, needed for a path)."""
        name = name or getattr(searcher, "name", None)
        if not name:
            raise ValueError(f"searcher {searcher!r} has no `name`")
        self._claim("searchers", "searcher", name, origin)
        self.searchers[name] = searcher

    def add_dataset(self, name: str, load: Ref, doc: str = "", *, needs_dir: bool = False,
                    origin: str | None = None) -> None:
        """Add a dataset loader (`load(data_dir: Path | None) -> Dataset`) by name."""
        origin = self._claim("datasets", "dataset", name, origin)
        self.datasets[name] = DatasetDef(name, load, doc, needs_dir, origin)

    def add_scheduler(self, name: str, factory: Ref, origin: str | None = None) -> None:
        """Add a scheduler factory (stop, continue or promote evaluations) by name."""
        self._claim("schedulers", "scheduler", name, origin)
        self.schedulers[name] = factory

    def add_lowering(self, backend: str, layer: str, lowering: Any, origin: str | None = None) -> None:
        """Say how layer `layer` becomes code in `backend` (for "torch", a
        `darchlang.backends.torch.lowering.TorchLowering`)."""
        table = f"lowerings {backend}"
        self._claim(table, f"{backend} lowering", layer, origin)
        self.lowerings.setdefault(backend, {})[layer] = lowering

    # -- looking up -------------------------------------------------------------------

    def names(self) -> set[str]:
        """Every name a program can call."""
        return set(self.layers) | set(self.functions)

    def lowering(self, backend: str, layer: str) -> Any:
        """How `layer` lowers to `backend`, or None."""
        return self.lowerings.get(backend, {}).get(layer)

    def searcher(self, name: str) -> Any:
        """The searcher class registered as `name`; a DarchError with a suggestion if none."""
        return self._lookup("searchers", "searcher", name)

    def dataset(self, name: str) -> DatasetDef:
        """The dataset registered as `name`; a DarchError with a suggestion if none."""
        if name not in self.datasets:
            self._unknown("dataset", name, self.datasets)
        return self.datasets[name]

    def evaluator(self, name: str) -> Any:
        """The evaluator factory registered as `name`; a DarchError if none."""
        return self._lookup("evaluators", "evaluator", name)

    def scheduler(self, name: str) -> Any:
        """The scheduler factory registered as `name`; a DarchError if none."""
        return self._lookup("schedulers", "scheduler", name)

    def _lookup(self, table: str, kind: str, name: str) -> Any:
        entries = getattr(self, table)
        if name not in entries:
            self._unknown(kind, name, entries)
        found = resolve(entries[name])
        entries[name] = found
        return found

    @staticmethod
    def _unknown(kind: str, name: str, entries: dict[str, Any]) -> None:
        known = ", ".join(sorted(entries)) or "none"
        raise DarchError(f"unknown {kind} `{name}`",
                         help=did_you_mean(name, entries) or f"known {kind}s: {known}")

    # -- copying ----------------------------------------------------------------------

    def copy(self) -> Environment:
        """An independent environment with the same entries (the entries are shared)."""
        new = Environment(self.origin, self.limits)
        for table in _TABLES:
            setattr(new, table, dict(getattr(self, table)))
        new.lowerings = {b: dict(t) for b, t in self.lowerings.items()}
        new.plugins = list(self.plugins)
        new.origins = dict(self.origins)
        return new

    def adopt(self, other: Environment) -> list[str]:
        """Take every entry `other` (a copy of this one, extended) added; return them
        as `darch plugins` lists them."""
        added = [n for n in other.layers if n not in self.layers]
        added += [n for n in other.functions if n not in self.functions]
        for table, kind in (("evaluators", "evaluator"), ("searchers", "searcher"),
                            ("datasets", "dataset"), ("schedulers", "scheduler")):
            added += [f"{kind} {n}" for n in getattr(other, table) if n not in getattr(self, table)]
        for backend, entries in other.lowerings.items():
            mine = self.lowerings.get(backend, {})
            added += [f"{backend} lowering {n}" for n in entries if n not in mine]
        for table in _TABLES:
            setattr(self, table, getattr(other, table))
        self.lowerings = other.lowerings
        self.origins = other.origins
        return added


def builtin_environment() -> Environment:
    """A fresh environment of darchlang's own entries alone (no plugins)."""
    from darchlang.backends.torch.lowering import register_lowerings
    from darchlang.layers.builtin import register_layers
    from darchlang.semantics.builtins import register_functions

    env = Environment()
    register_layers(env)
    register_functions(env)
    register_lowerings(env)
    for name, ref in _SEARCHERS:
        env.add_searcher(ref, name)
    for name, ref, doc, needs_dir in _DATASETS:
        env.add_dataset(name, ref, doc, needs_dir=needs_dir)
    for name, ref in _SCHEDULERS:
        env.add_scheduler(name, ref)
    return env


# Built-in searchers, the baselines first so listings read from simplest to most
# elaborate; imported when first used.
_SEARCHERS = (
    ("random", "darchlang.search.simple:RandomSearcher"),
    ("uniform", "darchlang.search.simple:UniformSearcher"),
    ("grid", "darchlang.search.simple:GridSearcher"),
    ("evolution", "darchlang.search.evolution:EvolutionSearcher"),
    ("mcts", "darchlang.search.mcts:MCTSSearcher"),
    ("smbo", "darchlang.search.smbo:SMBOSearcher"),
    ("tpe", "darchlang.search.tpe:TPESearcher"),
)

# Built-in schedulers (`--scheduler`; `none` is no scheduler), imported when first used.
_SCHEDULERS = (
    ("median", "darchlang.search.schedulers:MedianStopping"),
    ("halving", "darchlang.search.schedulers:SuccessiveHalving"),
    ("hyperband", "darchlang.search.schedulers:Hyperband"),
    ("asha", "darchlang.search.schedulers:ASHA"),
)

_DATASETS = (
    ("digits", "darchlang.train.data:load_digits",
     "scikit-learn's bundled 8x8 handwritten digits (1797 images, 10 classes); "
     "fixed 60/20/20 train/validation/test split", False),
    ("cifar10", "darchlang.train.data:load_cifar10",
     "CIFAR-10 from the binary (data_batch_1.bin ...) or python (data_batch_1 ...) files; "
     "32x32 colour images, 10 classes; 45000/5000/10000 split; pad-4 crop and flip", True),
    ("mnist", "darchlang.train.data:load_mnist",
     "MNIST from the four IDX files (train-images-idx3-ubyte ..., gzip or not); "
     "28x28 greyscale, 10 classes; 54000/6000/10000 split", True),
    ("fashion-mnist", "darchlang.train.data:load_fashion_mnist",
     "Fashion-MNIST from its four IDX files (same names and layout as MNIST)", True),
)

_DEFAULT: Environment | None = None


def default_environment() -> Environment:
    """The built-ins plus the installed plugins (loaded once per process)."""
    global _DEFAULT
    if _DEFAULT is None:
        from darchlang.plugins import load_plugins

        env = builtin_environment()
        load_plugins(env)
        _DEFAULT = env
    return _DEFAULT


__all__ = ["DatasetDef", "Environment", "Limits", "PluginInfo", "builtin_environment",
           "default_environment", "resolve"]
