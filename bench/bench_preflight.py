"""What the check before training costs a search, per candidate, in one run.

For each space, the same seeded architectures go through, in interleaved rounds:

- **ask**: drawing the architecture and printing its text (what a random searcher
  and the journal spend on a candidate anyway), the baseline;
- **plan**: the preflight without constraints (the torch-free shape planner);
- **plan+costs**: the preflight with `max_params` (the plan, then the layers'
  parameter and multiply-add formulas);
- **build**: compiling the model on torch's meta device, the cheapest way to find a
  broken shape by building it (what a search without the preflight pays first).

Each cell is milliseconds per candidate (the median round), with its ratio to *ask*.
The preflight caches verdicts by identity; each round uses a fresh one.

    python bench/bench_preflight.py            # 200 architectures a space, 5 rounds
    python bench/bench_preflight.py --quick
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

os.environ.setdefault("OMP_NUM_THREADS", "1")

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import darchlang  # noqa: E402
from darchlang.search.preflight import Preflight  # noqa: E402

SPACES = [("examples/cifar10_simple.darch", (3, 32, 32)),
          ("examples/cifar10_complex.darch", (3, 32, 32)),
          ("stdlib/darts.darch", (3, 32, 32)),
          ("stdlib/autoformer.darch", (3, 224, 224))]


def per_candidate(fn: Callable[[Any], object], items: list[Any]) -> float:
    """Milliseconds per item of `fn` over `items`."""
    started = time.perf_counter()
    for item in items:
        fn(item)
    return (time.perf_counter() - started) / len(items) * 1e3


def measure(program: str, shape: tuple[int, ...], n: int, rounds: int) -> dict[str, float]:
    """The median milliseconds per candidate of each method on one space."""
    from darchlang.backends.torch.compiler import compile_architecture

    space = darchlang.load_file(str(ROOT / program), optional_defines={"num_classes": 10}).space
    keys = [f"{program}{i}" for i in range(n)]
    archs = [space.sample(random.Random(key)) for key in keys]

    def ask(key: str) -> str:
        return space.sample(random.Random(key)).text

    def build(arch: Any) -> object:
        return compile_architecture(arch, shape, device="meta")

    times: dict[str, list[float]] = {k: [] for k in ("ask", "plan", "costs", "build")}
    for _ in range(rounds):  # interleaved: every method once per round, fresh caches
        times["ask"].append(per_candidate(ask, keys))
        times["plan"].append(per_candidate(Preflight(shape), archs))
        times["costs"].append(per_candidate(Preflight(shape, max_params=10**12), archs))
        times["build"].append(per_candidate(build, archs))
    return {k: statistics.median(v) for k, v in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="40 architectures, 3 rounds")
    args = parser.parse_args()
    n, rounds = (40, 3) if args.quick else (200, 5)
    import torch

    torch.set_num_threads(1)
    print(f"{'space':<32} {'ask ms':>8} {'plan ms':>14} {'plan+costs ms':>16} {'build ms':>14}")
    for program, shape in SPACES:
        ms = measure(program, shape, n, rounds)
        cells = [f"{ms[k]:.2f} ({ms[k] / ms['ask']:.1f}x)" for k in ("plan", "costs", "build")]
        print(f"{program:<32} {ms['ask']:>8.2f} {cells[0]:>14} {cells[1]:>16} {cells[2]:>14}")


if __name__ == "__main__":
    main()
