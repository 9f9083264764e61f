"""Train a picked architecture as a classifier and score it: DeepArchitect's evaluator.

`ClassifierEvaluator(dataset, ...)` holds the data (on its device) and the default
settings; `evaluate(architecture)` reads the architecture's `train = hyperparams {...}`
values by name over those defaults, applies the command line's overrides on top,
compiles the network, trains it under the schedule of `darchlang.train.schedule`,
keeps the weights of the best validation accuracy and reports the test accuracy of
those weights.

Anything that goes wrong with the model is a result, not an exception: a shape error,
an exception in the forward pass, NaN or infinite loss, running out of memory or out
of time all come back as `EvalResult(status="failed", reason=...)`, so a search goes
on. Only bad settings (a user error in the program) raise `DarchError`.

The loop is kept as lean as a hand-written one: the data lives on the device as one
tensor per split, each epoch is a seeded `randperm` cut into batches taken with
`index_select`, the running loss is summed on the device (one host sync per
evaluation, plus a finiteness check every `CHECK_EVERY` steps), and validation counts
correct answers on the device too.

Speed settings (docs/training.md): the PyTorch backend lays image networks out
`channels_last` by its rule (`choose_memory_format`); `precision` trains under
`torch.autocast` (bf16, or fp16 with a `GradScaler`); `compile` runs the training step
through `torch.compile`, compiled during setup on the first batch, falling back to
eager with a warning when it fails. On CUDA the data goes to the device once through
pinned memory and `cudnn.benchmark` is on (every training batch has the same shape).
Setup (building the model and optimizer, compiling, a rung's checkpoint) is timed
apart from training, and the time budget counts training only. What torch imports
lazily the first time (torch.optim's first optimizer imports torch._dynamo: seconds)
is imported once per process by `warm_up`, before the first evaluation's clock
starts, so the first candidate is not charged for it.

Objectives beyond accuracy and parameters are measured only when the `objectives`
setting names them, so other runs report what they always did: `macs` (multiply-adds
per example, from the backend's layer table of the built model) and `latency_ms`
(`measure_latency`: the trained model in eval mode on the training device, a batch of
`batch_size` validation examples, `LATENCY_WARMUP` passes untimed, then the median of
`LATENCY_RUNS` timed ones, each synchronised on CUDA).
"""

from __future__ import annotations

import contextlib
import dataclasses
import gc
import math
import multiprocessing
import statistics
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from darchlang.arch.graph import Architecture
from darchlang.errors import DarchError, did_you_mean
from darchlang.space.space import check_seed
from darchlang.text import describe
from darchlang.train.augment import Augment
from darchlang.train.budget import Budget
from darchlang.train.data import Dataset, Split
from darchlang.train.progress import ProgressBar, ProgressCallback, ProgressEvent
from darchlang.train.result import EvalResult
from darchlang.train.schedule import Schedule
from darchlang.train.settings import DEVICES, Settings, is_device_name

AUTOCAST_DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16}

ModelBuilder = Callable[[Architecture, tuple[int, ...], torch.device], nn.Module]

CHECK_EVERY = 200  # steps between checks that the running loss is still finite
BAR_EVERY = 16  # steps between progress bar moves (no sync; rich redraws on its own thread)
EVAL_BATCH = 512  # examples per forward pass when scoring (no gradients kept)
TIME_BUDGET = "time_minutes_max"
MAX_EPOCHS = "max_epochs"
RUNG = "rung"  # trained the epochs of its rung; a scheduler may continue it
SCHEDULER = "scheduler"  # stopped by the scheduler (median stopping)
LATENCY_WARMUP = 5  # forward passes before the timed ones (allocator, cuDNN autotuning)
LATENCY_RUNS = 20  # timed forward passes; their median is the latency
_WARM: list[bool] = []  # whether this process has run `warm_up`


class TrainingFailed(Exception):
    """Raised inside a run for a failure the result should describe in plain words."""


class _CallbackError(Exception):
    """Wraps an exception from the caller's progress callback, so it is not blamed on the model."""


def compile_with_backend(
    architecture: Architecture, input_shape: tuple[int, ...], device: torch.device
) -> nn.Module:
    """The default model builder: darchlang's PyTorch backend, in the memory format its
    rule picks for the network (channels_last for convolutions on images)."""
    from darchlang.backends.torch.compiler import compile_architecture

    return compile_architecture(architecture, input_shape, device=str(device), memory_format="auto")


def worker_index() -> int | None:
    """The index (from 0) of this process in a local pool of workers; None outside one."""
    identity = multiprocessing.current_process()._identity
    return identity[0] - 1 if identity else None


def gpu_for(index: int | None, worker: int | None, count: int) -> int:
    """The GPU a bare `cuda` means: round-robin by worker index over `count` GPUs (so
    `--workers N` on several GPUs gives each worker its own), else the current one (0);
    an explicit `cuda:i` is kept."""
    if index is not None:
        return index
    return 0 if worker is None or count < 1 else worker % count


def resolve_device(device: str | torch.device, worker: int | None = None) -> torch.device:
    """A torch device from `cpu`, `cuda`, `cuda:N` or a torch device of those kinds (the
    names `--device` takes), or a clear error when it is none or the machine lacks it."""
    name = str(device) if isinstance(device, torch.device) else device
    if not is_device_name(name):
        try:
            torch.device(name)  # one torch knows (`meta`, `mps`) but darchlang does not train on
            said = f"device {_quoted(name)} is not supported"
        except (RuntimeError, TypeError):
            said = f"unknown device {_quoted(name)}"
        close = did_you_mean(name, DEVICES) if isinstance(name, str) else None
        raise DarchError(said, help=(close + "; " if close else "") + "use cpu, cuda or cuda:N")
    dev = torch.device(name)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise DarchError(f"device `{device}` asked for, but CUDA is not available here", help="use --device cpu")
    if dev.type == "cuda":
        count = torch.cuda.device_count()
        if dev.index is not None and dev.index >= count:
            raise DarchError(f"device `{device}` asked for, but this machine has {count} GPU(s)",
                             help=f"use cuda:0 .. cuda:{count - 1}")
        dev = torch.device("cuda", gpu_for(dev.index, worker, count))
    return dev


def to_device(dataset: Dataset, device: torch.device) -> Dataset:
    """The dataset on `device`, once; to a GPU through pinned memory, copied without
    blocking (later kernels on the same stream wait for the copies)."""
    if device.type != "cuda" or dataset.device == device:
        return dataset.to(device)

    def move(split: Split) -> Split:
        return Split(split.x.pin_memory().to(device, non_blocking=True),
                     split.y.pin_memory().to(device, non_blocking=True))

    test = move(dataset.test) if dataset.test is not None else None
    return dataclasses.replace(dataset, train=move(dataset.train), val=move(dataset.val), test=test)


def autocast(device: torch.device, precision: str) -> contextlib.AbstractContextManager[Any]:
    """`torch.autocast` for a mixed precision, nothing for fp32."""
    dtype = AUTOCAST_DTYPES.get(precision)
    if dtype is None:
        return contextlib.nullcontext()
    return torch.autocast(device.type, dtype=dtype)


def build_optimizer(params: Any, settings: Settings) -> torch.optim.Optimizer:
    """The optimizer a setting names (`docs/training.md` lists them)."""
    lr, decay, name = settings.learning_rate_init, settings.weight_decay, settings.optimizer
    if name in ("adam", "adamw"):
        kind = torch.optim.Adam if name == "adam" else torch.optim.AdamW
        return kind(params, lr=lr, weight_decay=decay)
    momentum = 0.0 if name == "sgd" else settings.momentum
    return torch.optim.SGD(params, lr=lr, momentum=momentum, weight_decay=decay,
                           nesterov=name == "nesterov" and momentum > 0)


@torch.inference_mode()
def accuracy(model: nn.Module, split: Split, batch_size: int = EVAL_BATCH, precision: str = "fp32") -> float:
    """Fraction of `split` the model classifies right (eval mode, no augmentation)."""
    was_training = model.training
    model.eval()
    correct = torch.zeros((), dtype=torch.int64, device=split.y.device)
    for start in range(0, len(split), batch_size):
        with autocast(split.y.device, precision):
            out = model(split.x[start : start + batch_size])
        correct += (out.argmax(dim=1) == split.y[start : start + batch_size]).sum()
    model.train(was_training)
    return correct.item() / max(1, len(split))


@torch.inference_mode()
def measure_latency(model: nn.Module, batch: torch.Tensor, precision: str = "fp32",
                    warmup: int = LATENCY_WARMUP, runs: int = LATENCY_RUNS) -> float:
    """Median milliseconds of one forward pass of `batch` in eval mode, after `warmup`
    untimed passes; on CUDA each pass is synchronised before and after, so the time is
    the kernels' and not only their launch."""
    was_training = model.training
    model.eval()
    device = batch.device
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    times = []
    for i in range(warmup + runs):
        sync()
        start = time.perf_counter()
        with autocast(device, precision):
            model(batch)
        sync()
        if i >= warmup:
            times.append(time.perf_counter() - start)
    model.train(was_training)
    return statistics.median(times) * 1000.0


def _measured(settings: Settings) -> set[str]:
    """What the objectives setting asks this evaluator to measure: `macs`, `latency`."""
    return {o.removeprefix("-") for o in settings.objectives or ()} & {"macs", "latency"}


def _reason(err: BaseException) -> str:
    """One line saying what went wrong, for a failed result."""
    if isinstance(err, DarchError):
        where = f"{err.span.where}: " if err.span is not None else ""
        return f"{where}{err.message}"
    text = str(err).strip().splitlines()
    if isinstance(err, torch.OutOfMemoryError):  # CUDA and other accelerators
        return f"out of memory: {text[0] if text else ''}"[:500]
    if "can't allocate memory" in str(err):  # the CPU allocator's RuntimeError
        tail = str(err).split("DefaultCPUAllocator: ")[-1].splitlines()[0]
        return f"out of memory: {tail}"[:500]
    return f"{type(err).__name__}: {text[0] if text else ''}"[:500]


def _quoted(value: Any) -> str:
    return f"`{value}`" if isinstance(value, str) else describe(value)


def _is_seed(value: Any) -> bool:
    """The seeds `--seed` takes (`check_seed`): an integer of at least 0."""
    try:
        check_seed(value)
    except DarchError:
        return False
    return True


_ARGUMENTS: dict[str, tuple[Callable[[Any], bool], str]] = {
    "dataset": (lambda v: isinstance(v, Dataset),
                "a Dataset (from darchlang.train.data.load_dataset, e.g. load_dataset(\"digits\"))"),
    "settings": (lambda v: v is None or isinstance(v, Settings | Mapping),
                 "None, a Settings or a mapping of setting names to values"),
    "overrides": (lambda v: v is None or isinstance(v, Mapping),
                  "None or a mapping of setting names to values"),
    "seed": (_is_seed, "an integer of at least 0 (as --seed: each seed gives the same run)"),
    "threads": (lambda v: v is None or isinstance(v, int) and not isinstance(v, bool) and v >= 1,
                "None or an integer of at least 1"),
    "model_path": (lambda v: v is None or isinstance(v, str | Path), "None, a str or a Path"),
    "augment": (lambda v: v is None or isinstance(v, Augment), "None or an Augment"),
    "build_model": (lambda v: v is None or callable(v),
                    "None or a function (architecture, input_shape, device) -> nn.Module"),
    "progress": (lambda v: v is None or isinstance(v, bool), "None, True or False"),
    "on_progress": (lambda v: v is None or callable(v), "None or a function of a ProgressEvent"),
    "raise_errors": (lambda v: isinstance(v, bool), "True or False"),
    "architecture": (lambda v: isinstance(v, Architecture),
                     "an Architecture, one point of a space: space.sample(seed) or "
                     "space.replay(decisions)"),
    "budget": (lambda v: v is None or isinstance(v, Budget), "None or a Budget"),
}
"""What each argument of `ClassifierEvaluator` (and of its `evaluate`) must be."""


def _check_arguments(call: str, **given: Any) -> None:
    """Refuse a wrong argument of `call` at once, in a DarchError naming it, as the
    command line refuses a wrong flag: it would otherwise fail inside torch at the
    first training (a float thread count), or not at all (a seed of -1 seeds as 1)."""
    for name, value in given.items():
        ok, expected = _ARGUMENTS[name]
        if not ok(value):
            raise DarchError(f"{call}({name}=...) must be {expected}, got {describe(value)}")


class ClassifierEvaluator:
    """Trains architectures as classifiers on one dataset and reports their accuracy.

    Settings resolve by name, lowest precedence first: `Settings()` defaults, then
    `settings` (the evaluator's defaults), then each architecture's `hyperparams`, then
    `overrides` (the command line's flags). The same `seed` gives the same numbers on
    CPU: it seeds the weights, dropout, the shuffles and the augmentation.

    `progress=None` shows a live bar only when stderr is a terminal; `on_progress`
    receives a `ProgressEvent` after each validation evaluation. `build_model` turns an
    architecture into a module (the PyTorch backend by default). With `raise_errors`,
    a model failure raises instead of becoming a failed result (for `--debug`).
    """

    def __init__(
        self,
        dataset: Dataset,
        settings: Settings | Mapping[str, Any] | None = None,
        *,
        overrides: Mapping[str, Any] | None = None,
        seed: int = 0,
        device: str | torch.device = "cpu",
        threads: int | None = None,
        model_path: str | Path | None = None,
        augment: Augment | None = None,
        build_model: ModelBuilder | None = None,
        progress: bool | None = None,
        on_progress: ProgressCallback | None = None,
        raise_errors: bool = False,
    ):
        _check_arguments("ClassifierEvaluator", dataset=dataset, settings=settings,
                         overrides=overrides, seed=seed, threads=threads, model_path=model_path,
                         augment=augment, build_model=build_model, progress=progress,
                         on_progress=on_progress, raise_errors=raise_errors)
        self.device = resolve_device(device, worker_index())
        if isinstance(settings, Settings):
            self.settings = settings
        else:
            self.settings = Settings().updated(settings or {}, "the evaluator's settings")
        self.overrides = dict(overrides or {})
        Settings().updated(self.overrides, "the command line")  # fail now, not per model
        self.dataset = to_device(dataset, self.device)
        self.augment = dataset.augment if augment is None else augment
        self.augment.check_shape(dataset.input_shape)
        self.seed = seed
        self.threads = threads
        self.model_path = Path(model_path) if model_path is not None else None
        self.build_model = build_model or compile_with_backend
        self.progress = progress
        self.on_progress = on_progress
        self.raise_errors = raise_errors

    @property
    def input_shape(self) -> tuple[int, ...]:
        return self.dataset.input_shape

    @staticmethod
    def warm_up() -> None:
        """Do once per process what the first training would do lazily, so no candidate
        is timed for it: building a torch optimizer imports torch._dynamo."""
        if not _WARM:
            build_optimizer([torch.zeros(1, requires_grad=True)], Settings())
            _WARM.append(True)

    @property
    def num_classes(self) -> int:
        return self.dataset.num_classes

    def settings_for(self, architecture: Architecture) -> Settings:
        """The settings one architecture trains with (raises `DarchError` on bad ones)."""
        origin = f"the `{architecture.hyperparams_name}` hyperparams block"
        settings = self.settings.updated(architecture.hyperparams, origin)
        return settings.updated(self.overrides, "the command line")

    def __call__(self, architecture: Architecture, **kwargs: Any) -> EvalResult:
        return self.evaluate(architecture, **kwargs)

    def evaluate(
        self,
        architecture: Architecture,
        *,
        seed: int | None = None,
        model_path: str | Path | None = None,
        budget: Budget | None = None,
    ) -> EvalResult:
        """Train and score one architecture; a model failure is a `failed` result.

        With a `budget` (one rung of a scheduled search) it trains to `budget.epochs`
        in total, continuing from the budget's checkpoint when there is one, reports
        each validation accuracy to it and saves its state for the next rung."""
        _check_arguments("evaluate", architecture=architecture,
                         **({} if seed is None else {"seed": seed}), model_path=model_path,
                         budget=budget)
        self.warm_up()
        started = time.monotonic()
        settings = self.settings_for(architecture)
        seed = self.seed if seed is None else seed
        path = Path(model_path) if model_path is not None else self.model_path
        try:
            identity = architecture.identity
        except (TypeError, ValueError):
            identity = ""
        run = _Run(self, architecture, settings, seed, started, budget)
        previous_threads = torch.get_num_threads()
        if self.threads is not None:
            torch.set_num_threads(self.threads)
        failure: str | None = None
        try:
            with self.fork_rng(), _cudnn_benchmark(self.device):
                torch.manual_seed(seed)
                with self._bar(architecture, settings) as bar:
                    run.bar = bar
                    run.train()
        except _CallbackError as err:
            raise err.__cause__ from None  # the caller's bug, not the model's
        except TrainingFailed as err:
            failure = str(err)
        except Exception as err:
            if self.raise_errors:
                raise
            failure = _reason(err)
        finally:
            torch.set_num_threads(previous_threads)
            if failure is not None:
                run.release()
        metrics = run.metrics()
        common = dict(identity=identity, settings=settings.to_json(), metrics=metrics)
        if failure is not None:
            return EvalResult.failed(failure, seconds=time.monotonic() - started, **common)
        if path is not None:
            run.save(path, architecture, settings)
        return EvalResult(
            status="ok", score=run.best_accuracy, seconds=time.monotonic() - started, **common
        )

    def fork_rng(self) -> contextlib.AbstractContextManager[Any]:
        """Torch's random state (and this device's), restored on leaving."""
        devices = [self.device] if self.device.type == "cuda" else []
        return torch.random.fork_rng(devices=devices, device_type=self.device.type)

    def _bar(self, architecture: Architecture, settings: Settings) -> Any:
        show = self.progress if self.progress is not None else sys.stderr.isatty()
        if not show:
            return contextlib.nullcontext()
        n = len(self.dataset.train)
        steps = max(1, n // min(settings.batch_size, n)) * settings.max_epochs
        name = architecture.identity[:8] if architecture.network is not None else "model"
        return ProgressBar(f"train {name} on {self.dataset.name}", steps)


@contextlib.contextmanager
def _cudnn_benchmark(device: torch.device) -> Iterator[None]:
    """cuDNN picks the fastest kernels for the (fixed) batch shape, on CUDA only."""
    previous = torch.backends.cudnn.benchmark
    torch.backends.cudnn.benchmark = previous or device.type == "cuda"
    try:
        yield
    finally:
        torch.backends.cudnn.benchmark = previous


class _Run:
    """The state of one training run; `metrics()` describes it however far it got."""

    def __init__(
        self,
        evaluator: ClassifierEvaluator,
        architecture: Architecture,
        settings: Settings,
        seed: int,
        started: float,
        budget: Budget | None = None,
    ):
        self.ev = evaluator
        self.budget = budget
        self.architecture = architecture
        self.settings = settings
        self.seed = seed
        self.started = started
        self.deadline = math.inf  # set when training starts: the budget counts training only
        self.bar: ProgressBar | None = None
        self.model: nn.Module | None = None
        self.optimizer: torch.optim.Optimizer | None = None
        self.parameters: int | None = None
        self.best_state: dict[str, torch.Tensor] | None = None
        self.best_accuracy: float | None = None
        self.best_epoch: int | None = None
        self.test_accuracy: float | None = None
        self.epochs = 0
        self.steps = 0
        self.train_loss: float | None = None
        self.learning_rate = settings.learning_rate_init
        self.stop_reason: str | None = None
        self.history: list[dict[str, float]] = []
        self.train_seconds = 0.0
        self.setup_seconds = 0.0
        self.train_start = started
        self.compiled: bool | None = None  # with the compile setting: whether it worked
        self.memory_format: str | None = None
        self.measured: dict[str, float] = {}  # macs, latency_ms: when objectives ask

    # -- the loop ------------------------------------------------------------------------------
    def train(self) -> None:
        ev, s = self.ev, self.settings
        data, device = ev.dataset, ev.device
        data.check_feeds(self.architecture)
        model = ev.build_model(self.architecture, data.input_shape, device)
        if not isinstance(model, nn.Module):
            raise TrainingFailed(f"the model builder returned a {type(model).__name__}, not a torch module")
        self.model = model.to(device).train()
        self.memory_format = getattr(model, "memory_format", "contiguous")
        self.parameters = sum(p.numel() for p in model.parameters())
        if "macs" in _measured(s):
            self._count_macs(model)
        trainable = [p for p in model.parameters() if p.requires_grad]
        if not trainable:
            raise TrainingFailed("the model has no trainable parameters")
        optimizer = self.optimizer = build_optimizer(trainable, s)
        schedule = Schedule(
            s.learning_rate_init,
            rate_patience=s.rate_patience,
            rate_mult=s.rate_mult,
            stop_patience=s.stop_patience,
            learning_rate_min=s.learning_rate_min,
            kind=s.schedule,
            max_epochs=s.max_epochs,
        )
        generator = torch.Generator(device=device)
        generator.manual_seed(self.seed)
        budget = self.budget
        last = s.max_epochs if budget is None else min(s.max_epochs, budget.epochs)
        first = 1
        state = budget.load() if budget is not None else None
        if state is not None:
            first = self._restore(state, schedule, generator) + 1
        x, y = data.train.x, data.train.y
        n = len(data.train)
        batch = min(s.batch_size, n)
        per_epoch = n // batch
        augment = ev.augment if ev.augment.active else None
        step_model = self._compile(model, x[:batch], y[:batch]) if s.compile else model
        precision = s.precision
        scaler = torch.amp.GradScaler(device.type) if precision == "fp16" else None
        bar = self.bar
        train_start = self.train_start = time.monotonic()
        self.setup_seconds = train_start - self.started
        deadline = self.deadline = train_start + s.time_minutes_max * 60.0

        for epoch in range(first, last + 1):
            rate = schedule.rate_for_epoch(epoch)
            if rate is not None:
                for group in optimizer.param_groups:
                    group["lr"] = rate
            order = torch.randperm(n, generator=generator, device=device)
            loss_sum = torch.zeros((), device=device)
            for i in range(per_epoch):
                index = order[i * batch : (i + 1) * batch]
                xb = x.index_select(0, index)
                yb = y.index_select(0, index)
                if augment is not None:
                    xb = augment(xb, generator)
                with autocast(device, precision):
                    out = step_model(xb)
                    if self.steps == 0:
                        self._check_output(out, batch)
                    loss = F.cross_entropy(out, yb, label_smoothing=s.label_smoothing)
                optimizer.zero_grad(set_to_none=True)
                if scaler is None:
                    loss.backward()
                    optimizer.step()
                else:  # fp16: scale the loss so small gradients do not flush to zero
                    scaler.scale(loss).backward()
                    scaler.step(optimizer)
                    scaler.update()
                loss_sum += loss.detach()
                self.steps += 1
                if bar is not None and self.steps % BAR_EVERY == 0:
                    bar.steps(self.steps)
                if self.steps % CHECK_EVERY == 0:
                    self._check_finite(loss_sum, epoch)
                if time.monotonic() > deadline:
                    break
            else:
                self.epochs = epoch
            self.train_seconds = time.monotonic() - train_start
            if time.monotonic() > deadline:
                self._out_of_time()
                return
            if epoch % s.eval_every and epoch != last:
                continue
            self.train_loss = self._check_finite(loss_sum / max(1, per_epoch), epoch)
            verdict = self._evaluate(schedule, epoch)
            if verdict.stop is not None:
                self.stop_reason = verdict.stop
                break
            if budget is not None and not budget.report(epoch, self.history[-1]["val_accuracy"]):
                self.stop_reason = SCHEDULER
                break
            if time.monotonic() > deadline:
                self._out_of_time()
                return
        else:
            self.stop_reason = MAX_EPOCHS if last == s.max_epochs else RUNG
            if budget is not None and last < s.max_epochs:
                budget.save(self._state(schedule, generator))
        self._finish()

    def _count_macs(self, model: nn.Module) -> None:
        from darchlang.backends.torch.compiler import CompiledModel
        from darchlang.backends.torch.summary import summarize

        if isinstance(model, CompiledModel):  # another builder's module has no plan
            self.measured["macs"] = summarize(model).total_macs

    def _compile(self, model: nn.Module, xb: torch.Tensor, yb: torch.Tensor) -> nn.Module:
        """`torch.compile(model)`, compiled now (setup) by one step on the first batch
        whose gradients are dropped; the eager model, with a warning, when it fails."""
        why = None
        if not hasattr(torch, "compile"):
            why = f"this torch ({torch.__version__}) has no torch.compile"
        else:
            try:
                compiled = torch.compile(model)
                with self.ev.fork_rng(), autocast(self.ev.device, self.settings.precision):
                    F.cross_entropy(compiled(xb), yb).backward()
            except Exception as err:  # noqa: BLE001 - any compiler failure means eager
                why = f"torch.compile failed: {_reason(err)}"
            finally:
                model.zero_grad(set_to_none=True)
        self.compiled = why is None
        if why is not None:
            print(f"warning: {why}; training without it", file=sys.stderr)
            return model
        return compiled

    def _state(self, schedule: Schedule, generator: torch.Generator) -> dict[str, Any]:
        """Everything the next rung needs to go on as if training had never paused."""
        assert self.model is not None and self.optimizer is not None
        return {
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "schedule": schedule.state(),
            "generator": generator.get_state(),
            "rng": torch.get_rng_state(),
            "best_state": self.best_state,
            "best_accuracy": self.best_accuracy,
            "best_epoch": self.best_epoch,
            "epochs": self.epochs,
            "steps": self.steps,
            "history": self.history,
            **self.measured,
        }

    def _restore(self, state: dict[str, Any], schedule: Schedule,
                 generator: torch.Generator) -> int:
        """Load a previous rung's state; the epochs it had trained."""
        assert self.model is not None and self.optimizer is not None
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        schedule.restore(state["schedule"])
        generator.set_state(state["generator"])
        torch.set_rng_state(state["rng"])
        self.best_state = state["best_state"]
        self.best_accuracy, self.best_epoch = state["best_accuracy"], state["best_epoch"]
        self.epochs, self.steps = state["epochs"], state["steps"]
        self.history = list(state["history"])
        self.learning_rate = float(self.optimizer.param_groups[0]["lr"])
        return int(state["epochs"])

    def _evaluate(self, schedule: Schedule, epoch: int) -> Any:
        model = self.model
        assert model is not None
        val = accuracy(model, self.ev.dataset.val, precision=self.settings.precision)
        verdict = schedule.observe(val)
        if verdict.improved:
            self.best_accuracy, self.best_epoch = val, epoch
            self.best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
        optimizer = self.optimizer
        assert optimizer is not None
        if verdict.rate_dropped:
            for group in optimizer.param_groups:
                group["lr"] = verdict.learning_rate
        self.learning_rate = float(optimizer.param_groups[0]["lr"])  # what the optimizer uses
        self.history.append(
            {"epoch": epoch, "train_loss": self.train_loss, "val_accuracy": val, "learning_rate": self.learning_rate}
        )
        now = time.monotonic()
        elapsed = now - self.started
        pace = (now - self.train_start) / epoch  # seconds per epoch, evaluations included
        time_left = min(self.deadline - now, pace * (self.settings.max_epochs - epoch))
        event = ProgressEvent(
            epoch=epoch,
            max_epochs=self.settings.max_epochs,
            steps=self.steps,
            train_loss=float(self.train_loss or 0.0),
            val_accuracy=val,
            best_val_accuracy=float(self.best_accuracy or 0.0),
            learning_rate=self.learning_rate,
            elapsed=elapsed,
            time_left=max(0.0, time_left),
            improved=verdict.improved,
        )
        if self.bar is not None:
            self.bar(event)
        if self.ev.on_progress is not None:
            try:
                self.ev.on_progress(event)
            except Exception as err:
                raise _CallbackError() from err
        return verdict

    def _check_output(self, out: Any, batch: int) -> None:
        want = (batch, self.ev.num_classes)
        if not isinstance(out, torch.Tensor) or tuple(out.shape) != want:
            got = f"shape {tuple(out.shape)}" if isinstance(out, torch.Tensor) else f"a {type(out).__name__}"
            raise TrainingFailed(
                f"the model's output has {got}; expected {want}: one score for each of the "
                f"{self.ev.num_classes} classes of `{self.ev.dataset.name}`"
            )

    def _check_finite(self, loss: torch.Tensor, epoch: int) -> float:
        value = loss.item()
        if not math.isfinite(value):
            raise TrainingFailed(f"training loss became {value} in epoch {epoch}")
        return value

    def _out_of_time(self) -> None:
        minutes = self.settings.time_minutes_max
        if self.best_state is None:
            raise TrainingFailed(
                f"time budget of {minutes:g} minutes spent before the first validation "
                f"(after {self.steps} steps)"
            )
        self.stop_reason = TIME_BUDGET
        self._finish()

    def _finish(self) -> None:
        """Back to the best weights; score them on the test split when there is one."""
        model = self.model
        assert model is not None and self.best_state is not None
        model.load_state_dict(self.best_state)
        if self.ev.dataset.test is not None:
            self.test_accuracy = accuracy(model, self.ev.dataset.test, precision=self.settings.precision)
        if "latency" in _measured(self.settings):
            val = self.ev.dataset.val
            self.measured["latency_ms"] = measure_latency(
                model, val.x[: min(self.settings.batch_size, len(val))], self.settings.precision)
        if self.bar is not None:
            self.bar.finish(self.steps, f"stopped by {self.stop_reason}")

    # -- after the loop ----------------------------------------------------------------------------
    def release(self) -> None:
        """Drop the model and optimizer (after a failure, e.g. so CUDA memory comes back)."""
        self.model = self.optimizer = None
        self.best_state = None
        if self.ev.device.type == "cuda":
            gc.collect()  # tensors held by the failed step's frames go first
            torch.cuda.empty_cache()

    def metrics(self) -> dict[str, Any]:
        return {
            "dataset": self.ev.dataset.name,
            "val_accuracy": self.best_accuracy,
            "test_accuracy": self.test_accuracy,
            "best_epoch": self.best_epoch,
            "epochs": self.epochs,
            "steps": self.steps,
            "stop_reason": self.stop_reason,
            "train_loss": self.train_loss,
            "learning_rate": self.learning_rate,
            "parameters": self.parameters,
            "setup_seconds": self.setup_seconds,
            "train_seconds": self.train_seconds,
            "precision": self.settings.precision,
            "memory_format": self.memory_format,
            "compiled": self.compiled,
            "seed": self.seed,
            "device": str(self.ev.device),
            "history": self.history,
            **self.measured,
        }

    def save(self, path: Path, architecture: Architecture, settings: Settings) -> None:
        """The best checkpoint with its architecture text and settings, loadable with
        `torch.load(path, weights_only=True)`."""
        assert self.best_state is not None
        payload = {
            "state_dict": {k: v.detach().cpu() for k, v in self.best_state.items()},
            "architecture": architecture.text,
            "identity": architecture.identity,
            "settings": settings.to_json(),
            "input_shape": list(self.ev.input_shape),
            "num_classes": self.ev.num_classes,
            "dataset": self.ev.dataset.name,
            "val_accuracy": self.best_accuracy,
            "test_accuracy": self.test_accuracy,
        }
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            with open(path, "wb") as file:  # an OSError, not torch's RuntimeError
                torch.save(payload, file)
        except OSError as err:
            raise DarchError(f"cannot write the model to {path}: {err.strerror or err}") from None
