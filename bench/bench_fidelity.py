"""Cheap evaluations: what schedulers save on real training, side by side in one run.

On the README's digits space and on the simple conv space of `bench_search.py`, both
trained on the built-in digits data:

1. **To full training's best.** Random search training each candidate `--max-epochs`
   for 30 evaluations finds a best validation accuracy; for each scheduler (random and
   tpe searchers, 30 candidates) the epochs and wall time it took to first reach that
   accuracy (or "not reached", with its best). Goal: at most a third of the epochs.
2. **At equal wall time.** Each strategy gets the wall time full training took; its
   best accuracy then, against Optuna's TPE with its HyperbandPruner driving the same
   `ClassifierEvaluator` (through a `Budget` whose reports go to the trial).

    python bench/bench_fidelity.py            # several minutes on one core
    python bench/bench_fidelity.py --quick    # fewer epochs and evaluations
    python bench/bench_fidelity.py --space simple
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bench_search import DIGITS_SPACE  # noqa: E402

import darchlang  # noqa: E402
from darchlang.search import Journal, make_searcher, run_search  # noqa: E402
from darchlang.search.schedulers import make_scheduler  # noqa: E402
from darchlang.train.budget import Budget  # noqa: E402


class OutOfTime(Exception):
    """Raised from the progress callback once a strategy's wall time is spent."""


@dataclass
class Outcome:
    curve: list[tuple[float, int, float]]  # (seconds, epochs so far, best so far)

    def reach(self, target: float) -> tuple[int, float] | None:
        for seconds, epochs, best in self.curve:
            if best >= target - 1e-12:
                return epochs, seconds
        return None

    def best_within(self, seconds: float) -> float:
        inside = [b for s, _, b in self.curve if s <= seconds]
        return max(inside) if inside else 0.0


def ours(space, evaluator, searcher: str, scheduler: str, budget: int, epochs: int,
         seconds: float | None, seed: int) -> Outcome:
    start = time.perf_counter()
    curve: list[tuple[float, int, float]] = []
    spent = [0]

    def progress(event) -> None:
        if event.kind == "finished" and event.evaluation.reused is None:
            spent[0] += event.evaluation.metrics.get("epochs") or 0
            best = event.best.score if event.best is not None else 0.0
            curve.append((time.perf_counter() - start, spent[0], best))
        if seconds is not None and time.perf_counter() - start > seconds:
            raise OutOfTime

    with tempfile.TemporaryDirectory() as tmp:
        sched = None if scheduler == "none" else make_scheduler(
            scheduler, min_epochs=1, max_epochs=epochs, eta=3)
        try:
            run_search(space, make_searcher(searcher, space, seed), evaluator, budget,
                       Path(tmp) / "j.db", scheduler=sched, progress=progress)
        except OutOfTime:
            Journal(Path(tmp) / "j.db").close()
    return Outcome(curve)


def optuna_hyperband(space, evaluator, epochs: int, seconds: float, seed: int) -> Outcome:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(direction="maximize",
                                sampler=optuna.samplers.TPESampler(seed=seed),
                                pruner=optuna.pruners.HyperbandPruner(
                                    min_resource=1, max_resource=epochs, reduction_factor=3))
    start = time.perf_counter()
    curve: list[tuple[float, int, float]] = []
    spent, best = [0], [0.0]

    class TrialBudget(Budget):
        trial = None

        def report(self, step: int, value: float) -> bool:
            super().report(step, value)
            self.trial.report(value, step)
            return not self.trial.should_prune()

    def objective(trial) -> float:
        arch = space.walk(lambda c: trial.suggest_categorical(
            c.name, list(range(len(c.options)))))
        budget = TrialBudget(epochs)
        budget.trial = trial
        result = evaluator.evaluate(arch, budget=budget)
        spent[0] += len(budget.curve)
        score = result.score if result.ok else 0.0
        best[0] = max(best[0], score)
        curve.append((time.perf_counter() - start, spent[0], best[0]))
        if budget.curve and budget.curve[-1][0] < epochs and result.metrics.get(
                "stop_reason") not in ("stop_patience", "learning_rate_min"):
            raise optuna.TrialPruned
        return score

    study.optimize(objective, timeout=seconds)
    return Outcome(curve)


def table(title: str, program: str, epochs: int, budget: int, seed: int) -> None:
    from darchlang.train.data import load_dataset
    from darchlang.train.evaluator import ClassifierEvaluator

    space = darchlang.load_string(program).space
    evaluator = ClassifierEvaluator(load_dataset("digits"),
                                    overrides={"max_epochs": epochs, "stop_patience": 100},
                                    seed=0, threads=1, progress=False)
    full = ours(space, evaluator, "random", "none", budget, epochs, None, seed)
    target, wall = full.curve[-1][2], full.curve[-1][0]
    full_epochs = full.curve[-1][1]
    rows = [("random, full training", full)]
    for searcher in ("random", "tpe"):
        for scheduler in ("median", "hyperband", "asha"):
            rows.append((f"{searcher} + {scheduler}", ours(space, evaluator, searcher, scheduler,
                                                           budget, epochs, None, seed)))
    timed = [(name, ours(space, evaluator, s, sch, 10 * budget, epochs, wall, seed))
             for name, s, sch in (("random + hyperband", "random", "hyperband"),
                                  ("random + asha", "random", "asha"),
                                  ("tpe + hyperband", "tpe", "hyperband"),
                                  ("tpe + asha", "tpe", "asha"))]
    timed.append(("Optuna TPE + HyperbandPruner", optuna_hyperband(space, evaluator, epochs,
                                                                   wall, seed)))
    print(f"## {title}: {space.count():,} architectures, up to {epochs} epochs, "
          f"{budget} evaluations\n")
    print(f"full training's best: {target:.4f} after {full_epochs} epochs, {wall:.1f} s\n")
    print("| strategy | best | epochs to reach full's best | share of full's epochs | "
          "wall s to reach |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for name, outcome in rows:
        hit = outcome.reach(target)
        best = outcome.curve[-1][2] if outcome.curve else 0.0
        if hit is None:
            print(f"| {name} | {best:.4f} | not reached ({outcome.curve[-1][1]} in all) | - | - |")
        else:
            print(f"| {name} | {best:.4f} | {hit[0]} | {hit[0] / full_epochs:.2f} | "
                  f"{hit[1]:.1f} |")
    print(f"\nat equal wall time ({wall:.1f} s):\n")
    print("| strategy | best accuracy | epochs trained |")
    print("| --- | ---: | ---: |")
    print(f"| random, full training | {target:.4f} | {full_epochs} |")
    for name, outcome in timed:
        spent = max((e for s, e, _ in outcome.curve if s <= wall), default=0)
        print(f"| {name} | {outcome.best_within(wall):.4f} | {spent} |")
    print()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer epochs and evaluations")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--space", choices=["readme", "simple"], help="one space only")
    args = parser.parse_args()
    epochs, budget = (9, 12) if args.quick else (9, 30)
    if args.space in (None, "readme"):
        table("README digits space", (ROOT / "examples" / "digits.darch").read_text(), epochs,
              budget, args.seed)
    if args.space in (None, "simple"):
        table("simple conv space (bench_search.py) on digits", DIGITS_SPACE, epochs, budget,
              args.seed)


if __name__ == "__main__":
    main()
