"""Searchers, the journal and the runner: pick architectures, evaluate them, keep a record.

    from darchlang.search import make_searcher, run_search
    searcher = make_searcher("evolution", space, seed=0)
    result = run_search(space, searcher, evaluate, budget=100, journal="runs/exp.db")
    print(result.best.score, result.best.text)

Every searcher implements one ask/tell interface (`Searcher`), works on decision
sequences and choice names only (so any searcher fits any space), and is
reproducible from its seed; `run_search` alone drives it, one evaluation at a time or,
with `workers=N` or an `executor` (`LocalPool`, `RayExecutor`, any
`concurrent.futures.Executor`), several at once in worker processes.
"""

from darchlang.search.base import (
    Candidate,
    Searcher,
    make_searcher,
    mutate,
    score_of,
    searcher_class,
    searcher_names,
    searcher_options,
)
from darchlang.search.executors import LocalPool, RayExecutor, WorkerDied
from darchlang.search.fingerprint import space_fingerprint
from darchlang.search.journal import Evaluation, Journal
from darchlang.search.results import (
    SearchResult,
    choice_stats,
    report_json,
    running_best,
    summary,
    top,
    write_csv,
)
from darchlang.search.runner import run_search
from darchlang.search.session import SearchEvent, SearchSession
from darchlang.search.workers import ClassifierRecipe, EvaluatorRecipe, ImportedEvaluator, Shipped

__all__ = [
    "Candidate",
    "ClassifierRecipe",
    "Evaluation",
    "EvaluatorRecipe",
    "ImportedEvaluator",
    "Journal",
    "LocalPool",
    "RayExecutor",
    "SearchEvent",
    "SearchResult",
    "SearchSession",
    "Searcher",
    "Shipped",
    "WorkerDied",
    "choice_stats",
    "make_searcher",
    "mutate",
    "plot",
    "report_json",
    "run_search",
    "running_best",
    "score_of",
    "searcher_class",
    "searcher_names",
    "searcher_options",
    "space_fingerprint",
    "summary",
    "top",
    "write_csv",
]
