"""Actions that train: make the classifier evaluator, load a program for a dataset,
train one architecture and remember the best result seen while it trains.

`darch train`, `darch search` and the REPL's `:train` all build their evaluator here,
so a setting given on the command line, in the program or by the REPL's short-run
defaults is read and checked the same way.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from darchlang.app.programs import load_text, read_source, source_name
from darchlang.arch.graph import Architecture
from darchlang.environment import default_environment
from darchlang.errors import DarchError
from darchlang.semantics.program import Program


def overrides(set_items: Iterable[str] = (), **named: Any) -> dict[str, Any]:
    """The settings a command line fixes: `--set NAME=VALUE` items first, then named
    ones (`max_epochs=3`) that are not None."""
    from darchlang.train.settings import parse_setting

    out: dict[str, Any] = dict(parse_setting(item) for item in set_items)
    out.update({k: v for k, v in named.items() if v is not None})
    return out


def load_dataset(spec: str, data_dir: str | None = None) -> Any:
    """A dataset by name (`digits`, `cifar10`, `npz:PATH`), as `darch train` takes it."""
    from darchlang.train.data import load_dataset as load

    return load(spec, data_dir)


def load_with_dataset(path: str, spec: str, data_dir: str | None = None, *,
                      defines: dict[str, Any] | None = None, entry: str = "space",
                      import_path: Sequence[str] = ()) -> tuple[Program, Any]:
    """The program, then the dataset, with the program's `num_classes` param (when it
    declares one) set from the dataset; `defines` still win.

    The program comes first: a mistake in it is reported in a fraction of a second,
    before the data (and torch) take seconds to load. It is interpreted again only when
    the dataset's number of classes is not the param's own value."""
    env = default_environment()
    text, name = read_source(path, env.limits.source_size), source_name(path)

    def program_for(optional: dict[str, Any] | None) -> Program:
        return load_text(text, name, env, defines=defines, entry=entry, optional=optional,
                         check_training=True, import_path=import_path)

    program = program_for(None)
    dataset = load_dataset(spec, data_dir)
    declared = program.params.get("num_classes", dataset.num_classes)
    if "num_classes" not in (defines or {}) and declared != dataset.num_classes:
        program = program_for({"num_classes": dataset.num_classes})
    return program, dataset


def make_evaluator(dataset: Any, *, settings: Mapping[str, Any] | None = None,
                   overrides: Mapping[str, Any] | None = None, seed: int = 0,
                   device: str = "cpu", threads: int | None = None,
                   model_path: str | None = None, progress: bool | None = False,
                   on_progress: Callable[[Any], None] | None = None,
                   raise_errors: bool = False) -> Any:
    """The classifier evaluator: `settings` below the program's `train` block,
    `overrides` above it; `seed` seeds every training run it does."""
    from darchlang.train.evaluator import ClassifierEvaluator

    return ClassifierEvaluator(dataset, settings, overrides=overrides, seed=seed,
                               device=device, threads=threads, model_path=model_path,
                               progress=progress, on_progress=on_progress,
                               raise_errors=raise_errors)


@dataclass
class Watch:
    """Follows a training run's progress events: the latest one, for saying how far a
    run got when it is stopped (Ctrl-C); `then` hears every event too."""

    then: Callable[[Any], None] | None = None
    latest: Any = field(default=None)

    def __call__(self, event: Any) -> None:
        self.latest = event
        if self.then is not None:
            self.then(event)

    def best_so_far(self) -> str:
        """`stopped at epoch 4 of 10: best val accuracy 0.9312 so far`, or that no
        validation ran yet."""
        e = self.latest
        if e is None:
            return "stopped before the first validation: no result yet"
        return (f"stopped at epoch {e.epoch} of {e.max_epochs}: best val accuracy "
                f"{e.best_val_accuracy:.4f} so far (latest {e.val_accuracy:.4f})")


def check_builds(arch: Architecture, dataset: Any, env: Any = None,
                 program: Program | None = None) -> None:
    """Plan `arch` for the dataset's examples before anything trains (on the meta
    device: nothing is allocated), so a shape that cannot work, or an output that is
    not one score per class, is an error at its line, the call that made the layer
    included, rather than a one-line failed result (`program`: for the help naming
    its `num_classes` param)."""
    from darchlang.backends.torch.plan import plan_network
    from darchlang.layers.shapes import shape_text
    from darchlang.search.preflight import output_error

    try:
        plan = plan_network(arch, dataset.input_shape, env)
        wrong = output_error(plan, dataset.num_classes, dataset.name,
                             None if program is None else program.params.get("num_classes"))
        if wrong is not None:
            raise wrong
    except DarchError as err:
        err.notes.append(f"the input is {shape_text(dataset.input_shape)}, one example of "
                         f"`{dataset.name}`")
        raise


def check_constraints(arch: Architecture, dataset: Any, settings: Any, program: Program
                      ) -> None:
    """Refuse an architecture over its `max_params` or `max_macs` before it trains, by
    the check a search makes on each candidate (`darchlang.search.preflight`): the
    reason is an error at the constraint's line in the `train` block (none when the
    command line set it)."""
    from darchlang.app.programs import setting_span
    from darchlang.layers.shapes import shape_text
    from darchlang.search.preflight import Preflight

    reason = Preflight(tuple(dataset.input_shape), settings.max_params, settings.max_macs)(arch)
    if reason is None:
        return
    which = "max_params" if "max_params" in reason else "max_macs"
    raise DarchError(f"the architecture {reason}", setting_span(program, which),
                     help=f"pick a smaller architecture, or raise the limit "
                          f"(--set {which}=N)",
                     notes=[f"the input is {shape_text(dataset.input_shape)}, one example "
                            f"of `{dataset.name}`"])


def train(evaluator: Any, arch: Architecture) -> Any:
    """Train and score one architecture: an `EvalResult`, failed when the model fails."""
    return evaluator.evaluate(arch)
