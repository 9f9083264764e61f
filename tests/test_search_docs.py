"""Every example in docs/searchers.md runs: the Python blocks in order, in one
namespace, and each `$ darch` line of the console blocks, all in a scratch folder that
holds a copy of `examples/`."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
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


@pytest.mark.slow
def test_a_script_that_guards_its_search_runs_with_workers(tmp_path):
    """The page's advice for scripts: the workers import the script as their main
    module (so the top-level line prints in them too; should that stop, the paragraph
    saying so is out of date), and the guarded search runs once, to its budget."""
    script = tmp_path / "search_script.py"
    script.write_text(
        "import darchlang\n"
        "from darchlang.search import make_searcher, run_search\n"
        "from darchlang.search.synthetic import NKObjective\n"
        "print('top level')\n"
        "if __name__ == '__main__':\n"
        f"    space = darchlang.load_file({str(ROOT / 'examples' / 'cifar10_simple.darch')!r}).space\n"
        "    result = run_search(space, make_searcher('random', space, seed=0),\n"
        "                        NKObjective(space, k=1, seed=0), budget=6, workers=2,\n"
        "                        journal='runs/landscape.db', progress=False)\n"
        "    print('done', result.done)\n")
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                          cwd=tmp_path, timeout=300,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines.count("done 6") == 1
    assert done.stdout.count("top level") > 1  # workers print it too (lines may interleave)
