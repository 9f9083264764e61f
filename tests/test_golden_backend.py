"""Golden files for the torch backend's printed forms: the `darch compile` table and the
standalone source of `darch compile --emit-python`, for examples that cover plain
chains, residual joins (padded and projected) and graph blocks.

A change to either form shows here as a diff against `tests/golden/`. When the new
output is the intended one, accept it with

    DARCH_UPDATE_GOLDEN=1 python -m pytest tests/test_golden_backend.py

(which rewrites the files instead of comparing) and review `git diff tests/golden`.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import golden_files
import pytest
from golden_files import GOLDEN, ROOT

# (example, seed, input shape or None for the program's own)
CASES = [
    ("cifar10_simple", 1, None),
    ("resnet", 0, None),
    ("inception", 2, None),
    ("nasbench201", 5, None),
]


def compile_cli(*args: str) -> str:
    done = subprocess.run([sys.executable, "-m", "darchlang.cli", "compile", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return done.stdout


def check_golden(path: Path, text: str) -> None:
    golden_files.check_golden(path, text, "tests/test_golden_backend.py")


def _args(name: str, seed: int, shape: str | None) -> list[str]:
    args = [f"examples/{name}.darch", "--seed", str(seed)]
    return args + (["--input", shape] if shape else [])


@pytest.mark.parametrize(("name", "seed", "shape"), CASES)
@pytest.mark.slow
def test_compile_table_golden(name, seed, shape):
    check_golden(GOLDEN / "compile" / f"{name}.txt", compile_cli(*_args(name, seed, shape)))


@pytest.mark.parametrize(("name", "seed", "shape"), CASES)
@pytest.mark.slow
def test_emitted_python_golden(name, seed, shape, tmp_path):
    out = tmp_path / f"{name}.py"
    compile_cli(*_args(name, seed, shape), "--emit-python", str(out))
    check_golden(GOLDEN / "emit" / f"{name}.py", out.read_text())
