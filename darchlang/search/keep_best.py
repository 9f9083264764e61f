"""Keeping the trained weights of a search's K best architectures (`--keep-best K`).

The evaluator saves each architecture's checkpoint as `<identity>.pt` in the folder
beside the journal (`runs/x.db.best/`), with a small `<identity>.json` holding its
score (and, when the search has other objectives, their oriented values); after each
save the folder is cut back to the K best, ranked as `darch export --rank` ranks
them (with several objectives: the Pareto front first, along the first objective). Each worker does
this for the evaluations it runs, reading the scores from the folder itself, so a
parallel search needs no coordination: every worker computes the same K best from the
same files. A checkpoint is written to a temporary name and renamed, so a reader (or
a kill) never sees half a file. `darch export` takes the weights from here.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from darchlang.arch.graph import Architecture
from darchlang.search.objectives import Objectives
from darchlang.search.pareto import fronts
from darchlang.search.workers import EvaluatorRecipe
from darchlang.train.budget import Budget


def prune(folder: Path, k: int) -> None:
    """Delete the checkpoints of all but the `k` best in `folder`: the highest scores,
    or by the oriented `values` of other objectives (Pareto fronts, then the first)."""
    kept = []
    for side in folder.glob("*.json"):
        try:
            data = json.loads(side.read_text())
            values = tuple(float(v) for v in data.get("values") or [data["score"]])
            kept.append((values, side.stem))
        except (OSError, ValueError, KeyError, TypeError):
            continue  # being written by another worker, or not ours
    level = [0] * len(kept)
    if len({len(v) for v, _ in kept}) == 1:  # one search writes one kind
        for r, front in enumerate(fronts([v for v, _ in kept])):
            for i in front:
                level[i] = r
    order = sorted(range(len(kept)), key=lambda i: (level[i], -kept[i][0][0], kept[i][1]))
    for stem in [kept[i][1] for i in order[k:]]:
        for suffix in (".pt", ".json"):
            try:
                (folder / f"{stem}{suffix}").unlink()
            except FileNotFoundError:
                pass


class KeepBest:
    """An evaluator that also keeps the weights of the `k` best architectures; the
    wrapped evaluator must take `model_path` (the built-in classifier does)."""

    def __init__(self, evaluator: Any, folder: str | Path, k: int):
        self.evaluator = evaluator
        self.folder = Path(folder)
        self.k = k

    def __call__(self, arch: Architecture, *, budget: Budget | None = None) -> Any:
        return self.evaluate(arch, budget=budget)

    def evaluate(self, arch: Architecture, *, budget: Budget | None = None) -> Any:
        self.folder.mkdir(parents=True, exist_ok=True)
        target = self.folder / f"{arch.identity}.pt"
        scratch = self.folder / f".{arch.identity}.{os.getpid()}.pt"
        kwargs: dict[str, Any] = {"model_path": scratch}
        if budget is not None:
            kwargs["budget"] = budget
        result = self.evaluator.evaluate(arch, **kwargs)
        if getattr(result, "ok", False) and scratch.exists():
            os.replace(scratch, target)
            side = self.folder / f"{arch.identity}.json"
            side.with_suffix(".json.tmp").write_text(json.dumps(_side(result)))
            os.replace(side.with_suffix(".json.tmp"), side)
            prune(self.folder, self.k)
        elif scratch.exists():
            scratch.unlink()
        return result


def _side(result: Any) -> dict[str, Any]:
    """The score, and the oriented objective values when the settings name others."""
    settings = result.settings or {}
    objectives = Objectives.parse(settings.get("objectives"), settings.get("direction"))
    values = objectives.oriented(result)
    if objectives.default or values is None:
        return {"score": result.score}
    return {"score": result.score, "values": list(values)}


class KeepBestRecipe(EvaluatorRecipe):
    """`KeepBest` around the evaluator another recipe builds, for worker processes."""

    def __init__(self, recipe: EvaluatorRecipe, folder: str | Path, k: int):
        self.recipe, self.folder, self.k = recipe, str(folder), k
        self.key = f"keep-best:{k}:{self.folder}:{recipe.key}"

    def takes_budget(self) -> bool:
        return self.recipe.takes_budget()

    def preload(self) -> tuple[str, ...]:
        return self.recipe.preload()

    def build(self) -> Any:
        return KeepBest(self.recipe.build(), self.folder, self.k)
