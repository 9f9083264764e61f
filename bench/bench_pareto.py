"""Several objectives: how much of the Pareto front each searcher finds, side by side.

The problem is a bi-objective NK landscape (an "MNK landscape", Aguirre and Tanaka,
2007) on DeepArchitect's complex CIFAR-10 space: `accuracy` is one NK landscape of the
decisions, maximised, and `params` another one (another seed, scaled to a count),
minimised, so the two pull apart and the answer is a front. For each searcher, the
hypervolume its front dominates (in the unit square of (accuracy, 1 - params / scale),
reference point (0, 0)) after 50 and all evaluations, the median over seeds, and that
median as a ratio of random search's in the same run. "one" rows follow the accuracy
alone (the searcher's single-objective form), the others both objectives.

    python bench/bench_pareto.py              # about a minute on one core
    python bench/bench_pareto.py --seeds 3 --budget 100
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import darchlang  # noqa: E402
from darchlang.search import make_searcher, run_search  # noqa: E402
from darchlang.search.objectives import Objectives  # noqa: E402
from darchlang.search.pareto import first_front  # noqa: E402
from darchlang.search.synthetic import NKObjective  # noqa: E402
from darchlang.train.result import EvalResult  # noqa: E402

SCALE = 1_000_000  # the `params` landscape in [0, 1], as a parameter count
TWO = Objectives.parse(["accuracy", "-params"])
ONE = Objectives()
RUNS = [("random", TWO, {}), ("evolution", ONE, {}), ("evolution", TWO, {}),
        ("tpe", ONE, {}), ("tpe", TWO, {})]


def evaluator(space, seed):
    accuracy = NKObjective(space, k=1, seed=2 * seed)
    cost = NKObjective(space, k=1, seed=2 * seed + 1)
    return lambda arch: EvalResult("ok", accuracy(arch),
                                   metrics={"params": round(cost(arch) * SCALE)})


def hypervolume(evaluations) -> float:
    """The area that the front of (accuracy, 1 - params / SCALE) dominates over (0, 0)."""
    points = [(v[0], 1.0 + v[1] / SCALE) for e in evaluations
              if (v := TWO.oriented(e)) is not None]
    front = sorted((points[i] for i in first_front(points)), key=lambda p: -p[0])
    area, height = 0.0, 0.0
    for x, y in front:  # x falls, y rises along the front
        area += x * (y - height) if y > height else 0.0
        height = max(height, y)
    return area


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--budget", type=int, default=150)
    args = parser.parse_args()
    space = darchlang.load_file(str(ROOT / "examples" / "cifar10_complex.darch")).space
    early = min(50, args.budget)
    table: dict[str, list[tuple[float, float, float]]] = {}
    for seed in range(args.seeds):  # interleaved: every searcher for a seed, then the next
        for name, objectives, options in RUNS:
            label = f"{name} ({'both' if objectives.several else 'one'})"
            start = time.perf_counter()
            searcher = make_searcher(name, space, seed, objectives=objectives, **options)
            result = run_search(space, searcher, evaluator(space, seed), args.budget,
                                progress=False)
            seconds = time.perf_counter() - start
            table.setdefault(label, []).append(
                (hypervolume(result.evaluations[:early]), hypervolume(result.evaluations),
                 seconds))
    base = statistics.median(r[1] for r in table["random (both)"])
    print(f"bi-objective NK landscape (k=1) on cifar10_complex, {args.seeds} seeds, "
          f"median hypervolume")
    print(f"| searcher | after {early} | after {args.budget} | vs random | s/run |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for label, rows in table.items():
        at_end = statistics.median(r[1] for r in rows)
        print(f"| {label} | {statistics.median(r[0] for r in rows):.4f} | {at_end:.4f} | "
              f"{at_end / base:.3f} | {statistics.median(r[2] for r in rows):.2f} |")


if __name__ == "__main__":
    main()
