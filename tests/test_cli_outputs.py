"""Every file a command writes is checked before the command does any work: a path in
a folder that does not exist is one error line and its help, at once, whatever the
command would have compiled, drawn, trained or plotted first."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SIMPLE = str(ROOT / "examples" / "cifar10_simple.darch")


def darch(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "darchlang.cli", *args],
                          capture_output=True, text=True, cwd=cwd, timeout=120)


@pytest.fixture(scope="module")
def journal(tmp_path_factory) -> str:
    folder = tmp_path_factory.mktemp("journal")
    r = darch("search", SIMPLE, "--synthetic", "1", "--budget", "3", "--seed", "0",
              "--journal", "x.db", cwd=folder)
    assert r.returncode == 0, r.stderr
    return str(folder / "x.db")


@pytest.mark.parametrize(("args", "target"), [
    (["compile", SIMPLE, "--emit-python", "gone/model.py"], "gone/model.py"),
    # the standalone source is not written before the ONNX path is found wanting
    (["compile", SIMPLE, "--emit-python", "model.py", "--emit-onnx", "gone/model.onnx"],
     "gone/model.onnx"),
    (["draw", SIMPLE, "-o", "gone/arch.svg"], "gone/arch.svg"),
    (["report", "JOURNAL", "--html", "gone/report.html"], "gone/report.html"),
    (["report", "JOURNAL", "--plot", "gone/scores.png"], "gone/scores.png"),
    (["report", "JOURNAL", "--csv", "gone/all.csv"], "gone/all.csv"),
    (["train", SIMPLE, "--model-path", "gone/model.pt"], "gone/model.pt"),
    (["search", SIMPLE, "--synthetic", "1", "--no-journal", "--csv", "gone/all.csv"],
     "gone/all.csv"),
    (["lsp", "--log", "gone/lsp.log"], "gone/lsp.log"),
])
def test_a_file_in_a_missing_folder_is_refused_first(args, target, journal, tmp_path):
    args = [journal if a == "JOURNAL" else a for a in args]
    r = darch(*args, cwd=tmp_path)
    assert r.returncode == 1 and r.stdout == ""
    assert r.stderr.splitlines() == [
        f"error: cannot write `{target}`: the folder `gone` does not exist",
        "  = help: make it first (`mkdir -p gone`), or give another path",
    ]
    assert list(tmp_path.iterdir()) == []  # nothing made, nothing left behind


@pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="needs Linux's /proc")
def test_a_log_file_that_cannot_be_opened_is_an_error_not_a_traceback(tmp_path):
    """/proc is a folder no one may create a file in, root included."""
    r = darch("lsp", "--log", "/proc/darch-lsp.log", cwd=tmp_path)
    assert r.returncode == 1 and r.stdout == ""
    assert r.stderr.splitlines() == [
        "error: cannot write the log `/proc/darch-lsp.log`: No such file or directory",
        "  = help: give --log a file you may write",
    ]


def test_a_program_from_standard_input_keeps_its_journal_under_a_name(tmp_path):
    """`darch search -` names its default journal `runs/stdin-<date>-<time>.db`, not
    `runs/--<date>...`, whose name reads as an option."""
    r = subprocess.run([sys.executable, "-m", "darchlang.cli", "search", "-", "--synthetic", "1",
                        "--budget", "2", "--seed", "0"], input=Path(SIMPLE).read_text(),
                       capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert r.returncode == 0, r.stderr
    journals = [p.name for p in (tmp_path / "runs").glob("*.db")]
    assert len(journals) == 1 and journals[0].startswith("stdin-"), journals
    assert f"next: darch report runs/{journals[0]}" in r.stdout
