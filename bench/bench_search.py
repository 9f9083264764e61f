"""Search benchmarks: journal throughput, and every searcher's best score vs budget.

1. **Journal throughput.** A random search with an evaluator that returns at once,
   recorded in a SQLite journal on disk: evaluations per second, end to end (asking,
   building and printing each architecture, two transactions per evaluation).
   Target: >= 500/s. The same number of trials through Optuna's own SQLite storage
   (`optuna.create_study(storage="sqlite:///...")`, RandomSampler, the same choices as
   flat categorical parameters) is the baseline, at the same durability (both in WAL
   mode with `synchronous=NORMAL`), the sides interleaved round by round.

2. **Searchers on synthetic objectives.** NK landscapes (`darchlang.search.synthetic`;
   k is the number of neighbours each choice's contribution depends on) over three
   spaces: the 27-million-architecture conditional space of the tests, the DeepArchitect
   "complex" CIFAR-10 space (41 choices, 2.8e11 architectures) and NAS-Bench-201
   (6 choices, 15,625). For each searcher, the median over seeds of the best score
   after 25, 50, 100 and 200 evaluations (scores in [0, 1]; higher is better).

3. **Searcher speed.** The `tpe` searcher against Optuna's own TPE loop on the same
   space (the objective walks the space with `trial.suggest_categorical`, as darchlang
   does), interleaved seed by seed: trials per wall and per CPU second, target >= 1.0x
   on the conditional space of the tests, and the same on NAS-Bench-201, where no
   choice is conditional. And the time of one `smbo` ask once 100 results are in
   (target <= 20 ms), beside `tpe`'s.

4. **Digits** (`--digits`): each searcher trains real models (3 epochs each) on the
   built-in digits data, 30 evaluations, 5 seeds; median best validation accuracy.

    python bench/bench_search.py              # a few minutes on one core
    python bench/bench_search.py --quick      # fewer seeds and evaluations
    python bench/bench_search.py --digits     # also real training (minutes more)
    python bench/bench_search.py --only digits
    python bench/bench_search.py --only speed     # tpe vs Optuna, smbo per ask
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from search_spaces import MEDIUM  # noqa: E402

import darchlang  # noqa: E402
from darchlang.search import make_searcher, run_search, searcher_names  # noqa: E402
from darchlang.search.synthetic import NKObjective  # noqa: E402

DIGITS_SPACE = """
param num_classes = 10

space = concat [
    conv2d(filters: one_of(8, 16, 32), size: one_of(1, 3, 5)),
    one_of(relu(), tanh()),
    optional(max_pool2d(size: 2, stride: 2)),
    optional(concat [conv2d(filters: one_of(16, 32), size: 3), relu()]),
    optional(dropout(keep: one_of(0.5, 0.8))),
    affine(units: num_classes),
]

train = hyperparams {
    learning_rate_init: one_of(0.00001, 0.0001, 0.001, 0.01),
}
"""


def _optuna_wal_normal() -> None:
    """Every SQLAlchemy connection from now on runs SQLite in WAL mode with
    `synchronous=NORMAL`: the durability the journal has, so the two are compared like
    for like (Optuna's default is a rollback journal with `synchronous=FULL`)."""
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    @event.listens_for(Engine, "connect")
    def _pragmas(connection, _record) -> None:  # noqa: ANN001
        cursor = connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()


def journal_throughput(n: int, rounds: int) -> None:
    import optuna

    space = darchlang.load_string(MEDIUM).space
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    _optuna_wal_normal()
    choices = [(c.name, list(range(len(c.options)))) for c in space.choices]

    def objective(trial):
        for name, options in choices:
            trial.suggest_categorical(name, options)
        return 0.5

    def journal(tmp: Path) -> float:
        start = time.perf_counter()
        result = run_search(space, make_searcher("random", space, 0), lambda arch: 0.5, n,
                            tmp / "journal.db")
        assert result.done == n
        return n / (time.perf_counter() - start)

    def memory(tmp: Path) -> float:
        start = time.perf_counter()
        run_search(space, make_searcher("random", space, 0), lambda arch: 0.5, n, None)
        return n / (time.perf_counter() - start)

    def rdb(tmp: Path) -> float:
        study = optuna.create_study(storage=f"sqlite:///{tmp / 'optuna.db'}",
                                    sampler=optuna.samplers.RandomSampler(seed=0))
        storage = study._storage
        engine = getattr(storage, "engine", None) or storage._backend.engine  # cached or not
        with engine.connect() as conn:
            mode = conn.exec_driver_sql("PRAGMA journal_mode").scalar()
            sync = conn.exec_driver_sql("PRAGMA synchronous").scalar()
        assert (mode, sync) == ("wal", 1), (mode, sync)  # 1 is NORMAL
        start = time.perf_counter()
        study.optimize(objective, n_trials=n)
        return n / (time.perf_counter() - start)

    sides = {"journal": journal, "memory": memory, "optuna": rdb}
    rates: dict[str, list[float]] = {k: [] for k in sides}
    for r in range(rounds):  # interleaved: a, b, c, then c, b, a, ...
        for name in (list(sides) if r % 2 == 0 else list(sides)[::-1]):
            with tempfile.TemporaryDirectory() as tmp:
                rates[name].append(sides[name](Path(tmp)))
    ours, mem, theirs = (statistics.median(rates[k]) for k in ("journal", "memory", "optuna"))
    print(f"## journal throughput (instant evaluator, random searcher, 17-choice space, "
          f"{n} trials each, median of {rounds} interleaved rounds)\n")
    print("| what | evaluations/s |")
    print("| --- | ---: |")
    print(f"| darchlang journal, SQLite file, WAL, synchronous=NORMAL | {ours:,.0f} |")
    print(f"| darchlang, journal in memory | {mem:,.0f} |")
    print(f"| Optuna RDB storage, SQLite file, WAL, synchronous=NORMAL | {theirs:,.1f} |")
    print(f"\njournal on disk vs Optuna's SQLite storage at the same durability: "
          f"{ours / theirs:,.1f}x; target >= 500/s: {'met' if ours >= 500 else 'NOT met'}\n")


def searcher_speed(trials: int, seeds: int) -> None:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    medium = darchlang.load_string(MEDIUM).space
    nb201 = darchlang.load_file(ROOT / "stdlib" / "nasbench201.darch").space
    print(f"## searcher speed (NK k=1; {trials} trials per seed, {seeds} seeds)\n")
    print("| what | wall | CPU |")
    print("| --- | ---: | ---: |")
    _tpe_against_optuna(medium, f"{len(medium.choices)}-choice conditional space "
                        "(target >= 1.0x)", trials, seeds)
    # No conditional choice: every sample is joint, so what is left to compare is the
    # fixed cost of a candidate (its text, identity and journal row) beside one sample.
    _tpe_against_optuna(nb201, "NAS-Bench-201, 6 choices, none conditional", trials, seeds)
    for name in ("smbo", "tpe"):
        times = [t for seed in range(seeds) for t in _ask_ms(medium, name, seed, 100, 20)]
        wall, cpu = ([t[clock] for t in times] for clock in (0, 1))
        target = "; target <= 20 ms" if name == "smbo" else ""
        print(f"| {name}: ms per ask after 100 results, mean / median "
              f"({len(times)} asks{target}) | {statistics.mean(wall):.1f} / "
              f"{statistics.median(wall):.1f} | {statistics.mean(cpu):.1f} / "
              f"{statistics.median(cpu):.1f} |")
    print()


def _tpe_against_optuna(space, label: str, trials: int, seeds: int) -> None:
    """The `tpe` searcher's trials/s against Optuna's own TPE loop on `space` (the
    objective walks it with `trial.suggest_categorical`, as darchlang does).

    Interleaved, alternating which side goes first. Seed by seed the two walk
    different paths (their draws differ, and a path with more conditional choices
    takes more sampling calls), so the ratio of one seed says as much about the two
    paths as about the two loops: the number is the pooled ratio, all trials over all
    seconds on each side; the median of per-seed ratios is shown beside it. CPU time
    counts the work itself when the cores are shared."""
    import optuna

    def ours(seed: int) -> tuple[float, float]:
        objective = NKObjective(space, k=1, seed=seed)
        with _Clock() as clock:
            run_search(space, make_searcher("tpe", space, seed), objective, trials,
                       progress=False)
        return clock.rates(trials)

    def theirs(seed: int) -> tuple[float, float]:
        objective = NKObjective(space, k=1, seed=seed)
        study = optuna.create_study(direction="maximize", sampler=optuna.samplers.TPESampler(
            n_startup_trials=10, n_ei_candidates=24, multivariate=True, seed=seed))

        def optuna_objective(trial):
            return objective(space.walk(lambda c: trial.suggest_categorical(
                c.name, list(range(len(c.options))))))

        with _Clock() as clock:
            study.optimize(optuna_objective, n_trials=trials)
        return clock.rates(trials)

    # One untimed run a side first: the first search in a process also pays for imports
    # and first calls (the journal's tables, Optuna's TPE modules) that later ones do not.
    ours(seeds)
    theirs(seeds)
    rates = []
    for seed in range(seeds):
        if seed % 2 == 0:
            rates.append((ours(seed), theirs(seed)))
        else:
            mirrored = theirs(seed)
            rates.append((ours(seed), mirrored))
    for side, who in ((0, "darchlang tpe"), (1, "Optuna TPESampler + study.optimize")):
        wall, cpu = (statistics.median(r[side][clock] for r in rates) for clock in (0, 1))
        print(f"| {label}: {who}, trials/s (median of seeds) | {wall:.1f} | {cpu:.1f} |")

    def pooled(side: int, clock: int) -> float:  # trials per second over all seeds
        return len(rates) * trials / sum(trials / r[side][clock] for r in rates)

    wall, cpu = (pooled(0, clock) / pooled(1, clock) for clock in (0, 1))
    print(f"| {label}: ratio, pooled over seeds | **{wall:.2f}x** | **{cpu:.2f}x** |")
    wall, cpu = (statistics.median(r[0][clock] / r[1][clock] for r in rates) for clock in (0, 1))
    print(f"| {label}: ratio, median of per-seed ratios | {wall:.2f}x | {cpu:.2f}x |")


def _ask_ms(space, name: str, seed: int, after: int, asks: int) -> list[tuple[float, float]]:
    """Wall and CPU milliseconds of each of `asks` asks once `after` results are in."""
    from darchlang.search.session import SearchSession

    objective = NKObjective(space, k=1, seed=seed)
    # Repeats are answered from the journal and count too: room for them.
    session = SearchSession(space, make_searcher(name, space, seed), 10 * (after + asks))
    times = []
    while (candidate := session.next()) is not None:
        session.finish(candidate, _result(objective(candidate.arch)))
        if session.done >= after:
            break
    for _ in range(asks):
        with _Clock() as clock:
            candidate = session.next()
        times.append((clock.wall * 1000, clock.cpu * 1000))
        session.finish(candidate, _result(objective(candidate.arch)))
    return times


class _Clock:
    """Wall and CPU seconds of a `with` block (CPU: this process, user and system)."""

    def __enter__(self) -> _Clock:
        self.wall, self.cpu = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc: object) -> None:
        self.wall = time.perf_counter() - self.wall
        self.cpu = time.process_time() - self.cpu

    def rates(self, n: int) -> tuple[float, float]:
        """`n` things per wall second and per CPU second."""
        return n / self.wall, n / self.cpu


def _result(score: float):
    from darchlang.train.result import EvalResult

    return EvalResult("ok", score)


def median_table(marks: list[int], names: list[str], seeds: int,
                 run: Callable[[str, int], list[float | None]]) -> None:
    """One row per searcher: the median over seeds of the running best at each mark."""
    print("| searcher | " + " | ".join(f"{b} evals" for b in marks) + " | s/run |")
    print("| --- | " + " | ".join("---:" for _ in marks) + " | ---: |")
    for name in names:
        start = time.perf_counter()
        curves = [[b if b is not None else 0.0 for b in run(name, seed)] for seed in range(seeds)]
        per_run = (time.perf_counter() - start) / seeds
        cells = [f"{statistics.median(c[min(b, len(c)) - 1] for c in curves):.4f}" for b in marks]
        print(f"| {name} | " + " | ".join(cells) + f" | {per_run:.2f} |")
    print()


def searcher_table(title: str, program: str | Path, k: int, seeds: int, budgets: list[int],
                   names: list[str]) -> None:
    if isinstance(program, Path):
        space = darchlang.load_file(program).space
    else:
        space = darchlang.load_string(program).space
    print(f"## {title}: NK landscape k={k}, {space.count():,} architectures, "
          f"{len(space.choices)} choices; median best of {seeds} seeds\n")

    def run(name: str, seed: int) -> list[float | None]:
        objective = NKObjective(space, k=k, seed=10_000 + seed)
        return run_search(space, make_searcher(name, space, seed), objective,
                          max(budgets)).running_best()

    median_table(budgets, names, seeds, run)


def digits_table(seeds: int, budget: int, epochs: int, names: list[str]) -> None:
    from darchlang.train.data import load_dataset
    from darchlang.train.evaluator import ClassifierEvaluator

    space = darchlang.load_string(DIGITS_SPACE).space
    dataset = load_dataset("digits")
    evaluator = ClassifierEvaluator(dataset, overrides={"max_epochs": epochs}, seed=0,
                                    threads=1, progress=False)
    print(f"## digits: {space.count():,} architectures, {epochs} epochs each; median best "
          f"validation accuracy of {seeds} seeds\n")

    def run(name: str, seed: int) -> list[float | None]:
        return run_search(space, make_searcher(name, space, seed), evaluator,
                          budget).running_best()

    median_table(sorted({max(1, budget // 4), budget // 2, budget}), names, seeds, run)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer seeds and evaluations")
    parser.add_argument("--digits", action="store_true", help="also search on digits (slow)")
    parser.add_argument("--only", choices=["journal", "speed", "synthetic", "digits"],
                        help="run one part only")
    parser.add_argument("--searchers", help="comma-separated subset of searchers")
    args = parser.parse_args()
    names = args.searchers.split(",") if args.searchers else searcher_names()
    seeds = 5 if args.quick else 9
    budgets = [25, 50, 100] if args.quick else [25, 50, 100, 200]
    parts = {args.only} if args.only else {"journal", "speed", "synthetic"} | (
        {"digits"} if args.digits else set())

    if "journal" in parts:
        journal_throughput(200 if args.quick else 500, 3)
    if "speed" in parts:
        searcher_speed(100 if args.quick else 200, 3 if args.quick else 9)
    if "synthetic" in parts:
        searcher_table("conditional conv space (tests/search_spaces.py)", MEDIUM, 1, seeds,
                       budgets, names)
        searcher_table("conditional conv space, more interaction", MEDIUM, 2, seeds, budgets,
                       names)
        searcher_table("DeepArchitect complex space",
                       ROOT / "examples" / "cifar10_complex.darch", 1, seeds, budgets, names)
        searcher_table("NAS-Bench-201 space", ROOT / "examples" / "nasbench201.darch", 2, seeds,
                       budgets, names)
    if "digits" in parts:
        digits_table(2 if args.quick else 5, 12 if args.quick else 30, 3, names)


if __name__ == "__main__":
    main()
