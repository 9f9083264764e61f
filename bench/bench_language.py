"""Language core speed on the complex CIFAR-10 space: parse + build, count, sample.

    python bench/bench_language.py [--file examples/cifar10_complex.darch] [--seconds 2]

Targets (DESIGN.md): parse + build < 20 ms warm, exact count < 5 ms, >= 5,000 random
architectures per second on one core (sample + build the architecture graph), and
sampling two spaces of one program in turn as fast as one alone (a ratio). The
baseline row times plain `random.randrange` calls, one per decision, in the same run:
it shows how close sampling gets to the cost of drawing the numbers alone.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from pathlib import Path

import darchlang
from darchlang.space.count import Counter


def timed(fn, repeats: int) -> float:
    """Median seconds of `repeats` calls (after one warm-up call)."""
    fn()
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def rate(fn, seconds: float) -> float:
    """Calls per second over `seconds` of wall time."""
    n, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        fn(n)
        n += 1
    return n / (time.perf_counter() - start)


def alternating(text: str, file: str, rounds: int = 5, samples: int = 400) -> float:
    """Seconds per sample when two spaces of one program are sampled in turn, over
    seconds per sample of one space alone, timed in interleaved rounds: a space's
    names are its own, so taking turns should cost nothing (issue 12, item 4)."""
    one = darchlang.load_string(text, file).space
    two = [one, darchlang.load_string(text, file).space]
    ratios = []
    for _ in range(rounds):
        times = []
        for spaces in ([one], two):
            t = time.perf_counter()
            for i in range(samples):
                spaces[i % len(spaces)].sample(i)
            times.append(time.perf_counter() - t)
        ratios.append(times[1] / times[0])
    return statistics.median(ratios)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--file", default="examples/cifar10_complex.darch")
    parser.add_argument("--seconds", type=float, default=2.0)
    args = parser.parse_args()
    text = Path(args.file).read_text()
    darchlang.load_string(text, args.file)  # builds the parser once (cold start)

    build = timed(lambda: darchlang.load_string(text, args.file).space, 30)
    space = darchlang.load_string(text, args.file).space
    roots = [n for n in (space.network, space.hyperparams) if n is not None]
    count = timed(lambda: Counter(space.by_uid).count_items(roots, {}), 50)
    samples = rate(lambda i: space.sample(i), args.seconds)
    mean_decisions = statistics.mean(len(space.sample(i).decisions) for i in range(200))
    rng = random.Random(0)
    draws = rate(lambda i: [rng.randrange(6) for _ in range(int(mean_decisions))], args.seconds)

    rows = [
        ("parse + build space", f"{build * 1e3:.2f} ms", "< 20 ms", build < 0.020),
        ("exact count", f"{count * 1e3:.3f} ms", "< 5 ms", count < 0.005),
        ("random architectures", f"{samples:,.0f} / s", ">= 5,000 / s", samples >= 5000),
        ("baseline: bare random draws", f"{draws:,.0f} / s", "", True),
        ("sampling vs bare draws", f"{samples / draws:.3f} x", "", True),
    ]
    turns = alternating(text, args.file)
    rows.append(("two spaces in turn vs one", f"{turns:.2f} x", "<= 1.1 x", turns <= 1.1))
    print(f"{args.file}: {space.count():,} architectures, "
          f"{mean_decisions:.1f} decisions per architecture on average")
    print(f"{'measure':<30}{'value':>16}  {'target':<14}ok")
    for name, value, target, ok in rows:
        print(f"{name:<30}{value:>16}  {target:<14}{'yes' if ok else 'NO'}")


if __name__ == "__main__":
    main()
