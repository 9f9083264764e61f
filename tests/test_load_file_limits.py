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
