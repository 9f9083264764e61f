"""`darch search` and `darch report` end to end: a real search on digits in a
subprocess, and in-process runs on a synthetic landscape for resuming, refusing a
different search, the report, its plot and its exports."""

from __future__ import annotations

import csv
import json
import subprocess
import sys

import pytest
from search_spaces import MEDIUM

from darchlang.cli import main
from darchlang.search import Journal

DIGITS = """
param num_classes = 10

space = concat [
    conv2d(filters: one_of(8, 16), size: one_of(3, 5)),
    relu(),
    optional(max_pool2d(size: 2, stride: 2)),
    affine(units: num_classes),
]

train = hyperparams {
    learning_rate_init: one_of(0.003, 0.01),
    max_epochs: 15,
}
"""


@pytest.fixture
def space_file(tmp_path):
    path = tmp_path / "space.darch"
    path.write_text(MEDIUM)
    return path


@pytest.mark.slow
def test_a_real_search_on_digits_from_the_command_line(tmp_path, capsys):
    program = tmp_path / "digits.darch"
    program.write_text(DIGITS)
    journal = tmp_path / "runs" / "digits.db"
    r = subprocess.run(
        [sys.executable, "-m", "darchlang.cli", "search", str(program), "--dataset", "digits",
         "--searcher", "evolution", "--budget", "3", "--max-epochs", "2", "--threads", "1",
         "--journal", str(journal), "--seed", "0"],
        capture_output=True, text=True, timeout=300,
    )
    assert r.returncode == 0, r.stderr
    assert "3 evaluations (0 failed), seed 0" in r.stdout
    assert "best architecture (#" in r.stdout
    text = r.stdout.split("score ", 1)[1]
    assert "space = concat [" in text and "affine(units: 10" in text
    assert "learning_rate_init:" in text  # the searched training setting is part of it
    # the best reads as it trained: --max-epochs 2 over the file's 15 (issue 15.5)
    assert "max_epochs: 2," in text and "max_epochs: 15" not in text
    with Journal(journal, create=False) as j:
        rows = j.evaluations()
        config = j.config()
    assert [r.status for r in rows] == ["ok"] * 3
    for row in rows:
        assert 0.0 < row.score <= 1.0
        assert row.metrics["val_accuracy"] == row.score
        assert row.seconds > 0
    assert config["settings"] == {"evaluator": "classifier", "dataset": "digits",
                                  "overrides": {"max_epochs": 2}, "train_seed": 0}
    assert main(["report", str(journal)]) == 0
    assert "max_epochs: 2," in capsys.readouterr().out


@pytest.mark.slow
def test_search_resume_and_report(tmp_path, space_file, capsys):
    journal = tmp_path / "exp.db"
    base = ["search", str(space_file), "--synthetic", "1", "--journal", str(journal)]
    assert main([*base, "--searcher", "tpe", "--seed", "4", "--budget", "12"]) == 0
    out, err = capsys.readouterr()
    assert "12 evaluations (0 failed), seed 4" in out
    assert "best 5 architectures" in out
    assert "#11 score" in err

    # The same command without --searcher/--seed resumes with the recorded ones.
    assert main([*base, "--budget", "20"]) == 0
    out, err = capsys.readouterr()
    assert "resuming: 12 of 20 evaluations already done" in err
    assert "20 evaluations (0 failed), seed 4" in out
    with Journal(journal, create=False) as j:
        assert j.count_finished() == 20
        assert j.config()["searcher"] == "tpe"

    # Another searcher on the same journal is refused, with the difference named.
    assert main([*base, "--searcher", "random", "--budget", "20"]) == 1
    err = capsys.readouterr().err
    assert f"error: the journal {journal} was written by a different search" in err
    assert 'searcher: the journal has "tpe", this search "random"' in err

    plot, table = tmp_path / "plot.png", tmp_path / "all.csv"
    assert main(["report", str(journal), "--plot", str(plot), "--csv", str(table)]) == 0
    out = capsys.readouterr().out
    assert "searcher     tpe (seed 4, startup=10, candidates=24, multivariate=True)" in out
    assert "evaluations  20 done: 20 ok, 0 failed; budget 20" in out
    assert "options by mean score" in out
    assert "best architecture (#" in out
    assert plot.read_bytes()[:4] == b"\x89PNG"
    with table.open() as f:
        assert len(list(csv.DictReader(f))) == 20

    assert main(["report", str(journal), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["summary"]["done"] == 20
    assert data["config"]["searcher"] == "tpe"
    assert "def block()" in data["space_text"]
    relus = [c for c in data["choices"] if c["name"] == "space/0/1"][0]
    assert [o["value"] for o in relus["options"]] == ["relu", "gelu", "tanh"]


def test_search_json_output_and_options(tmp_path, space_file, capsys):
    assert main(["search", str(space_file), "--synthetic", "0", "--searcher", "evolution",
                 "-o", "population=4", "-o", "sample=2", "--budget", "6", "--seed", "1",
                 "--json", "--no-journal"]) == 0
    captured = capsys.readouterr()
    data = json.loads(captured.out)
    assert data["config"]["options"] == {"population": 4, "sample": 2, "retries": 20}
    assert data["summary"]["done"] == 6
    assert captured.err == ""  # --json keeps quiet unless --progress is asked for


def test_search_command_line_errors(tmp_path, space_file, capsys):
    assert main(["search", str(space_file), "--synthetic", "1", "-o", "populace=3"]) == 2
    err = capsys.readouterr().err
    assert "error: searcher `evolution` has no option `populace`" in err
    assert "did you mean `population`?" in err
    assert main(["search", str(space_file), "--synthetic", "1", "-o", "oops"]) == 2
    assert "-o expects KEY=VALUE" in capsys.readouterr().err
    # an unknown searcher is a usage error: exit 2 and argparse's usage and message
    assert main(["search", str(space_file), "--synthetic", "1", "--searcher", "mtcs"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("usage: darch search ")
    assert "darch search: error: argument --searcher: invalid choice: 'mtcs' (choose from " in err
    for flags, message in ((["--budget", "0"], "argument --budget: must be at least 1, got 0"),
                           (["--max-epochs", "0"], "argument --max-epochs: must be at least 1"),
                           (["--budget", "x"], "argument --budget: expected an integer, got 'x'")):
        assert main(["search", str(space_file), "--synthetic", "1", *flags]) == 2
        assert f"darch search: error: {message}" in capsys.readouterr().err
    assert main(["report", str(tmp_path / "nothing.db")]) == 1
    assert f"error: no journal at {tmp_path / 'nothing.db'}" in capsys.readouterr().err


def test_a_misspelt_training_setting_stops_before_the_search(tmp_path, capsys):
    program = tmp_path / "bad.darch"
    program.write_text(DIGITS.replace("learning_rate_init:", "learning_rate_inti:"))
    assert main(["search", str(program), "--budget", "2", "--journal",
                 str(tmp_path / "j.db")]) == 1
    err = capsys.readouterr().err
    assert "unknown training setting `learning_rate_inti`" in err
    assert not (tmp_path / "j.db").exists()


def test_an_evaluator_named_by_import_path(tmp_path, space_file, capsys, monkeypatch):
    (tmp_path / "my_scores.py").write_text(
        "def shortest(arch):\n"
        "    return 1.0 / len(arch.text)\n\n"
        "class Widest:\n"
        "    def evaluate(self, arch):\n"
        "        return float(sum(v for v in arch.values if isinstance(v, int)))\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    for spec in ("my_scores:shortest", "my_scores:Widest"):
        assert main(["search", str(space_file), "--evaluator", spec, "--searcher", "random",
                     "--budget", "4", "--seed", "0", "--json", "--no-journal"]) == 0
        data = json.loads(capsys.readouterr().out)
        assert data["config"]["settings"] == {"evaluator": spec}
        assert data["summary"]["ok"] == 4
    assert main(["search", str(space_file), "--evaluator", "my_scores:shortst"]) == 1
    assert "did you mean `shortest`?" in capsys.readouterr().err
    assert main(["search", str(space_file), "--evaluator", "no_such_module:x"]) == 1
    assert "cannot import `no_such_module`" in capsys.readouterr().err
    assert main(["search", str(space_file), "--evaluator", "toy_regresion"]) == 2
    err = capsys.readouterr().err
    assert "argument --evaluator: unknown evaluator 'toy_regresion' (registered: " in err


@pytest.mark.slow
def test_ctrl_c_and_sigterm_stop_cleanly_and_the_same_command_resumes(tmp_path, space_file):
    import os
    import signal
    import time

    (tmp_path / "slow_scores.py").write_text(
        "import time\n\n"
        "def slow(arch):\n"
        "    time.sleep(0.05)\n"
        "    return len(arch.text) / 1000\n"
    )
    journal = tmp_path / "exp.db"
    command = [sys.executable, "-m", "darchlang.cli", "search", str(space_file), "--evaluator",
               "slow_scores:slow", "--budget", "40", "--journal", str(journal), "--seed", "3"]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), os.getcwd()])}

    def finished():
        if not journal.exists():
            return 0
        try:
            with Journal(journal, create=False) as j:
                return j.count_finished()
        except Exception:  # still being created
            return 0

    for sig, at_least in ((signal.SIGINT, 5), (signal.SIGTERM, 15)):
        child = subprocess.Popen(command, env=env, stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 60
        while finished() < at_least:
            assert child.poll() is None and time.monotonic() < deadline
            time.sleep(0.01)
        child.send_signal(sig)
        out, err = child.communicate(timeout=60)
        assert child.returncode == 130, err
        assert "run the same command again to resume" in err
        assert "Traceback" not in err
        with Journal(journal, create=False) as j:
            statuses = [r.status for r in j.evaluations()]
        assert set(statuses) <= {"ok", "interrupted"} and statuses.count("interrupted") <= 1
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "40 evaluations (0 failed), seed 3" in done.stdout
    with Journal(journal, create=False) as j:
        rows = j.evaluations()
    assert [r.index for r in rows] == list(range(40))
    assert all(r.status == "ok" for r in rows)


@pytest.mark.slow
def test_a_search_whose_every_evaluation_failed_exits_1(tmp_path):
    # it trains, and runs out of time before its first validation every time
    bad = tmp_path / "bad.darch"
    bad.write_text("space = concat [flatten(), affine(units: 10)]\n"
                   "train = hyperparams { time_minutes_max: 0.000001 }\n")
    r = subprocess.run([sys.executable, "-m", "darchlang.cli", "search", str(bad), "--dataset",
                        "digits", "--budget", "2", "--max-epochs", "1", "--journal",
                        str(tmp_path / "run.db")], capture_output=True, text=True, timeout=300)
    assert r.returncode == 1, r.stdout + r.stderr
    assert "no evaluation succeeded" in r.stdout and "Traceback" not in r.stderr
    # one that cannot be built is not even trained (tests/test_preflight.py)
    bad.write_text("space = concat [affine(units: 4), conv2d(filters: 2, size: 3)]\n")
    r = subprocess.run([sys.executable, "-m", "darchlang.cli", "search", str(bad), "--dataset",
                        "digits", "--budget", "2", "--max-epochs", "1", "--journal",
                        str(tmp_path / "bad.db")], capture_output=True, text=True, timeout=300)
    assert r.returncode == 1, r.stdout + r.stderr
    assert "error: no valid architecture left to try: the one architecture of the space " \
           "is invalid, e.g. #0: " in r.stderr and "Traceback" not in r.stderr
