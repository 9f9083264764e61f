"""Every example in docs/searchers.md runs: the Python blocks in order, in one
namespace, and each `$ darch` line of the console blocks, all in a scratch folder that
holds a copy of `examples/`."""

from __future__ import annotations

import re
import shlex
import shutil
from pathlib import Path

import pytest

from darchlang.cli import main

ROOT = Path(__file__).resolve().parent.parent
PAGE = ROOT / "docs" / "searchers.md"
BLOCK = re.compile(r"```(python|console)\n(.*?)```", re.S)


def blocks():
    return [(m.group(1), m.group(2)) for m in BLOCK.finditer(PAGE.read_text())]


def test_the_page_has_examples():
    kinds = [kind for kind, _ in blocks()]
    assert "python" in kinds and "console" in kinds


@pytest.mark.slow
def test_every_example_runs(tmp_path, monkeypatch, capsys):
    shutil.copytree(ROOT / "examples", tmp_path / "examples")
    monkeypatch.chdir(tmp_path)
    namespace: dict = {"__name__": "docs_example"}
    for kind, code in blocks():
        if kind == "python":
            exec(compile(code, str(PAGE), "exec"), namespace)
            continue
        for line in code.splitlines():
            if not line.startswith("$ darch "):
                continue
            status = main(shlex.split(line)[2:])
            captured = capsys.readouterr()
            assert status == 0, f"`{line}` failed:\n{captured.err}"


@pytest.mark.parametrize("name", ["random", "uniform", "grid", "evolution", "mcts", "smbo", "tpe"])
def test_every_searcher_is_described(name):
    assert f"`{name}`" in PAGE.read_text()
