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
    big.write_text("# " + "x" * Limits.source_size + "\nspace = relu()\n")
    with pytest.raises(DarchError, match="too large to be a program: more than 262,144 bytes"):
        read_source(big)
    with pytest.raises(DarchError, match="too large to be a program"):
        darchlang.load_string(big.read_text(), "big.darch")
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
