"""The executors that ship with darchlang: a local process pool and Ray.

Both are `concurrent.futures.Executor`s, so the parallel runner treats them like any
other (Dask's, MPI's); they add what a search needs on top: one slot per evaluation,
knowing which evaluation a dead worker was running, and stopping every worker at once.

`LocalPool(workers)` runs each slot as its own one-process `ProcessPoolExecutor`.
Where the platform has it (Linux, macOS), workers are forked from a *forkserver*
that has imported torch, torch._dynamo and what the recipe's data needs once
(`start_workers_early` starts it while the driver is still planning): a worker is
ready in well under a second instead of importing everything again, and a slot
renewed after a death is as quick. The server never runs torch, so it forks from a
single thread. Elsewhere (Windows) workers are spawned. With one shared pool, a worker that dies breaks the whole pool
and every evaluation in it fails alike; with one pool per slot, only the evaluation
that was on the dead worker fails, its exit status says why, and the slot gets a
fresh process for the next one. A broken slot is revived at the next submit even
while other slots are healthy, so work never queues behind one worker (where the
next death would fail every evaluation queued there too).

`LocalPool.expire(limit)` is the hard time limit (`eval_timeout`): each slot's worker
notes when its evaluation started (a shared clock), and a worker past `limit`
seconds is killed; its evaluation fails with `EvaluationTimedOut` and the slot gets
a fresh process. It holds for any evaluator, even one stuck in native code.

`RayExecutor(address)` submits each evaluation as a Ray task with the resources one
evaluation needs (`cpus_per_eval`, `gpus_per_eval`); with no address and no running
Ray, it starts a local cluster and stops it at shutdown. Ray's own task retries are
off: the runner retries (`retries`) so the journal counts every attempt.
"""

from __future__ import annotations

import multiprocessing
import signal
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import BrokenExecutor, Executor, Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from typing import Any

from darchlang.errors import DarchError
from darchlang.search.workers import EvaluatorRecipe, prepare_worker

# What every worker imports; a recipe adds what its evaluator needs (`preload`).
PRELOAD = ("darchlang.search.workers",)


def worker_context(recipe: EvaluatorRecipe | None = None) -> Any:
    """How worker processes start: forked from a forkserver that preloads the heavy
    imports (where there is one), else spawned."""
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")
    context = multiprocessing.get_context("forkserver")
    # Only the server's first start reads it; `start_workers_early` may have set it.
    context.set_forkserver_preload([*PRELOAD, *(recipe.preload() if recipe else ())])
    return context


def start_workers_early(recipe: EvaluatorRecipe | None = None) -> None:
    """Start the forkserver now, so that its imports (seconds: torch, the data's
    library) run while this process loads the program and plans; the pool's workers
    are then forked from it at once. Nothing to do where workers are spawned."""
    context = worker_context(recipe)
    if context.get_start_method() == "forkserver":
        from multiprocessing import forkserver

        with _children_deaf_to_ctrl_c():
            forkserver.ensure_running()


@contextmanager
def _children_deaf_to_ctrl_c() -> Iterator[None]:
    """Start processes with SIGINT blocked: a terminal's Ctrl-C goes to the whole
    process group, and a worker (or the forkserver) still starting would die of it
    with a traceback before it can ignore it. A blocked signal is inherited as blocked
    through fork and exec; here it only waits, and arrives when unblocked."""
    if not hasattr(signal, "pthread_sigmask"):  # Windows: no process groups' Ctrl-C
        yield
        return
    from multiprocessing import resource_tracker

    # The tracker guards its own start, then unblocks SIGINT: start it first.
    resource_tracker.ensure_running()
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


class WorkerDied(BrokenExecutor):
    """The worker process running an evaluation died (killed, crashed interpreter)."""


class EvaluationTimedOut(Exception):
    """An evaluation ran past the hard time limit; its worker was killed."""


class LocalPool(Executor):
    """`workers` processes on this machine, one evaluation each at a time.

    `recipe` is built in each worker as it starts (so a dataset is loaded once per
    worker) and `threads` is each worker's torch thread count.
    """

    def __init__(self, workers: int, recipe: EvaluatorRecipe | None = None, threads: int | None = 1):
        if workers < 1:
            raise DarchError(f"--workers must be at least 1, got {workers}")
        self.workers = workers
        self._recipe, self._threads = recipe, threads
        self._context = worker_context(recipe)
        self._lock = threading.Lock()
        self._slots: list[ProcessPoolExecutor | None] = [None] * workers
        self._busy = [0] * workers
        self._broken: set[int] = set()
        self._retired: list[ProcessPoolExecutor] = []
        # When each slot's evaluation started (0: idle), written by its worker.
        self._clocks = [self._context.Value("d", 0.0, lock=False) for _ in range(workers)]
        self._overdue: dict[int, float] = {}  # id(pool) -> the limit it was killed at
        self._closed = False
        for slot in range(workers):  # start every worker now, side by side
            self._pool(slot)

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future:
        with self._lock:
            if self._closed:
                raise RuntimeError("cannot submit to a LocalPool that was shut down")
            slot = min(range(self.workers), key=lambda i: self._busy[i])
            pool = self._pool(slot)
            self._busy[slot] += 1
        outer: Future = Future()
        outer.set_running_or_notify_cancel()
        inner = pool.submit(fn, *args, **kwargs)
        inner.add_done_callback(lambda done: self._landed(slot, pool, done, outer))
        return outer

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        with self._lock:
            self._closed = True
            pools = [p for p in self._slots if p is not None] + self._retired
        for pool in pools:
            pool.shutdown(wait=wait, cancel_futures=cancel_futures)

    def kill(self) -> None:
        """Stop every worker at once (Ctrl-C), running evaluations included, and wait
        for them to be gone; the pool cannot be used afterwards."""
        with self._lock:
            self._closed = True
            pools = [p for p in self._slots if p is not None] + self._retired
        for pool in pools:
            _kill_workers(pool)
        for pool in pools:
            pool.shutdown(wait=True, cancel_futures=True)

    def expire(self, limit: float) -> None:
        """Kill every worker whose evaluation has run for more than `limit` seconds;
        those evaluations fail with `EvaluationTimedOut`."""
        now = time.time()
        with self._lock:
            late = [(slot, pool) for slot, pool in enumerate(self._slots)
                    if pool is not None and id(pool) not in self._overdue
                    and 0 < self._clocks[slot].value < now - limit]
            for _, pool in late:
                self._overdue[id(pool)] = limit
        for _, pool in late:
            _kill_workers(pool)

    def _pool(self, slot: int) -> ProcessPoolExecutor:
        # Called with the lock held. A broken slot gets a fresh process.
        pool = self._slots[slot]
        if pool is not None and slot not in self._broken:
            return pool
        if pool is not None:
            # Not waiting: its manager thread may be about to call `_landed`, which
            # needs the lock held here. `shutdown` and `kill` join it later.
            pool.shutdown(wait=False)
            self._retired.append(pool)
        self._broken.discard(slot)
        self._clocks[slot].value = 0.0
        with _children_deaf_to_ctrl_c():
            pool = ProcessPoolExecutor(1, mp_context=self._context, initializer=prepare_worker,
                                       initargs=(self._recipe, self._threads, self._clocks[slot]))
            pool.submit(int)  # start the process now, not at the first evaluation
        self._slots[slot] = pool
        return pool

    def _landed(self, slot: int, pool: ProcessPoolExecutor, inner: Future, outer: Future) -> None:
        with self._lock:
            self._busy[slot] -= 1
            if inner.cancelled():
                outer.cancel()
                return
            error = inner.exception()
            limit = self._overdue.pop(id(pool), None) if error is not None else None
            if isinstance(error, BrokenProcessPool):
                if self._slots[slot] is pool:
                    self._broken.add(slot)
                error = EvaluationTimedOut(f"the evaluation took longer than {limit:g} s "
                                           "(the hard time limit); its worker was stopped") \
                    if limit is not None else WorkerDied(f"the worker process {_exit_status(pool)}")
        if error is not None:
            outer.set_exception(error)
        else:
            outer.set_result(inner.result())


def _workers_of(pool: ProcessPoolExecutor) -> list[Any]:
    # The standard library gives no public handle on a pool's processes before
    # Python 3.14 (`kill_workers`); `_processes` has held them since 3.2.
    return list((getattr(pool, "_processes", None) or {}).values())


def _kill_workers(pool: ProcessPoolExecutor) -> None:
    kill = getattr(pool, "kill_workers", None)
    if callable(kill):
        kill()
        return
    for process in _workers_of(pool):
        if process.exitcode is None:
            process.kill()


def _exit_status(pool: ProcessPoolExecutor) -> str:
    """How the dead worker ended, in words (its exit code or the signal that killed it)."""
    for process in _workers_of(pool):
        # The pool notices a death when the process's pipes close, a moment before
        # the process can be reaped; its only process is the dead one, so wait.
        process.join(timeout=2)
        code = process.exitcode
        if code is None or code == 0:
            continue
        if code < 0:
            try:
                return f"was killed by {signal.Signals(-code).name}"
            except ValueError:
                return f"was killed by signal {-code}"
        return f"exited with code {code}"
    return "died"


class RayExecutor(Executor):
    """Evaluations as Ray tasks, `cpus_per_eval` CPUs and `gpus_per_eval` GPUs each.

    `address` is a running cluster (`auto`, `HOST:PORT`, `ray://...`); with None, an
    already initialised Ray is used as it is, else a local cluster is started (with
    `num_cpus` CPUs, default all) and stopped again by `shutdown`.
    """

    def __init__(self, address: str | None = None, *, cpus_per_eval: float = 1,
                 gpus_per_eval: float = 0, num_cpus: int | None = None):
        try:
            import ray
        except ImportError:
            raise DarchError("the Ray executor needs Ray",
                             help='pip install "darchlang[ray]"') from None
        if cpus_per_eval < 0 or gpus_per_eval < 0:
            raise DarchError("--cpus-per-eval and --gpus-per-eval must be at least 0")
        self._ray = ray
        self.cpus_per_eval, self.gpus_per_eval = cpus_per_eval, gpus_per_eval
        self._owns = not ray.is_initialized()
        if self._owns:
            options: dict[str, Any] = {"include_dashboard": False, "logging_level": "warning"}
            if address is None and num_cpus is not None:
                options["num_cpus"] = num_cpus
            ray.init(address=address, **options)
        self._task = ray.remote(_call).options(num_cpus=cpus_per_eval, num_gpus=gpus_per_eval,
                                               max_retries=0)
        self._lock = threading.Lock()
        self._refs: dict[int, Any] = {}

    @property
    def workers(self) -> int:
        """How many evaluations the cluster can run at once with these resources."""
        have = self._ray.cluster_resources()
        slots = []
        if self.cpus_per_eval:
            slots.append(int(have.get("CPU", 0) // self.cpus_per_eval))
        if self.gpus_per_eval:
            slots.append(int(have.get("GPU", 0) // self.gpus_per_eval))
        return max(1, min(slots)) if slots else 1

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future:
        ref = self._task.remote(fn, args, kwargs)
        future = ref.future()
        key = id(future)
        with self._lock:
            self._refs[key] = ref
        future.add_done_callback(lambda _: self._forget(key))
        return future

    def kill(self) -> None:
        """Stop every running evaluation (Ctrl-C), then shut down."""
        with self._lock:
            refs = list(self._refs.values())
        for ref in refs:
            try:
                self._ray.cancel(ref, force=True)
            except Exception:  # noqa: BLE001 - it may have finished meanwhile
                pass
        self.shutdown(wait=False)

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        if self._owns and self._ray.is_initialized():
            self._ray.shutdown()

    def _forget(self, key: int) -> None:
        with self._lock:
            self._refs.pop(key, None)


def _call(fn: Callable[..., Any], args: tuple, kwargs: dict[str, Any]) -> Any:
    """The Ray task: call `fn` (a module-level function, pickled by reference)."""
    return fn(*args, **kwargs)
