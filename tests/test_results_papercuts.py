"""What a user meets after a search: journals given as folders, exports of searches that
trained nothing, the lines `model.py` names, and the notes of a mismatched resume."""

import re
import subprocess
import sys

import pytest

from darchlang.errors import DarchError
from darchlang.search import Journal

SPACE = """space = concat [
    conv2d(filters: one_of(8, 16), size: one_of(1, 3)), relu(),
    max_pool2d(size: 2, stride: 2),
    affine(units: 10),
]
"""


def darch(*args, cwd):
    return subprocess.run([sys.executable, "-m", "darchlang.cli", *args], capture_output=True,
                          text=True, cwd=cwd, timeout=300)


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory):
    root = tmp_path_factory.mktemp("papercuts")
    (root / "net.darch").write_text(SPACE)
    r = darch("search", "net.darch", "--synthetic", "1", "--budget", "3", "--journal",
              "runs/syn.db", "--seed", "0", cwd=root)
    assert r.returncode == 0, r.stderr
    return root


@pytest.mark.parametrize("command", [["report"], ["dashboard"], ["export", "-o", "out"],
                                     ["search", "net.darch", "--synthetic", "1"]])
def test_a_folder_given_as_journal_names_the_journals_in_it(synthetic, command):
    args = [command[0], "runs", *command[1:]] if command[0] != "search" else \
        [*command, "--journal", "runs"]
    r = darch(*args, cwd=synthetic)
    assert r.returncode == 1 and "Traceback" not in r.stderr
    assert r.stderr.splitlines()[:2] == [
        "error: runs is a folder, not a journal",
        "  = help: give one of the journals in it: runs/syn.db"], r.stderr


def test_a_folder_without_journals_suggests_a_file(tmp_path):
    with pytest.raises(DarchError, match="is a folder, not a journal") as err:
        Journal(tmp_path, create=False)
    assert err.value.help == f"give a journal's file, such as {tmp_path / 'search.db'}"


def test_export_of_a_search_that_trained_nothing_says_so(synthetic):
    r = darch("export", "runs/syn.db", "-o", "out", cwd=synthetic)
    assert r.returncode == 1 and "Traceback" not in r.stderr
    assert "by the evaluator `synthetic-nk`, which keeps no trained weights: there is no " \
           "model to export" in r.stderr
    assert "--keep-best" not in r.stderr and "--retrain" not in r.stderr  # neither helps
    assert "darch report runs/syn.db" in r.stderr
    assert not (synthetic / "out").exists()


def test_a_mismatched_resume_shows_a_missing_setting_as_none(tmp_path):
    with Journal(tmp_path / "j.db") as journal:
        journal.check_config({"seed": 1, "objectives": ["accuracy", "-params"]})
        with pytest.raises(DarchError) as err:
            journal.check_config({"seed": 1})
    assert err.value.notes == ['objectives: the journal has ["accuracy","-params"], '
                               'this search none']


@pytest.mark.slow
def test_model_py_names_lines_of_the_exported_architecture(tmp_path):
    (tmp_path / "net.darch").write_text(SPACE)
    r = darch("search", "net.darch", "--dataset", "digits", "--searcher", "random", "--budget",
              "1", "--max-epochs", "1", "--journal", "run.db", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    r = darch("export", "run.db", "-o", "best", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    source = (tmp_path / "best" / "model.py").read_text()
    lines = (tmp_path / "best" / "architecture.darch").read_text().splitlines()
    named = re.findall(r"self\.\w+_(conv2d|affine)\b.*# .*architecture\.darch:(\d+)", source)
    assert {kind for kind, _ in named} == {"conv2d", "affine"}, source
    for kind, line in named:
        assert lines[int(line) - 1].lstrip().startswith(kind), (kind, line, lines)
    assert "<journal>" not in source
