"""Regressions of the second fault audit (issue 16): new inputs of each class, each
ending in darchlang's own located error, quickly. Hand-written attacks; the random
ones live in test_fuzz*.py and bench/fuzz.py."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

import darchlang
from darchlang.environment import Limits
from darchlang.errors import DarchError

ROOT = Path(__file__).resolve().parent.parent
ENV = {**os.environ, "PYTHONPATH": str(ROOT)}


def _darch(*args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "darchlang.cli", *args], env=ENV,
                          capture_output=True, text=True, timeout=timeout)


# ---- what a program file may be ------------------------------------------------------------
@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no named pipes here")
@pytest.mark.parametrize("command", [["check"], ["fmt", "--check"]])
def test_a_pipe_given_as_the_program_is_refused_at_once(tmp_path, command):
    fifo = tmp_path / "space.darch"
    os.mkfifo(fifo)
    out = _darch(*command, str(fifo), timeout=30)  # read, a pipe would block forever
    assert out.returncode == 1 and "Traceback" not in out.stderr
    assert f"{fifo} is not a regular file" in out.stderr


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="no /dev/zero")
def test_a_device_that_never_ends_is_refused_unread():
    from darchlang.semantics.program import read_source

    began = time.monotonic()
    with pytest.raises(DarchError, match="/dev/zero is not a regular file"):
        read_source("/dev/zero")
    assert time.monotonic() - began < 1


def test_a_program_past_the_source_size_limit_is_refused_unread(tmp_path):
    from darchlang.semantics.program import read_source

    big = tmp_path / "big.darch"
    big.write_text("space = relu()\n# " + "x" * Limits.source_size + "\n")
    limit = f"{Limits.source_size:,}"
    for read, unit in ((lambda: read_source(big), "bytes"),
                       (lambda: darchlang.load_string(big.read_text(), "big.darch"), "characters")):
        with pytest.raises(DarchError) as err:
            read()
        assert err.value.message == f"the program is too large: it goes on past {limit} {unit} here"
        # at the spot past the limit, shown around it however long its line is
        assert (err.value.span.line, err.value.span.col) == (2, Limits.source_size - 14)
        assert max(len(line) for line in err.value.render().splitlines()) < 300
    # just under it still loads
    darchlang.load_string("space = relu()\n#" + "x" * (Limits.source_size - 20) + "\n")


def test_an_import_past_the_source_size_limit_is_refused_at_the_import(tmp_path):
    (tmp_path / "big.darch").write_text("a = relu()\n#" + "x" * Limits.source_size + "\n")
    main = tmp_path / "main.darch"
    main.write_text('from "big" import a\nspace = a\n')
    with pytest.raises(DarchError) as err:
        darchlang.load_file(main)
    assert "`big` is too large to be a program" in err.value.message
    assert (err.value.span.line, err.value.span.col) == (1, 1)


def test_an_import_that_is_a_loop_of_links_is_an_error_at_the_import(tmp_path):
    (tmp_path / "a.darch").symlink_to(tmp_path / "b.darch")
    (tmp_path / "b.darch").symlink_to(tmp_path / "a.darch")
    main = tmp_path / "main.darch"
    main.write_text('space = relu()\nfrom "a" import x\n')
    with pytest.raises(DarchError) as err:
        darchlang.load_file(main)
    assert err.value.message == "`a` is a loop of symbolic links"
    assert (err.value.span.line, err.value.span.col) == (2, 1)


# ---- check --shapes: a bounded amount of work, said when it runs out --------------------
# The budgets are lowered here so that each test trips them in a few milliseconds; the
# shipped ones (100,000 checks, 500,000 combinations) take about half a second.
def _undecided(text: str, shape: tuple[int, ...], what: str) -> None:
    from darchlang.backends.torch.shape_rules import torch_shape_rules
    from darchlang.space.shapes import check_shapes

    space = darchlang.load_string(text, "wide.darch").space
    report = check_shapes(space, shape, torch_shape_rules(), enumerate_up_to=0)
    assert not report.ok and report.spurious, report.failure
    assert report.failure.message.startswith("the shape check is undecided: it took more than")
    assert what in report.failure.message


def test_many_shapes_through_many_layers_stop_at_the_check_budget(monkeypatch):
    import darchlang.space.shapes as shapes

    monkeypatch.setattr(shapes, "MAX_CHECKS", 5_000)
    # one shared width of 150 options, 150 layers of `w * i` units: 150 x 150 shape
    # pairs per layer (the sets do not know the widths are one choice)
    w = ", ".join(str(i) for i in range(1, 151))
    layers = ", ".join(f"affine(units: w * {i})" for i in range(1, 151))
    _undecided(f"w = one_of({w})\nspace = concat [{layers}]\n", (16,), "5,000 layer checks")


def test_values_over_many_choices_stop_at_the_budget_of_combinations(monkeypatch):
    import darchlang.space.shapes as shapes

    monkeypatch.setattr(shapes, "MAX_VALUES", 20_000)
    abc = "\n".join(f"{v} = one_of(range(1, 101))" for v in "abc")
    layers = ", ".join(f"affine(units: a * b + c + {i})" for i in range(80))
    _undecided(f"{abc}\nspace = concat [{layers}]\n", (16,), "20,000 combinations")


# ---- compile: weights too large to build are an error at the layer ---------------------
@pytest.mark.parametrize("units, says", [
    ("10 ** 12", "its weights need 64,000.0 GB, more memory than this machine can give"),
    ("10 ** 20", "its sizes pass the 64-bit integers torch counts in"),
])
def test_a_layer_too_large_to_allocate_is_an_error_at_its_line(units, says):
    from darchlang.backends.torch.compiler import compile_architecture

    program = darchlang.load_string(f"space = concat [relu(), affine(units: {units})]",
                                    "huge.darch")
    with pytest.raises(DarchError) as err:
        compile_architecture(program.space.sample(0), (16,))
    assert err.value.message == f"`affine` cannot be built: {says}"
    assert (err.value.span.line, err.value.span.col) == (1, 25)


# ---- journal rows damaged inside (SQLite sees a sound file; the values are not ours) ----
DAMAGE = {
    "decisions": "UPDATE evaluations SET decisions='garbage' WHERE idx=1",
    "metrics": "UPDATE evaluations SET metrics='{' WHERE idx=1",
    "names": "UPDATE evaluations SET names='null'",
    "score": "UPDATE evaluations SET score='abc' WHERE idx=1",
    "lengths": "UPDATE evaluations SET decisions='[1, 2]' WHERE idx=1",
    "settings": "UPDATE evaluations SET settings='[1]' WHERE idx=1",
    "config": "UPDATE meta SET value='{' WHERE key='config'",
    "format": "UPDATE meta SET value='x' WHERE key='format'",
}


SEARCH = ["--synthetic", "1", "--seed", "0", "--budget"]


@pytest.fixture(scope="module")
def written_journal(tmp_path_factory):
    from darchlang.cli import main

    folder = tmp_path_factory.mktemp("journal")
    program = folder / "space.darch"
    program.write_text("space = affine(units: one_of(1, 2, 3, 4, 5, 6))\n")
    assert main(["search", str(program), *SEARCH, "3", "--journal", str(folder / "good.db")]) == 0
    return program, folder / "good.db"


@pytest.mark.parametrize("what", sorted(DAMAGE))
def test_a_journal_damaged_inside_its_rows_is_an_error_in_report_and_search(
        written_journal, tmp_path, capsys, what):
    import shutil
    import sqlite3

    from darchlang.cli import main

    program, good = written_journal
    path = tmp_path / "damaged.db"
    shutil.copy(good, path)
    with sqlite3.connect(path) as db:
        db.execute(DAMAGE[what])
    db.close()
    capsys.readouterr()
    for argv in (["report", str(path)],
                 ["search", str(program), *SEARCH, "5", "--journal", str(path)]):
        assert main(argv) == 1
        err = capsys.readouterr().err
        assert err.startswith(f"error: the journal {path} is damaged ("), err
        assert "sqlite3" in err and ".recover" in err


# ---- search: an evaluator that calls sys.exit() fails its evaluation, not the search ----
def test_an_evaluator_that_calls_sys_exit_fails_its_evaluation_only():
    import sys as system

    from darchlang.search import make_searcher, run_search

    space = darchlang.load_string("space = affine(units: one_of(1, 2, 3, 4, 5, 6))").space

    def exits(arch):
        if arch.decisions[0] % 2:
            system.exit(0)  # would end the search, silently and with exit code 0
        return 0.5

    result = run_search(space, make_searcher("random", space, seed=0), exits, 6,
                        progress=False)
    assert result.done == 6
    failed = [e for e in result.evaluations if not e.ok]
    assert failed and all(e.reason == "the evaluator called sys.exit(0)" for e in failed)
    assert any(e.ok for e in result.evaluations)


def test_a_program_of_many_comments_formats_with_every_comment_kept():
    from darchlang.syntax.formatter import format_source

    text = "".join(f"# note {i}\n" for i in range(20_000)) + "space = relu()  # end\n"
    assert format_source(text) == text
