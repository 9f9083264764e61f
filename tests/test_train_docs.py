"""Every code example in docs/training.md runs, and its settings table is the real one."""

from __future__ import annotations

import ast
import contextlib
import io
import re
import shlex
from pathlib import Path

import pytest
import torch

from darchlang.cli import main
from darchlang.train.settings import Settings

torch.set_num_threads(1)

DOC = Path(__file__).resolve().parents[1] / "docs" / "training.md"
FENCE = re.compile(r"^```(\w+)\n(.*?)^```\n(?:\nprints\n\n```text\n(.*?)^```\n)?", re.S | re.M)


def blocks() -> list[tuple[str, str, str | None]]:
    return [(m[1], m[2], m[3]) for m in FENCE.finditer(DOC.read_text())]


@pytest.mark.slow
def test_every_example_runs(monkeypatch, capsys):
    monkeypatch.chdir(DOC.parents[1])
    namespace: dict = {}
    found = {"python": 0, "console": 0}
    for lang, code, expected in blocks():
        if lang == "python":
            out = io.StringIO()
            with contextlib.redirect_stdout(out):
                exec(compile(code, f"{DOC.name} example {found['python'] + 1}", "exec"), namespace)
            if expected is not None:
                shown = re.sub(r"/[^\s]*/(?=[^/\s]+\.bin)", ".../", out.getvalue())
                assert shown == expected
        elif lang == "console":
            for line in code.splitlines():
                assert line.startswith("$ darch ")
                assert main(shlex.split(line[len("$ darch "):])) == 0, capsys.readouterr().err
        else:
            raise AssertionError(f"a {lang} block that no test runs")
        found[lang] += 1
    assert found["python"] >= 8 and found["console"] >= 2


def test_settings_table_matches_the_code():
    rows = re.findall(r"^\| `(\w+)` \| (\w+) \| `([^`]+)` \| (.+) \|$", DOC.read_text(), re.M)
    table = {name: (kind, ast.literal_eval(default)) for name, kind, default, _ in rows}
    code = {name: (kind, default) for name, kind, default, _ in Settings.describe()}
    assert table == code
