"""Fuzz the front end the way a user's shell would: every entry point, every input kind.

    python bench/fuzz.py                  # 100,000 inputs, a summary line at the end
    python bench/fuzz.py -n 2000 --seed 7 --findings runs/fuzz
    python bench/fuzz.py -n 20000 --minutes 60      # as many as an hour allows
    python bench/fuzz.py --inputs attacks/          # hand-written inputs, every entry point

Each input is a program text from one of four generators (random bytes, a soup of
grammar tokens, generated well-formed programs, mutations of `examples/` and `stdlib/`),
written to a file and driven through the `darch` commands in-process: `check`, `count`,
`show`, `fmt --check`, `sample` (text, `--json`, `--uniform`), replay of the sampled
decisions, and `check --shapes`. A finding is any exception other than darchlang's own
error (which `main` renders and turns into exit code 1), an input that runs past the
time limit (2 s of the worker's CPU time, so that a machine shared with other work
does not make findings of its own), or one that needs more than the memory limit
(500 MB above the worker's baseline, enforced with RLIMIT_AS so the allocation fails
instead of the machine). Inputs run in worker processes that the parent kills and
replaces when an entry point has used more than the time limit of CPU (read from
/proc while it runs, checked after 10 s of wall clock) or has run 60 s of wall clock
whatever its CPU (a hang on input), so one hang costs one input, not the run.

Findings are written one file each (the program, the entry point, what happened), so a
finding reproduces with `darch <entry> <file>`.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import multiprocessing as mp
import os
import random
import resource
import sys
import time
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TIME_LIMIT_S = 2.0  # CPU seconds of one entry point on one input
WALL_LIMIT_S = 10.0  # wall-clock seconds after which the worker's CPU time is looked at
HANG_S = 60.0  # wall-clock seconds after which the worker is killed whatever its CPU
MEMORY_LIMIT_MB = 500

TOKENS = [
    "(", ")", "[", "]", "{", "}", ",", ":", "=", "+", "-", "*", "/", "**", "<", ">", "==",
    "!=", ".", '"', "#", "\n", " ", "0", "1", "2", "3", "64", "1e-9", "1e308", "99999999999999999999",
    "def ", "let ", " in ", "if ", " then ", " else ", "import ", "param ", "graph ", "true",
    "false", "and", "or", "not", "one_of", "concat", "repeat", "repeat_tied", "residual",
    "optional", "maybe_swap", "choose", "hyperparams", "conv2d", "affine", "relu", "dropout",
    "max_pool2d", "batch_norm", "range", "linspace", "logspace", "space", "train", "x", "y",
    "filters", "size", "stride", "times", "units", "keep", "name", "weights",
]
LAYERS = ["relu()", "batch_norm()", "identity()", "conv2d(filters: {v}, size: {k})",
          "max_pool2d(size: 2, stride: 2)", "affine(units: {v})", "dropout(keep: 0.5)"]


def _value(rng: random.Random) -> str:
    kind = rng.choice(["int", "choice", "shared", "derived", "big", "neg", "float", "string"])
    if kind == "int":
        return str(rng.randint(1, 8))
    if kind == "choice":
        return f"one_of({', '.join(str(rng.randint(1, 8)) for _ in range(rng.randint(1, 3)))})"
    if kind == "shared":
        return rng.choice(["w", "v"])
    if kind == "derived":
        return f"{rng.choice(['w', 'v'])} {rng.choice(['*', '+', '**', '-', '/'])} {rng.randint(0, 70)}"
    if kind == "big":
        return rng.choice(["10 ** 400", "2 ** 62", "99999999999999999999", "1e308 * 10"])
    if kind == "neg":
        return f"(0 - {rng.randint(1, 9)}) ** {rng.choice(['0.5', 'one_of(0.5, 2)', '-1'])}"
    if kind == "float":
        return rng.choice(["0.5", "1e-9", "nan", "1.0 / 0"])
    return '"s"'


def _layer(rng: random.Random, depth: int) -> str:
    kinds = ["leaf"] * 3 + (["optional", "one_of", "repeat", "repeat_tied", "residual",
                             "concat", "if", "call"] if depth < 4 else [])
    kind = rng.choice(kinds)
    sub = lambda: _layer(rng, depth + 1)  # noqa: E731
    if kind == "leaf":
        return rng.choice(LAYERS).format(v=_value(rng), k=_value(rng))
    if kind == "optional":
        return f"optional({sub()})"
    if kind == "one_of":
        return f"one_of({sub()}, {sub()})"
    if kind in ("repeat", "repeat_tied"):
        return f"{kind}({sub()}, times: {_value(rng)})"
    if kind == "residual":
        return f"residual({sub()})"
    if kind == "concat":
        return f"concat [{', '.join(sub() for _ in range(rng.randint(0, 3)))}]"
    if kind == "if":
        return f"if {rng.choice(['w', 'v'])} >= 2 then {sub()} else {sub()}"
    return "blk(w)"


def generated_program(rng: random.Random) -> str:
    """A program that parses, with shared choices, functions and derived values."""
    lines = [f"w = one_of({', '.join(str(rng.randint(1, 8)) for _ in range(rng.randint(1, 3)))})",
             f"v = {_value(rng)}",
             f"def blk(a) = {_layer(rng, 2)}",
             f"space = concat [{', '.join(_layer(rng, 0) for _ in range(rng.randint(1, 4)))}]"]
    if rng.random() < 0.3:
        lines.append(f"train = hyperparams {{ learning_rate: one_of({_value(rng)}, 0.1) }}")
    if rng.random() < 0.2:  # growth through shared bindings
        n = rng.randint(2, 45)
        lines.append("a0 = relu()")
        lines += [f"a{i} = concat [a{i - 1}, a{i - 1}]" for i in range(1, n)]
        lines.append(f"space = a{n - 1}")
    if rng.random() < 0.1:  # deep nesting
        depth = rng.randint(100, 20_000)
        lines.append("space = " + rng.choice(["(", "concat [", "-"]) * depth)
    return "\n".join(lines) + "\n"


def token_soup(rng: random.Random) -> str:
    return "".join(rng.choice(TOKENS) for _ in range(rng.randint(0, 60)))


def random_bytes(rng: random.Random) -> bytes:
    return bytes(rng.randrange(256) for _ in range(rng.randint(0, 200)))


def mutation(rng: random.Random, corpus: list[str]) -> str:
    text = rng.choice(corpus)
    for _ in range(rng.randint(1, 4)):
        i = rng.randrange(len(text) + 1)
        op = rng.choice(["delete", "insert", "swap", "duplicate"])
        if op == "delete":
            text = text[:i] + text[i + rng.randint(1, 12):]
        elif op == "insert":
            text = text[:i] + rng.choice(TOKENS) + text[i:]
        elif op == "swap" and text:
            j = rng.randrange(len(text))
            a, b = sorted((i % len(text), j))
            text = text[:a] + text[b] + text[a + 1:b] + text[a] + text[b + 1:]
        else:
            j = min(len(text), i + rng.randint(1, 40))
            text = text[:j] + text[i:j] + text[j:]
    return text


def corpus_texts() -> list[str]:
    files = sorted((ROOT / "examples").rglob("*.darch")) + sorted((ROOT / "stdlib").rglob("*.darch"))
    files += sorted((ROOT / "darchlang" / "stdlib").rglob("*.darch"))
    return [f.read_text() for f in files if f.is_file()]


def make_input(rng: random.Random, corpus: list[str]) -> tuple[str, bytes]:
    kind = rng.choice(["bytes", "tokens", "generated", "generated", "mutation", "mutation"])
    if kind == "bytes":
        return kind, random_bytes(rng)
    if kind == "tokens":
        return kind, token_soup(rng).encode()
    if kind == "generated":
        return kind, generated_program(rng).encode()
    return kind, mutation(rng, corpus).encode()


ENTRIES = [
    ["check"], ["count"], ["show"], ["fmt", "--check"], ["sample", "--seed", "1"],
    ["sample", "--json", "--seed", "2"], ["sample", "--uniform", "--seed", "3"], ["replay"],
    ["check", "--shapes", "--input", "3x8x8"],
]


def _run_entry(entry: list[str], path: str, decisions: str | None) -> tuple[int, str]:
    """One `darch` command in-process: its exit code and what it printed to stderr."""
    from darchlang.cli import main

    argv = [*entry, path]
    if entry == ["replay"]:
        if decisions is None:
            return 0, ""
        argv = ["sample", path, "--decisions", decisions]
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(argv)
        except SystemExit as exc:  # argparse's usage errors
            code = int(exc.code or 0)
    if entry[:2] == ["sample", "--json"] and code == 0:
        data = json.loads(out.getvalue())
        first = data[0] if isinstance(data, list) else data
        decided = first.get("decisions", [])
        return code, ",".join(map(str, decided)) if decided else ""
    return code, err.getvalue()


def _worker(inbox: mp.Queue, outbox: mp.Queue, workdir: str) -> None:
    """Run inputs until told to stop; report (index, entry, outcome) per entry."""
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    # Warm every import first: a first `import torch` (seconds on a loaded machine) is
    # not the input's time, and the memory limit is measured above this baseline.
    import torch  # noqa: F401

    import darchlang.cli  # noqa: F401
    from darchlang.cli import main

    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        for entry in ENTRIES[:-1] + [["check", "--shapes", "--input", "3x8x8"]]:
            if entry != ["replay"]:
                main([*entry, str(ROOT / "examples" / "cifar10_simple.darch")])

    base = int(open("/proc/self/statm").read().split()[0]) * resource.getpagesize()
    limit = base + MEMORY_LIMIT_MB * 2**20
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    outbox.put((-1, "", "ready", ""))
    sys.setrecursionlimit(max(sys.getrecursionlimit(), 1000))
    path = os.path.join(workdir, f"input-{os.getpid()}.darch")
    while True:
        job = inbox.get()
        if job is None:
            return
        try:
            _run_job(job, path, outbox)
        except BaseException as exc:  # noqa: BLE001  the harness itself must not die
            outbox.put((job[0], "", "exception", f"{type(exc).__name__}: {exc}"[:3000]))
        outbox.put((job[0], "", "done", ""))


def _run_job(job: tuple[int, bytes], path: str, outbox: mp.Queue) -> None:
    """Every entry point on one input, reporting each start and each finding."""
    index, data = job
    with open(path, "wb") as f:
        f.write(data)
    decisions = None
    for entry in ENTRIES:
        outbox.put((index, " ".join(entry), "start", ""))
        began = time.process_time()
        try:
            code, text = _run_entry(entry, path, decisions)
        except MemoryError:
            outbox.put((index, " ".join(entry), "memory", f"past {MEMORY_LIMIT_MB} MB"))
            break
        except BaseException as exc:  # noqa: BLE001  any escape is a finding
            tb = "".join(traceback.format_exception(exc))[-3000:]
            outbox.put((index, " ".join(entry), "exception", tb))
            break
        spent = time.process_time() - began
        if spent > TIME_LIMIT_S:
            outbox.put((index, " ".join(entry), "slow", f"{spent:.2f} s of CPU, past "
                        f"{TIME_LIMIT_S:g} s"))
        if entry[:2] == ["sample", "--json"]:
            decisions = text if code == 0 else None
        elif "Traceback (most recent call last)" in text:
            outbox.put((index, " ".join(entry), "exception", text[-3000:]))
            break
        if entry == ["check"] and code != 0:
            break  # a program with errors: the other entry points only repeat them


def _cpu_seconds(pid: int) -> float:
    """CPU time a process has used (user + system), from /proc; 0 where there is none."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Pool:
    """Worker processes fed one input at a time; a worker past the time limit is killed."""

    def __init__(self, size: int, workdir: str):
        self.ctx = mp.get_context("fork")
        self.workdir = workdir
        self.slots = [self._start() for _ in range(size)]

    def _start(self) -> dict:
        inbox, outbox = self.ctx.Queue(), self.ctx.Queue()
        proc = self.ctx.Process(target=_worker, args=(inbox, outbox, self.workdir), daemon=True)
        proc.start()
        return {"proc": proc, "inbox": inbox, "outbox": outbox, "job": None, "since": 0.0,
                "entry": "", "ready": False}

    def restart(self, i: int) -> None:
        self.slots[i]["proc"].kill()
        self.slots[i]["proc"].join()
        self.slots[i] = self._start()

    def close(self) -> None:
        for slot in self.slots:
            slot["inbox"].put(None)
        for slot in self.slots:
            slot["proc"].join(timeout=5)
            if slot["proc"].is_alive():
                slot["proc"].kill()


def fuzz(n: int, seed: int, workers: int = 2, findings_dir: Path | None = None,
         time_limit: float = WALL_LIMIT_S, log=print,
         given: list[tuple[str, bytes]] | None = None,
         minutes: float | None = None) -> tuple[list[dict], int]:
    """Run `n` inputs (or the `given` ones: (name, bytes)), or as many as `minutes`
    allow; return the findings (kind, entry, generator, input, detail) and how many
    inputs ran. `time_limit` is the wall clock after which a worker's CPU time is
    looked at (see the module's docstring)."""
    import tempfile

    if given is None:
        rng = random.Random(seed)
        corpus = corpus_texts()
        inputs = [make_input(rng, corpus) for _ in range(n)]
    else:
        inputs, n = given, len(given)
    findings: list[dict] = []
    workdir = tempfile.mkdtemp(prefix="darch-fuzz-")
    pool = Pool(workers, workdir)
    queue = list(range(n))[::-1]
    done = logged = 0
    started = time.monotonic()

    def record(index: int, entry: str, kind: str, detail: str) -> None:
        finding = {"kind": kind, "entry": entry, "generator": inputs[index][0],
                   "input": inputs[index][1].decode("utf-8", "replace"), "detail": detail}
        findings.append(finding)
        if findings_dir is not None:
            findings_dir.mkdir(parents=True, exist_ok=True)
            stem = findings_dir / f"finding-{len(findings):04d}-{kind}"
            stem.with_suffix(".darch").write_bytes(inputs[index][1])
            stem.with_suffix(".txt").write_text(
                f"darch {entry} (input {index}: {inputs[index][0]})\n\n{detail}\n")

    deadline = None if minutes is None else started + 60 * minutes
    try:
        while done < n:
            if deadline is not None and queue and time.monotonic() > deadline:
                n -= len(queue)  # out of time: finish the inputs in flight, start no more
                queue.clear()
            for i, slot in enumerate(pool.slots):
                if not slot["ready"]:  # still warming its imports: not the input's time
                    try:
                        slot["ready"] = slot["outbox"].get_nowait()[2] == "ready"
                    except Exception:  # noqa: BLE001  queue.Empty
                        continue
                if slot["job"] is None and queue:
                    slot["job"] = queue.pop()
                    slot["since"] = time.monotonic()
                    slot["cpu"] = _cpu_seconds(slot["proc"].pid)
                    slot["inbox"].put((slot["job"], inputs[slot["job"]][1]))
                while slot["job"] is not None:
                    try:
                        index, entry, what, detail = slot["outbox"].get_nowait()
                    except Exception:  # noqa: BLE001  queue.Empty: nothing yet
                        break
                    if what == "start":
                        slot["since"], slot["entry"] = time.monotonic(), entry
                        slot["cpu"] = _cpu_seconds(slot["proc"].pid)
                    elif what == "done":
                        slot["job"] = None
                        done += 1
                    else:
                        record(index, entry, what, detail)
                wall = time.monotonic() - slot["since"]
                cpu = _cpu_seconds(slot["proc"].pid) - slot.get("cpu", 0.0) \
                    if slot["job"] is not None and wall > time_limit else 0.0
                if slot["job"] is not None and wall > time_limit and (
                        cpu > TIME_LIMIT_S or wall > max(HANG_S, time_limit)):
                    record(slot["job"], slot["entry"], "slow", f"{cpu:.1f} s of CPU in {wall:.0f} s "
                           "of wall clock (killed)")
                    pool.restart(i)
                    done += 1
                elif slot["job"] is not None and not slot["proc"].is_alive():
                    record(slot["job"], slot["entry"], "crash",
                           f"the worker died (exit code {slot['proc'].exitcode})")
                    pool.restart(i)
                    done += 1
            time.sleep(0.001)
            if log and done >= logged + 5000:
                logged = done
                log(f"  {done}/{n} inputs, {len(findings)} findings, {time.monotonic() - started:.0f} s")
    finally:
        pool.close()
    return findings, done


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", type=int, default=100_000, help="inputs to run (default 100,000)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--findings", type=Path, default=Path("runs/fuzz"),
                        help="where each finding is written (default runs/fuzz)")
    parser.add_argument("--inputs", type=Path, metavar="DIR",
                        help="run the .darch files of DIR (hand-written attacks, earlier "
                        "findings) instead of generated inputs")
    parser.add_argument("--minutes", type=float,
                        help="stop starting inputs after this long (the summary says how many ran)")
    args = parser.parse_args()
    started = time.monotonic()
    given = None
    if args.inputs is not None:
        given = [(str(p), p.read_bytes()) for p in sorted(args.inputs.rglob("*.darch"))]
        args.n = len(given)
    findings, ran = fuzz(args.n, args.seed, args.workers, args.findings, given=given,
                         minutes=args.minutes)
    by_kind: dict[str, int] = {}
    for f in findings:
        by_kind[f["kind"]] = by_kind.get(f["kind"], 0) + 1
    kinds = ", ".join(f"{k} {v}" for k, v in sorted(by_kind.items())) or "none"
    of = f"{ran:,} of {args.n:,} inputs (the time ran out)" if ran < args.n else f"{ran:,} inputs"
    print(f"fuzz: {of}, {len(findings)} findings ({kinds}) in "
          f"{time.monotonic() - started:.0f} s; seed {args.seed}; findings in {args.findings}/")
    return 1 if findings else 0


if __name__ == "__main__":
    sys.exit(main())
