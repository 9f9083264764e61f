"""Pareto ranking of points that are maximised on every coordinate.

Several objectives have no single best: a point is *dominated* when another is at
least as good on every objective and better on one, and the non-dominated points are
the Pareto front. NSGA-II (Deb et al., "A fast and elitist multiobjective genetic
algorithm: NSGA-II", IEEE TEC 2002) ranks a population by peeling such fronts off one
after another (`fronts`) and, within a front, prefers points in sparse regions by
their *crowding distance* (`crowding`): the evolution searcher selects parents with
that order and the reports show the first front. Points are plain tuples here;
orienting objectives (negating the minimised ones) is `darchlang.search.objectives`'s
job.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

Point = Sequence[float]


def dominates(a: Point, b: Point) -> bool:
    """Whether `a` is at least as good as `b` everywhere and better somewhere."""
    return all(x >= y for x, y in zip(a, b, strict=True)) and \
        any(x > y for x, y in zip(a, b, strict=True))


def fronts(points: Sequence[Point]) -> list[list[int]]:
    """The indices of `points` in successive non-dominated fronts (the first is the Pareto
    front), each in increasing index order: Deb's fast non-dominated sort, O(M N^2)."""
    n = len(points)
    beats: list[list[int]] = [[] for _ in range(n)]
    beaten = [0] * n
    for i in range(n):
        for j in range(i + 1, n):
            if dominates(points[i], points[j]):
                beats[i].append(j)
                beaten[j] += 1
            elif dominates(points[j], points[i]):
                beats[j].append(i)
                beaten[i] += 1
    current = [i for i in range(n) if beaten[i] == 0]
    out = []
    while current:
        out.append(current)
        following = []
        for i in current:
            for j in beats[i]:
                beaten[j] -= 1
                if beaten[j] == 0:
                    following.append(j)
        current = sorted(following)
    return out


def first_front(points: Sequence[Point]) -> list[int]:
    """The indices of the non-dominated points, in increasing index order."""
    return fronts(points)[0] if points else []


def crowding(points: Sequence[Point], front: Sequence[int]) -> dict[int, float]:
    """NSGA-II's crowding distance of each index of one front: per objective, the gap
    between its two neighbours over the front's range, summed; the extremes of every
    objective get infinity, so a front keeps its ends."""
    distance = dict.fromkeys(front, 0.0)
    if len(front) < 3:
        return dict.fromkeys(front, math.inf)
    for m in range(len(points[front[0]])):
        order = sorted(front, key=lambda i: (points[i][m], i))
        low, high = points[order[0]][m], points[order[-1]][m]
        distance[order[0]] = distance[order[-1]] = math.inf
        if high == low:
            continue
        for k in range(1, len(order) - 1):
            distance[order[k]] += (points[order[k + 1]][m] - points[order[k - 1]][m]) / (high - low)
    return distance


def rank_and_crowding(points: Sequence[Point]) -> tuple[list[int], list[float]]:
    """Each point's front number (0 is the Pareto front) and crowding distance in it:
    NSGA-II's crowded comparison prefers a lower front, then a larger distance."""
    rank = [0] * len(points)
    crowd = [0.0] * len(points)
    for r, front in enumerate(fronts(points)):
        for i, d in crowding(points, front).items():
            rank[i], crowd[i] = r, d
    return rank, crowd
