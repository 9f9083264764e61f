"""`load_file` reads a file as large as the environment it loads under allows."""

from __future__ import annotations

import dataclasses

import pytest

import darchlang
from darchlang.environment import Limits, builtin_environment
from darchlang.errors import DarchError


def test_load_file_follows_the_environments_source_size(tmp_path):
    path = tmp_path / "long.darch"
    padding = "# " + "x" * 998 + "\n"
    path.write_text(padding * (Limits.source_size // len(padding) + 1) + "space = relu()\n")
    with pytest.raises(DarchError, match="the program is too large"):
        darchlang.load_file(path)
    env = builtin_environment()
    env.limits = dataclasses.replace(env.limits, source_size=2 * Limits.source_size)
    assert darchlang.load_file(path, env=env).space.count() == 1


def test_a_journal_or_a_binary_file_given_as_the_program_is_named(tmp_path):
    import sqlite3

    from darchlang.errors import DarchError
    from darchlang.semantics.program import read_source

    journal = tmp_path / "run.db"
    sqlite3.connect(journal).execute("CREATE TABLE t (x)").connection.commit()
    with pytest.raises(DarchError, match="is a SQLite database .a search's journal.., not a "
                                         ".darch program") as info:
        read_source(journal)
    assert "darch report" in info.value.help
    binary = tmp_path / "model.darch"
    binary.write_bytes(b"\x7fELF\x02\x01\x01\x00\x00\x00\x00\x00")
    with pytest.raises(DarchError, match="is a binary file, not a .darch program"):
        read_source(binary)
