"""Parallel search throughput: evaluations per minute with 1 and 2 workers, and on Ray.

The same random search (seed 0, `--evals` evaluations) on the 27-million-architecture
space of the tests, with an evaluator of fixed cost:

- **sleep**: `time.sleep(COST)`, a stand-in for waiting on a GPU or a remote service;
- **cpu**: a pure-Python busy loop of about COST seconds on one core, a stand-in for
  CPU training (each worker is one core's worth of work).

Executors are started and warmed up before the clock starts (worker start-up is a
one-off cost, not throughput). Target: ratio to 1 worker >= 0.9 x workers, as far as
the machine's cores allow (the cpu row cannot pass 2 on 2 cores, nor can Ray's, whose
own processes share those cores).

    python bench/bench_parallel.py              # about a minute on 2 cores
    python bench/bench_parallel.py --no-ray     # without the Ray rows
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

COST = 0.2


class Sleep:
    """Waits COST seconds: the worker is idle, as when a GPU does the work."""

    def __call__(self, arch) -> float:
        time.sleep(COST)
        return len(arch.decisions) / 100


class Spin:
    """Keeps one core busy for `loops` iterations (about COST seconds)."""

    def __init__(self, loops: int):
        self.loops = loops

    def __call__(self, arch) -> float:
        total = 0
        for i in range(self.loops):
            total += i * i % 7
        return (total % 100) / 100


def calibrate() -> int:
    """Loops of `Spin` that take COST seconds on this machine."""
    start = time.perf_counter()
    Spin(2_000_000)(_Nothing())
    per_loop = (time.perf_counter() - start) / 2_000_000
    return int(COST / per_loop)


class _Nothing:
    decisions: list[int] = []


def run(space, evaluator, evals: int, executor=None) -> float:
    from darchlang.search import make_searcher, run_search

    searcher = make_searcher("random", space, seed=0)
    start = time.perf_counter()
    result = run_search(space, searcher, evaluator, budget=evals, executor=executor)
    seconds = time.perf_counter() - start
    assert result.done == evals and result.failed == 0, [e.reason for e in result.evaluations]
    return evals / seconds * 60


def warm(executor, slots: int) -> None:
    for future in [executor.submit(time.sleep, 0.3) for _ in range(slots)]:
        future.result()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--evals", type=int, default=20)
    parser.add_argument("--no-ray", action="store_true")
    args = parser.parse_args()

    from search_spaces import MEDIUM

    import darchlang
    from darchlang.search import LocalPool, RayExecutor, Shipped

    space = darchlang.load_string(MEDIUM).space
    evaluators = {"sleep": Sleep(), "cpu": Spin(calibrate())}
    rows = []
    for kind, evaluator in evaluators.items():
        base = run(space, evaluator, args.evals)
        rows.append((kind, "1 worker (in process)", 1, base, 1.0))
        with LocalPool(2, Shipped(evaluator)) as pool:
            warm(pool, 2)
            rate = run(space, evaluator, args.evals, pool)
        rows.append((kind, "local pool, 2 workers", 2, rate, rate / base))
    if not args.no_ray:
        import ray

        ray.init(num_cpus=2, include_dashboard=False, logging_level="warning")
        try:
            executor = RayExecutor(cpus_per_eval=1)
            warm(executor, 2)
            for kind, evaluator in evaluators.items():
                base = rows[[r[0] for r in rows].index(kind)][3]
                rate = run(space, evaluator, args.evals, executor)
                rows.append((kind, "Ray, 2 CPUs", 2, rate, rate / base))
        finally:
            ray.shutdown()

    print(f"random search, {args.evals} evaluations of {COST:.1f} s each, "
          f"{os.cpu_count()} cores")
    print(f"{'cost':<6} {'executor':<24} {'workers':>7} {'evals/min':>10} {'x 1 worker':>11} "
          f"{'target':>7}")
    for kind, name, workers, rate, ratio in rows:
        target = 0.9 * workers
        mark = "ok" if ratio >= target else "below"
        print(f"{kind:<6} {name:<24} {workers:>7} {rate:>10.1f} {ratio:>11.2f} "
              f"{target:>6.1f} {mark if workers > 1 else ''}")


if __name__ == "__main__":
    main()
