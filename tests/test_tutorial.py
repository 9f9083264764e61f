"""docs/tutorial.md runs as written: its Python blocks in order, then its commands."""

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PAGE = (ROOT / "docs" / "tutorial.md").read_text()


@pytest.mark.slow
def test_python_blocks_run_in_order(capsys):
    namespace: dict = {}
    for code in re.findall(r"```python\n(.*?)```", PAGE, re.S):
        exec(compile(code, "tutorial.md", "exec"), namespace)
    assert namespace["space"].count() == 486
    assert namespace["joint"].count() == 486 * 2 * 3 * 8 * 8
    assert namespace["result"].done == 3 and namespace["found"].done == 3
    out = capsys.readouterr().out
    assert "(1, 8, 8) 10" in out


@pytest.mark.slow
def test_commands_run(tmp_path):
    commands = [line[2:] for block in re.findall(r"```console\n(.*?)```", PAGE, re.S)
                for line in block.splitlines() if line.startswith("$ ")]
    assert len(commands) == 6
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    for command in commands:
        argv = shlex.split(command)
        argv = [str(tmp_path / a) if a.startswith("runs/") else
                str(ROOT / a) if a.startswith("examples/") else a for a in argv]
        done = subprocess.run([sys.executable, "-m", "darchlang.cli", *argv[1:]], env=env,
                              capture_output=True, text=True, cwd=tmp_path, timeout=300)
        assert done.returncode == 0, (command, done.stderr)
