"""Preflight: a candidate that cannot be built, or breaks a max_params / max_macs
constraint, is recorded `invalid` with its located reason before it trains, never
evaluated, and does not use the budget; redraws are capped, and a resumed search
counts and decides as the uninterrupted one."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

import darchlang
from darchlang.search import Journal, make_searcher, run_search
from darchlang.search.preflight import Preflight, architecture_costs
from darchlang.search.synthetic import NKObjective

ROOT = Path(__file__).resolve().parent.parent
INPUT = (1, 8, 8)

# 96 architectures on a 1x8x8 input; the 48 with a 9x9 "valid" window cannot be built.
HALF = """
space = concat [
    conv2d(filters: one_of(4, 8, 16), size: one_of(3, 5)),
    one_of(max_pool2d(), identity()),
    conv2d(filters: one_of(4, 8), size: one_of(3, 9), padding: "valid"),
    relu(),
    flatten(),
    affine(units: one_of(10, 20)),
]
"""

# None of its 4 architectures fits a 1x8x8 input.
NONE = """
space = concat [
    conv2d(filters: one_of(4, 8), size: one_of(9, 11), padding: "valid"),
    relu(),
    flatten(),
    affine(units: 10),
]
"""


def space_of(text: str, name: str = "half.darch"):
    return darchlang.load_string(text, name).space


class Counting:
    """The synthetic objective, refusing to be called on an architecture that cannot
    be built (the preflight must have stopped it), and counting its calls."""

    def __init__(self, space):
        self.objective = NKObjective(space, k=1, seed=9)
        self.check = Preflight(INPUT)
        self.calls: list[str] = []

    def __call__(self, arch):
        assert self.check(arch) is None, "an invalid architecture reached the evaluator"
        self.calls.append(arch.identity)
        return self.objective(arch)


@pytest.mark.parametrize("searcher", ["grid", "random", "evolution", "tpe"])
def test_the_whole_budget_goes_to_valid_architectures(searcher):
    space = space_of(HALF)
    evaluate = Counting(space)
    result = run_search(space, make_searcher(searcher, space, 3), evaluate, 12,
                        preflight=Preflight(INPUT), progress=False, reuse=False)
    assert result.done == 12 and result.failed == 0 and len(evaluate.calls) == 12
    assert result.invalid > 0 and result.stopped is None
    for row in result.refused:
        assert row.status == "invalid" and row.reason.startswith("half.darch:5:5: `conv2d`")
        assert "its 9x9 window does not fit the " in row.reason
        assert row.decisions[4] == 1  # size 9, the only reason shapes break here
    rows = result.rows()
    assert sorted(r.index for r in rows) == list(range(12 + result.invalid))
    assert result.to_json()["summary"]["invalid"] == result.invalid


def test_grid_moves_past_invalid_architectures_to_the_end_of_the_space():
    space = space_of(HALF)
    result = run_search(space, make_searcher("grid", space, 0), Counting(space), 100,
                        preflight=Preflight(INPUT), progress=False)
    assert result.exhausted and result.done == 48 and result.invalid == 48
    assert result.stopped is None


@pytest.mark.parametrize("searcher", ["grid", "random"])
def test_a_space_without_a_valid_architecture_stops_at_once(searcher):
    space = space_of(NONE, "none.darch")
    started = time.perf_counter()
    result = run_search(space, make_searcher(searcher, space, 1), Counting(space), 5,
                        preflight=Preflight(INPUT), progress=False)
    assert time.perf_counter() - started < 1.0
    assert result.done == 0 and result.invalid >= 4
    assert result.stopped.startswith("no valid architecture left to try: all 4 architectures "
                                     "of the space are invalid, e.g. #0: none.darch:3:5: "
                                     "`conv2d` cannot take a 1x8x8 input")
    assert repr(result).startswith(f"<SearchResult: 0 of 5 evaluations, 0 failed, "
                                   f"{result.invalid} invalid (not trained); stopped: no valid ")


def test_redraws_are_capped_and_a_larger_cap_goes_on(tmp_path):
    space = space_of(HALF.replace("size: one_of(3, 9)", "size: one_of(9, 11)"))
    path = tmp_path / "cap.db"
    first = run_search(space, make_searcher("random", space, 2), Counting(space), 5, path,
                       preflight=Preflight(INPUT), progress=False, max_invalid=7)
    assert first.invalid == 7 and first.stopped.startswith(
        "stopped after 7 invalid architectures in a row (7 in all), e.g. #0: ")
    again = run_search(space, make_searcher("random", space, 2), Counting(space), 5, path,
                       preflight=Preflight(INPUT), progress=False, max_invalid=7)
    assert again.invalid == 7 and again.stopped == first.stopped  # nothing drawn again
    more = run_search(space, make_searcher("random", space, 2), Counting(space), 5, path,
                      preflight=Preflight(INPUT), progress=False, max_invalid=10)
    assert more.invalid == 10 and "10 invalid architectures in a row (10 in all)" in more.stopped


def test_constraints_reject_with_the_count():
    space = space_of(HALF)
    arch = space.replay([2, 1, 1, 1, 0, 1])  # 16 filters 5x5, no pool, 8 filters 3x3, 20 units
    costs = architecture_costs(arch, INPUT)
    assert costs.params == 16 * 25 + 16 + 8 * 16 * 9 + 8 + 8 * 6 * 6 * 20 + 20
    assert Preflight(INPUT, max_params=costs.params)(arch) is None
    assert Preflight(INPUT, max_params=1000)(arch) == \
        f"has {costs.params:,} parameters, over max_params 1,000"
    assert Preflight(INPUT, max_macs=costs.macs - 1)(arch) == \
        f"has {costs.macs:,} multiply-adds per example, over max_macs {costs.macs - 1:,}"
    result = run_search(space, make_searcher("random", space, 4), Counting(space), 6,
                        preflight=Preflight(INPUT, max_params=3000), progress=False)
    assert result.done == 6
    assert {r.reason.split(",")[0][:4] for r in result.refused} <= {"has ", "half"}
    assert any("over max_params 3,000" in r.reason for r in result.refused)


def documented(path: Path) -> tuple[int, ...]:
    """A stdlib space's `# darch: input 3x32x32` shape."""
    import re

    found = re.search(r"^# darch: input (\d+(?:x\d+)*)$", path.read_text(), re.M)
    return tuple(int(n) for n in found.group(1).split("x"))


SPACES = [(f"examples/{name}.darch", (3, 32, 32))
          for name in ("cifar10_simple", "cifar10_complex", "resnet", "inception")] + [
    (f"stdlib/{path.name}", documented(path)) for path in sorted((ROOT / "stdlib").glob("*.darch"))
    if "# darch: input " in path.read_text()]


@pytest.mark.slow  # imports torch, builds on the meta device
@pytest.mark.parametrize("program,shape", SPACES)
def test_costs_are_the_compiled_models(program, shape):
    """The layers' formulas count what the torch backend builds: every layer kind of
    the examples and the literature's spaces (convolutions, attention, tokens, ...)."""
    from darchlang.backends.torch.summary import summarize

    space = darchlang.load_file(str(ROOT / program), optional_defines={"num_classes": 7}).space
    for seed in range(2):
        arch = space.sample(seed)
        table = summarize(arch.network, shape)
        costs = architecture_costs(arch, shape)
        assert (costs.params, costs.macs) == (table.total_params, table.total_macs), seed


@pytest.mark.slow
def test_the_check_does_not_import_torch():
    code = textwrap.dedent(f"""
        import sys
        import darchlang
        from darchlang.search.preflight import Preflight
        space = darchlang.load_string({HALF!r}).space
        reasons = [Preflight((1, 8, 8), max_params=2000)(a) for a in space.enumerate()]
        assert sum(r is not None for r in reasons) > 48
        assert "torch" not in sys.modules
    """)
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                          text=True, timeout=60, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert done.returncode == 0, done.stderr


class Interrupting(Counting):
    """Stops the search (as Ctrl-C would) at its `stop_at`-th evaluation."""

    def __init__(self, space, stop_at: int):
        super().__init__(space)
        self.stop_at = stop_at

    def __call__(self, arch):
        if len(self.calls) == self.stop_at:
            raise KeyboardInterrupt
        return super().__call__(arch)


@pytest.mark.parametrize("searcher", ["evolution", pytest.param("tpe", marks=pytest.mark.slow)])
def test_resume_counts_and_decides_as_the_uninterrupted_search(tmp_path, searcher):
    space = space_of(HALF)
    options = {"population": 4, "sample": 2} if searcher == "evolution" else {}

    def search(evaluate, path=None):
        return run_search(space, make_searcher(searcher, space, 7, **options), evaluate, 14,
                          path, preflight=Preflight(INPUT, max_params=3000), progress=False)

    whole = search(Counting(space))
    path = tmp_path / "resume.db"
    calls: list[str] = []
    for stop_at in (3, 7):
        evaluate = Interrupting(space, stop_at)
        evaluate.calls = calls
        with pytest.raises(KeyboardInterrupt):
            search(evaluate, path)
    evaluate = Counting(space)
    evaluate.calls = calls
    resumed = search(evaluate, path)
    trained = [r.identity for r in resumed.evaluations if r.reused is None]
    assert sorted(calls) == sorted(trained)  # none trained twice, none lost
    assert resumed.invalid == whole.invalid > 0
    assert [(r.decisions, r.status) for r in resumed.rows()] == \
        [(r.decisions, r.status) for r in whole.rows()]


KILLED = textwrap.dedent('''
    import sys, time
    import darchlang
    from darchlang.search import make_searcher, run_search
    from darchlang.search.preflight import Preflight
    from darchlang.search.synthetic import NKObjective

    space = darchlang.load_string(open(sys.argv[1]).read(), "half.darch").space
    objective = NKObjective(space, k=1, seed=9)
    log = open(sys.argv[3], "a")

    def evaluate(arch):
        log.write(arch.identity + "\\n")
        log.flush()
        time.sleep(0.05)
        return objective(arch)

    searcher = make_searcher("evolution", space, 5, population=4, sample=2)
    run_search(space, searcher, evaluate, int(sys.argv[4]), sys.argv[2],
               preflight=Preflight((1, 8, 8)), progress=False)
''')


@pytest.mark.slow
def test_sigkill_then_resume_neither_reruns_nor_recounts(tmp_path):
    budget = 16
    (tmp_path / "half.darch").write_text(HALF)
    script = tmp_path / "search.py"
    script.write_text(KILLED)
    journal, log = tmp_path / "kill.db", tmp_path / "started.log"
    command = [sys.executable, str(script), str(tmp_path / "half.darch"), str(journal), str(log),
               str(budget)]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    child = subprocess.Popen(command, env=env)
    deadline = time.monotonic() + 60
    while not log.exists() or len(log.read_text().split()) < 6:
        assert child.poll() is None and time.monotonic() < deadline
        time.sleep(0.01)
    child.send_signal(signal.SIGKILL)
    assert child.wait() == -signal.SIGKILL  # killed mid-way, not ended on its own
    subprocess.run(command, env=env, check=True, timeout=120)
    with Journal(journal, create=False) as j:
        rows = j.evaluations()
    space = space_of(HALF)
    whole = run_search(space, make_searcher("evolution", space, 5, population=4, sample=2),
                       NKObjective(space, k=1, seed=9), budget, preflight=Preflight(INPUT),
                       progress=False)
    assert sum(r.status == "ok" for r in rows) == budget
    assert sum(r.invalid for r in rows) == whole.invalid > 0
    assert [(r.decisions, r.status) for r in rows] == \
        [(r.decisions, r.status) for r in sorted(whole.rows(), key=lambda r: r.index)]
    assert budget <= len(log.read_text().split()) <= budget + 1  # the one the kill cut off


def darch(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "darchlang.cli", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=300,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})


@pytest.mark.slow
def test_cli_search_skips_invalid_architectures_and_reports_them(tmp_path):
    program = tmp_path / "half.darch"
    program.write_text("param num_classes = 10\n" + HALF.replace("units: one_of(10, 20)",
                                                                  "units: num_classes"))
    done = darch("search", "half.darch", "--searcher", "grid", "--budget", "3",
                 "--max-epochs", "1", "--journal", "j.db", "--csv", "j.csv", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "3 evaluations (0 failed; 2 invalid, not trained)" in done.stdout
    assert "#1 invalid, not trained: half.darch:6:5: `conv2d` cannot take" in done.stderr
    assert "[3/3, best" in done.stderr and "2 invalid]" in done.stderr
    assert "invalid,," in (tmp_path / "j.csv").read_text()
    report = darch("report", "j.db", cwd=tmp_path)
    assert "3 done: 3 ok, 0 failed; 2 invalid, not trained" in report.stdout
    assert "invalid, not trained (no budget used)" in report.stdout
    assert darch("report", "j.db", "--html", "r.html", cwd=tmp_path).returncode == 0
    assert "3 done: 3 ok, 0 failed; 2 invalid, not trained" in (tmp_path / "r.html").read_text()
    data = darch("report", "j.db", "--json", cwd=tmp_path)
    import json

    rows = json.loads(data.stdout)["evaluations"]
    assert [r["status"] for r in rows] == ["ok", "invalid", "ok", "invalid", "ok"]
    assert rows[1]["reason"].startswith("half.darch:6:5: `conv2d` cannot take a 4x4x4 input")
    again = darch("search", "half.darch", "--budget", "3", "--max-epochs", "1", "--journal",
                  "j.db", cwd=tmp_path)  # resumed: nothing left to do, nothing counted twice
    assert again.returncode == 0, again.stderr
    assert "resuming: 3 of 3 evaluations already done (2 invalid, not counted)" in again.stderr
    assert "3 evaluations (0 failed; 2 invalid, not trained)" in again.stdout


@pytest.mark.slow
def test_cli_constraints_from_the_flag_and_the_train_block(tmp_path):
    import json

    program = tmp_path / "small.darch"
    program.write_text("param num_classes = 10\n" + HALF.replace("units: one_of(10, 20)",
                                                                  "units: num_classes")
                       + "train = hyperparams { max_epochs: 1, max_params: 1e9 }\n")
    # the flag beats the train block, as every command-line setting does
    done = darch("search", "small.darch", "--searcher", "grid", "--budget", "3",
                 "--max-params", "1e3", "--max-macs", "5e7", "--no-journal", "--json",
                 cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    statuses = [(r["index"], r["status"]) for r in out["evaluations"]]
    assert sorted(statuses) == [(0, "ok"), (1, "invalid"), (2, "ok"), (3, "invalid"),
                                (4, "invalid"), (5, "invalid"), (6, "invalid"), (7, "invalid"),
                                (8, "ok")]
    reasons = {r["index"]: r["reason"] for r in out["evaluations"]}
    assert reasons[3].startswith("small.darch:6:5: `conv2d` cannot take a 4x4x4 input")
    assert reasons[4] == "has 1,638 parameters, over max_params 1,000"
    assert reasons[6] == "has 3,226 parameters, over max_params 1,000"
    # the smallest architecture has 358 parameters: under 300, none is left
    program.write_text(program.read_text().replace("1e9", "300"))
    done = darch("search", "small.darch", "--searcher", "random", "--budget", "2",
                 "--no-journal", cwd=tmp_path)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert "error: no valid architecture left to try: all 48 architectures of the space are " \
           "invalid, e.g. #0: " in done.stderr
    assert "over max_params 300" in done.stderr


@pytest.mark.slow
def test_cli_no_valid_architecture_is_one_clear_error(tmp_path):
    (tmp_path / "none.darch").write_text("param num_classes = 10\n" + NONE)
    started = time.monotonic()
    done = darch("search", "none.darch", "--searcher", "random", "--budget", "3",
                 "--no-journal", cwd=tmp_path)
    assert time.monotonic() - started < 60
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert done.stdout == ""
    errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert errors == [line for line in errors if line.startswith(
        "error: no valid architecture left to try: all 4 architectures of the space are "
        "invalid, e.g. #0: none.darch:4:5: `conv2d` cannot take a 1x8x8 input")]
    assert len(errors) == 1
    assert "darch check --shapes --input 1x8x8 none.darch" in done.stderr


@pytest.mark.slow
def test_cli_constraints_need_an_input_shape(tmp_path):
    (tmp_path / "none.darch").write_text(NONE)
    done = darch("search", "none.darch", "--synthetic", "1", "--max-macs", "5e7",
                 "--no-journal", cwd=tmp_path)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert done.stderr.startswith("error: --max-macs needs the input shape to count costs, "
                                  "and the synthetic landscape has none")


def test_cli_constraint_flags_take_whole_numbers(tmp_path):
    (tmp_path / "none.darch").write_text(NONE)
    done = darch("search", "none.darch", "--max-params", "1.5", cwd=tmp_path)
    assert done.returncode == 2
    assert "argument --max-params: expected a positive whole number such as 1000000 or 1e6, " \
           "got '1.5'" in done.stderr


@pytest.mark.parametrize("value,ok", [("1e6", True), ("0", False),
                                      ("2.5", False), ('"big"', False)])
def test_check_validates_constraints_at_their_place(tmp_path, value, ok):
    (tmp_path / "c.darch").write_text(NONE + f"train = hyperparams {{ max_macs: {value} }}\n")
    done = darch("check", "c.darch", cwd=tmp_path)
    if ok:
        assert done.returncode == 0, done.stderr
        return
    assert done.returncode == 1
    assert done.stderr.startswith("c.darch:8:33: error: training setting `max_macs` in the "
                                  "`train` block must be a positive whole number (such as "
                                  "1000000 or 1e6), got ")


class CheckedCurves:
    """The synthetic learning curves, refusing an architecture that cannot be built;
    stops the search (as Ctrl-C would) at its `stop_at`-th rung, if given."""

    def __init__(self, space, stop_at: int | None = None):
        from darchlang.search.synthetic import NKCurves

        self.curves = NKCurves(space, k=1, seed=9, epochs=9)
        self.check = Preflight(INPUT)
        self.stop_at, self.calls = stop_at, 0

    def __call__(self, arch, budget):
        assert self.check(arch) is None, "an invalid architecture reached the evaluator"
        if self.calls == self.stop_at:
            raise KeyboardInterrupt
        self.calls += 1
        return self.curves(arch, budget=budget)


@pytest.mark.parametrize("scheduler", ["hyperband", "asha"])
def test_a_scheduled_search_skips_invalid_candidates_and_resumes_alike(tmp_path, scheduler):
    from darchlang.search.schedulers import make_scheduler

    space = space_of(HALF)

    def search(evaluate, path=None):
        return run_search(space, make_searcher("random", space, 3), evaluate, 6, path,
                          preflight=Preflight(INPUT), progress=False,
                          scheduler=make_scheduler(scheduler, min_epochs=1, max_epochs=9, eta=3))

    whole = search(CheckedCurves(space))
    assert whole.done == 6 and whole.failed == 0 and whole.invalid > 0
    assert all(r.reason.startswith("half.darch:5:5: ") for r in whole.refused)
    path = tmp_path / "scheduled.db"
    for stop_at in (3, 4):
        with pytest.raises(KeyboardInterrupt):
            search(CheckedCurves(space, stop_at), path)
    resumed = search(CheckedCurves(space), path)
    assert resumed.invalid == whole.invalid

    def by_index(result):
        return [(r.index, r.decisions, r.status, r.score)
                for r in sorted(result.rows(), key=lambda r: r.index)]

    assert by_index(resumed) == by_index(whole)


SYNC = textwrap.dedent('''
    import sys
    import darchlang
    from parallel_helpers import FixedCost
    from darchlang.search import make_searcher, run_search
    from darchlang.search.preflight import Preflight

    if __name__ == "__main__":  # spawned workers import this file too
        space = darchlang.load_string(open(sys.argv[1]).read(), "half.darch").space
        searcher = make_searcher("evolution", space, 5, population=4, sample=2)
        run_search(space, searcher, FixedCost(0.1, log=sys.argv[3]), 15, sys.argv[2],
                   workers=3, sync=True, preflight=Preflight((1, 8, 8)), progress=False)
''')


@pytest.mark.slow
def test_sigkill_of_a_sync_search_then_resume_decides_alike(tmp_path):
    """Killed with a batch in flight and invalid candidates told between its asks;
    resumed, the synchronous search ends exactly as one never interrupted."""
    from parallel_helpers import FixedCost, wait_gone

    (tmp_path / "half.darch").write_text(HALF)
    script = tmp_path / "search.py"
    script.write_text(SYNC)
    path, log = tmp_path / "sync.db", tmp_path / "started.log"
    command = [sys.executable, str(script), str(tmp_path / "half.darch"), str(path), str(log)]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "tests")])}
    child = subprocess.Popen(command, env=env)
    deadline = time.monotonic() + 60
    while not log.exists() or len(log.read_text().splitlines()) < 7:
        assert child.poll() is None and time.monotonic() < deadline
        time.sleep(0.01)
    child.send_signal(signal.SIGKILL)
    assert child.wait() == -signal.SIGKILL  # killed mid-way, not ended on its own
    wait_gone({int(line.split()[0]) for line in log.read_text().splitlines()})
    subprocess.run(command, env=env, check=True, timeout=120)
    wait_gone({int(line.split()[0]) for line in log.read_text().splitlines()})
    with Journal(path, create=False) as j:
        rows = j.evaluations()
    space = space_of(HALF)
    whole = run_search(space, make_searcher("evolution", space, 5, population=4, sample=2),
                       FixedCost(0.0), 15, workers=3, sync=True, preflight=Preflight(INPUT),
                       progress=False)
    assert sum(r.status == "ok" for r in rows) == 15 and whole.invalid > 0
    assert [(r.decisions, r.status) for r in rows] == \
        [(r.decisions, r.status) for r in sorted(whole.rows(), key=lambda r: r.index)]


def test_a_formula_that_raises_is_a_located_reason():
    """A plugin layer whose parameter formula has a bug makes its candidates invalid
    with a reason that names the formula, instead of ending the search."""
    from dataclasses import replace

    from darchlang.environment import default_environment

    arch = space_of(HALF).replay([0, 0, 0, 0, 0, 0])  # fresh layers, this arch's own
    conv = arch.network.items[0]
    conv.definition = replace(default_environment().layers["conv2d"],
                              param_count=lambda attrs, x, y: 1 // 0)
    reason = Preflight(INPUT, max_params=10**6)(arch)
    assert reason.startswith("half.darch:3:5: the parameter formula of `conv2d` (darchlang) "
                             "raised ZeroDivisionError")
    assert Preflight(INPUT)(arch) is None  # no constraint: costs are not even counted
