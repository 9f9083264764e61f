"""Issue 15.6 leftovers: with several objectives, `darch search`'s line per evaluation
and `darch export` show each objective's value, not the score alone; `darch train`
refuses an architecture over `max_params`/`max_macs` before training, as a search does."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

EVALUATOR = '''
from darchlang.train.result import EvalResult

def both(arch):
    units = [v for v in arch.values if isinstance(v, int)]
    return EvalResult("ok", 1.0 - 1.0 / (1 + sum(units)), metrics={"params": sum(units) * 10})
'''

SPACE = """space = concat [
    flatten(),
    affine(units: one_of(4, 8, 12, 16)),
    affine(units: one_of(2, 4, 6)),
]
"""


def darch(*args: object, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    if cwd is not None:
        env["PYTHONPATH"] = os.pathsep.join([str(cwd), env.get("PYTHONPATH", "")])
    return subprocess.run([sys.executable, "-m", "darchlang.cli", *map(str, args)],
                          capture_output=True, text=True, timeout=600, cwd=cwd, env=env)


@pytest.mark.slow
def test_each_evaluation_line_shows_every_objective(tmp_path: Path) -> None:
    (tmp_path / "two.py").write_text(EVALUATOR)
    (tmp_path / "space.darch").write_text(SPACE)
    done = darch("search", "space.darch", "--evaluator", "two:both", "--searcher", "random",
                 "--budget", "3", "--seed", "1", "--objectives", "accuracy,-params",
                 "--no-journal", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    lines = [line for line in done.stderr.splitlines() if line.startswith("#")]
    assert len(lines) == 3
    for line in lines:
        match = re.match(r"#\d+ accuracy (0\.\d{4}), params ([\d,]+) in [\d.]+s  "
                         r"\[\d/3, best accuracy 0\.\d{4}\]$", line)
        assert match, line
        # the same numbers the evaluator gave: params is ten times the units
        units = int(match.group(2).replace(",", "")) // 10
        assert float(match.group(1)) == pytest.approx(1 - 1 / (1 + units), abs=1e-4)
    single = darch("search", "space.darch", "--evaluator", "two:both", "--searcher", "random",
                   "--budget", "1", "--no-journal", cwd=tmp_path)
    assert re.search(r"^#0 score 0\.\d{4} in [\d.]+s  \[1/1, best 0\.\d{4}\]$", single.stderr,
                     re.M), single.stderr  # one score: the line it always was


BIG = """param num_classes = 10
space = concat [
    conv2d(filters: 16, size: 3), relu(),
    affine(units: num_classes),
]
train = hyperparams { max_epochs: 1, max_params: 1000 }
"""


@pytest.mark.slow
def test_train_refuses_an_architecture_over_its_constraints(tmp_path: Path) -> None:
    program = tmp_path / "big.darch"
    program.write_text(BIG)
    over = darch("train", program, "--dataset", "digits", "--model-path", tmp_path / "m.pt")
    assert over.returncode == 1
    assert f"{program}:6:50: error: the architecture has 10,410 parameters, over " \
           "max_params 1,000" in over.stderr
    assert "val accuracy" not in over.stderr + over.stdout  # nothing trained
    assert not (tmp_path / "m.pt").exists()
    assert "Traceback" not in over.stderr
    macs = darch("train", program, "--dataset", "digits", "--set", "max_params=100000",
                 "--set", "max_macs=100")
    assert macs.returncode == 1
    assert "error: the architecture has 19,456 multiply-adds per example, over max_macs " \
           "100" in macs.stderr
    assert "--set max_macs=N" in macs.stderr


DIGITS = """param num_classes = 10
space = concat [
    conv2d(filters: one_of(4, 8), size: 3), relu(),
    affine(units: num_classes),
]
"""


@pytest.mark.slow
def test_export_prints_every_objective_of_the_rank(tmp_path: Path) -> None:
    from darchlang.search import Journal
    from darchlang.search.objectives import Objectives
    from darchlang.search.results import top

    (tmp_path / "net.darch").write_text(DIGITS)
    done = darch("search", "net.darch", "--dataset", "digits", "--searcher", "random",
                 "--budget", "2", "--max-epochs", "1", "--keep-best", "2", "--threads", "1",
                 "--objectives", "accuracy,-params", "--journal", "run.db", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    objectives = Objectives.parse(["accuracy", "-params"])
    best = top(Journal(tmp_path / "run.db", create=False).evaluations(), 1, objectives)[0]
    out = darch("export", "run.db", "-o", "best", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines()[0] == (
        f"rank 1: #{best.index}, accuracy {best.score:.4f}, "
        f"params {best.metrics['parameters']:,}")
