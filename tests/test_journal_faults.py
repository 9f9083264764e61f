"""Journal faults: a damaged file, a path under a file, an empty file, a read-only
journal, the write-ahead log folded back on exit, and a backup while a search runs."""

import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from darchlang.errors import DarchError
from darchlang.search import Journal

SPACE = "space = concat [conv2d(filters: one_of(4, 8, 16, 32), size: one_of(1, 3, 5)), relu()]\n"


def darch(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "darchlang.cli", *args], capture_output=True,
                          text=True, cwd=cwd, timeout=300)


def searched(tmp_path, budget=12, name="run.db"):
    (tmp_path / "net.darch").write_text(SPACE)
    r = darch("search", "net.darch", "--synthetic", "1", "--searcher", "random", "--budget",
              str(budget), "--journal", name, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    return tmp_path / name


@pytest.mark.slow
def test_a_clean_exit_leaves_everything_in_the_db_file(tmp_path):
    journal = searched(tmp_path)
    wal = journal.with_name(journal.name + "-wal")
    assert not wal.exists() or wal.stat().st_size == 0
    alone = tmp_path / "elsewhere" / "copy.db"
    alone.parent.mkdir()
    alone.write_bytes(journal.read_bytes())  # the .db file alone, no -wal beside it
    assert len(Journal(alone, create=False).evaluations()) == 12


@pytest.mark.slow
def test_a_damaged_journal_is_named_with_the_fix(tmp_path):
    journal = searched(tmp_path, budget=40)
    data = bytearray(journal.read_bytes())
    page = 4096
    for offset in range(page, len(data), page):  # scribble over every page but the header
        data[offset:offset + 64] = b"\xff" * 64
    journal.write_bytes(bytes(data))
    r = darch("report", str(journal))
    assert r.returncode == 1 and "Traceback" not in r.stderr
    assert "is damaged" in r.stderr and ".recover" in r.stderr


@pytest.mark.slow
def test_a_path_under_a_regular_file(tmp_path):
    (tmp_path / "net.darch").write_text(SPACE)
    (tmp_path / "notes.txt").write_text("x")
    r = darch("search", "net.darch", "--synthetic", "0", "--budget", "1", "--journal",
              "notes.txt/run.db", cwd=tmp_path)
    assert r.returncode == 1 and "Traceback" not in r.stderr
    assert "notes.txt is a file, not a folder" in r.stderr


@pytest.mark.slow
def test_an_empty_file_and_a_file_that_is_not_sqlite(tmp_path):
    (tmp_path / "empty.db").write_bytes(b"")
    r = darch("report", str(tmp_path / "empty.db"))
    assert r.returncode == 1 and "is empty" in r.stderr
    (tmp_path / "text.db").write_text("hello, not a database at all " * 100)
    r = darch("report", str(tmp_path / "text.db"))
    assert r.returncode == 1 and "not a darchlang journal" in r.stderr
    assert "Traceback" not in r.stderr


@pytest.mark.slow
def test_a_read_only_journal_is_read_and_refuses_writes_clearly(tmp_path, monkeypatch):
    journal = searched(tmp_path)
    real_access = os.access

    def access(path, mode, *args, **kwargs):  # a read-only file on a read-only mount
        if mode == os.W_OK and Path(path).resolve() in (journal.resolve(), tmp_path.resolve()):
            return False
        return real_access(path, mode, *args, **kwargs)

    monkeypatch.setattr(os, "access", access)
    reader = Journal(journal, create=False)
    assert reader.read_only and len(reader.evaluations()) == 12
    with pytest.raises(DarchError, match="cannot be written: the file or its folder is read-only"):
        reader.acquire()
    with pytest.raises(DarchError, match="read-only"):
        reader.set_meta("x", "y")
    reader.close()


@pytest.mark.slow
def test_backup_while_a_search_runs(tmp_path):
    (tmp_path / "net.darch").write_text(SPACE)
    slow = tmp_path / "slow.py"
    slow.write_text("import time\n\ndef evaluate(arch):\n    time.sleep(0.2)\n    return 1.0\n")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.Popen([sys.executable, "-m", "darchlang.cli", "search", "net.darch",
                             "--evaluator", "slow:evaluate", "--searcher", "random", "--budget",
                             "100", "--journal", "run.db"], cwd=tmp_path, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if (tmp_path / "run.db").exists():
                try:
                    if Journal(tmp_path / "run.db", create=False).count_finished() >= 5:
                        break
                except DarchError:
                    pass
            time.sleep(0.1)
        r = darch("journal", "backup", "run.db", "copy.db", cwd=tmp_path)
        assert r.returncode == 0, r.stderr
        assert proc.poll() is None  # the search was still running
    finally:
        proc.wait(timeout=120)
    copy = Journal(tmp_path / "copy.db", create=False)
    assert 5 <= copy.count_finished() < 100  # one moment of the search, mid-way
    assert sqlite3.connect(tmp_path / "copy.db").execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    r = darch("journal", "backup", "run.db", "copy.db", cwd=tmp_path)
    assert r.returncode == 1 and "already exists" in r.stderr
