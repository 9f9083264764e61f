"""Language core speed: startup, parsing large programs, and the complex CIFAR-10 space.

    python bench/bench_language.py [--file examples/cifar10_complex.darch] [--seconds 2]
                                   [--runs 7] [--skip-startup] [--skip-large]

Targets (DESIGN.md, issue 12):
- startup: `darch count examples/cifar10_complex.darch` <= 1.0x `python -c "import optuna"`,
  both run as fresh processes, interleaved, median of `--runs` each, with compiled
  bytecode cached as installed packages have it (see CHILD_ENV);
- a 62 kB program (copies of the complex space under new names) parses and builds in
  <= 0.2 s; a 1 MB file of bindings in <= 3 s and <= 300 MB (peak memory of a fresh
  process, which includes the interpreter and imports; loaded with limits raised past
  the defaults, which stop a program that does more than 100,000 steps of work). The
  baseline row is Lark's lexer alone on the same text, measured in the same run;
- the complex space: parse + build < 20 ms warm, exact count < 5 ms, >= 5,000 random
  architectures per second on one core (sample + build the architecture graph), and
  random architectures with their text >= 25x Optuna's `RandomSampler` making the same
  walk (DESIGN.md's table; ask, a suggestion per active choice, tell). Its
  baseline row times plain `random.randrange` calls, one per decision, in the same
  run: it shows how close sampling gets to the cost of drawing the numbers alone; and
  sampling two spaces of one program in turn is as fast as one alone (a ratio).
"""

from __future__ import annotations

import argparse
import os
import random
import re
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

import darchlang
from darchlang.space.count import Counter
from darchlang.syntax.parser import lark_parser

ROOT = Path(__file__).resolve().parent.parent
COMPLEX = ROOT / "examples" / "cifar10_complex.darch"


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


def against_optuna_random(space, seconds: float, rounds: int = 4) -> tuple[float, float]:
    """Random architectures with their text per second, and the same walk with Optuna's
    `RandomSampler` picking each choice (ask, `suggest_categorical` per active choice,
    tell; in-memory storage), in interleaved rounds of `seconds / rounds` a side."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    rng = random.Random(0)
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))

    def theirs(_: int) -> None:
        trial = study.ask()
        space.walk(lambda c: trial.suggest_categorical(c.name, list(range(len(c.options)))))
        study.tell(trial, 0.0)

    ours_rates, their_rates = [], []
    for _ in range(rounds):
        ours_rates.append(rate(lambda _: space.sample(rng).text, seconds / rounds))
        their_rates.append(rate(theirs, seconds / rounds))
    return statistics.median(ours_rates), statistics.median(their_rates)


def print_rows(rows) -> None:
    print(f"{'measure':<34}{'value':>16}  {'target':<16}ok")
    for name, value, target, ok in rows:
        print(f"{name:<34}{value:>16}  {target:<16}{'yes' if ok else 'NO'}")


# Fresh processes may write and read compiled bytecode, as every installed package has
# it (pip compiles at install; optuna's is in site-packages): with PYTHONDONTWRITEBYTECODE
# set, darchlang's modules (a source checkout) would be compiled again in every process
# while optuna's are not.
CHILD_ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def run_process(cmd: list[str]) -> tuple[float, float, int]:
    """Wall seconds, CPU seconds and peak memory (bytes) of one fresh process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, cwd=ROOT, env=CHILD_ENV)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    return wall, cpu, after.ru_maxrss * 1024


def startup(runs: int) -> None:
    """`darch count` against `import optuna`, alternating, fresh processes. CPU time is
    shown beside wall time: on a busy machine it is the steadier of the two."""
    darch = [sys.executable, "-m", "darchlang.cli", "count", str(COMPLEX)]
    optuna = [sys.executable, "-c", "import optuna"]
    run_process(darch)  # the first run builds the parser tables cache and the bytecode
    runs_of: dict[str, list[tuple[float, float, int]]] = {"darch": [], "optuna": []}
    for _ in range(runs):
        runs_of["darch"].append(run_process(darch))
        runs_of["optuna"].append(run_process(optuna))
    d, o = (statistics.median(r[0] for r in runs_of[k]) for k in ("darch", "optuna"))
    dc, oc = (statistics.median(r[1] for r in runs_of[k]) for k in ("darch", "optuna"))
    print(f"startup, median of {runs} fresh processes each, interleaved")
    print_rows([
        ("darch count cifar10_complex", f"{d * 1e3:.0f} ms", f"cpu {dc * 1e3:.0f} ms", True),
        ("baseline: python -c 'import optuna'", f"{o * 1e3:.0f} ms", f"cpu {oc * 1e3:.0f} ms", True),
        ("darch count vs import optuna", f"{d / o:.2f} x", "<= 1.0 x", d / o <= 1.0),
        ("  the same in CPU time", f"{dc / oc:.2f} x", "<= 1.0 x", dc / oc <= 1.0),
    ])


def program_of_copies(size: int) -> str:
    """Copies of the complex space (each under its own names) until `size` characters."""
    body = "gains = " + COMPLEX.read_text().split("gains = ", 1)[1]
    parts: list[str] = []
    names = re.compile(r"\b(gains|inner|block|space)\b")
    while sum(map(len, parts)) < size:
        parts.append(names.sub(rf"\g<1>_{len(parts)}", body))
    names = ", ".join(f"space_{k}" for k in range(len(parts)))
    return "param num_classes = 10\n\n" + "\n".join(parts) + f"\nspace = concat [{names}]\n"


def program_of_bindings(size: int) -> str:
    """Top-level bindings, numbers and layers with choices, until `size` characters."""
    lines: list[str] = []
    total = 0
    while total < size:
        i = len(lines)
        line = (f"b{i} = conv2d(filters: one_of(16, 32, 64), size: {1 + 2 * (i % 3)})\n" if i % 2
                else f"n{i} = {i} * 2 + 1\n")
        lines.append(line)
        total += len(line)
    return "".join(lines) + "space = concat [b1, b3]\n"


def large(runs: int, tmp: Path) -> None:
    """Parse + build a 62 kB program in this process, and a 1 MB one in a fresh process
    (for its peak memory); Lark's lexer alone on the same texts is the baseline."""
    lexer = lark_parser()
    rows = []
    for label, text, target, in_process in (
        ("62 kB program", program_of_copies(62_000), 0.2, True),
        ("1 MB of bindings", program_of_bindings(1_000_000), 3.0, False),
    ):
        path = tmp / f"bench_{len(text)}.darch"
        path.write_text(text)
        lex, build, cpu, memory = [], [], [], 0
        # a load in this process is quick: as many as --runs; a fresh process, half
        for _ in range(runs if in_process else max(1, runs // 2)):
            start = time.perf_counter()
            sum(1 for _ in lexer.lex(text))
            lex.append(time.perf_counter() - start)
            if in_process:
                start, start_cpu = time.perf_counter(), time.process_time()
                assert darchlang.load_string(text, str(path)).space.count() > 0
                build.append(time.perf_counter() - start)
                cpu.append(time.process_time() - start_cpu)
            else:
                code = ("import sys, time, darchlang\n"
                        "from darchlang.environment import Limits, default_environment\n"
                        "env = default_environment()\n"
                        "env.limits = Limits(steps=10**7, nodes=10**6, source_size=2**21)  # past the defaults\n"
                        "t, c = time.perf_counter(), time.process_time()\n"
                        "darchlang.load_file(sys.argv[1], env=env).space\n"
                        "print(time.perf_counter() - t, time.process_time() - c)")
                out = subprocess.run([sys.executable, "-c", code, str(path)], check=True,
                                     capture_output=True, text=True, cwd=ROOT, env=CHILD_ENV)
                wall, used = map(float, out.stdout.split())
                build.append(wall)
                cpu.append(used)
                memory = max(memory, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024)
        b, c, x = statistics.median(build), statistics.median(cpu), statistics.median(lex)
        rows.append((f"{label} ({len(text) / 1e3:,.0f} kB): build", f"{b:.3f} s",
                     f"<= {target} s", b <= target))
        rows.append(("  the same in CPU time", f"{c:.3f} s", f"<= {target} s", c <= target))
        rows.append(("  baseline: Lark's lexer alone", f"{x:.3f} s", "", True))
        rows.append(("  parse + build vs lexing", f"{b / x:.1f} x", "", True))
        if memory:
            rows.append(("  peak memory (whole process)", f"{memory / 2**20:,.0f} MB", "<= 300 MB",
                         memory <= 300 * 2**20))
    print(f"large programs, median of {runs} loads (62 kB) and {max(1, runs // 2)} fresh "
          "processes (1 MB)")
    print_rows(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--file", default="examples/cifar10_complex.darch")
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--skip-startup", action="store_true")
    parser.add_argument("--skip-large", action="store_true")
    args = parser.parse_args()
    if not args.skip_startup:
        startup(args.runs)
        print()
    if not args.skip_large:
        import tempfile

        with tempfile.TemporaryDirectory() as tmp:
            large(args.runs, Path(tmp))
        print()
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
    with_text, optuna_random = against_optuna_random(space, args.seconds)
    rows += [
        ("random architectures with text", f"{with_text:,.0f} / s", "", True),
        ("baseline: Optuna RandomSampler walk", f"{optuna_random:,.0f} / s", "", True),
        ("  with text vs Optuna random", f"{with_text / optuna_random:.1f} x", ">= 25 x",
         with_text / optuna_random >= 25),
    ]
    turns = alternating(text, args.file)
    rows.append(("two spaces in turn vs one", f"{turns:.2f} x", "<= 1.1 x", turns <= 1.1))
    print(f"{args.file}: {space.count():,} architectures, "
          f"{mean_decisions:.1f} decisions per architecture on average")
    print_rows(rows)


if __name__ == "__main__":
    main()
