"""The vocabulary is not bound to torch: loading a program and the commands that only read
it (check, count, show, sample, fmt) never import torch. Each runs in a fresh process."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = "examples/cifar10_complex.darch"

PROBE = """
import sys
{body}
assert "torch" not in sys.modules, sorted(m for m in sys.modules if m.startswith("torch"))[:5]
print("torch-free")
"""


def run(body: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", PROBE.format(body=body)], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)


def test_load_string_does_not_import_torch():
    done = run("import darchlang\n"
               "p = darchlang.load_string('space = concat [conv2d(filters: one_of(8, 16), size: 3), "
               "relu(), global_avg_pool(), affine(units: 10)]')\n"
               "assert p.space.count() == 2 and p.space.sample(0).text")
    assert done.returncode == 0 and "torch-free" in done.stdout, done.stderr


@pytest.mark.parametrize("args", [
    ["check", EXAMPLE],
    ["check", "--shapes", "--input", "3x32x32", "examples/cifar10_simple.darch"],
    ["count", EXAMPLE],
    ["show", EXAMPLE],
    ["sample", EXAMPLE, "--seed", "3"],
    ["fmt", "--check", EXAMPLE],
])
@pytest.mark.slow
def test_reading_commands_do_not_import_torch(args):
    done = run(f"from darchlang.cli import main\nrc = main({args!r})\nassert rc == 0, rc")
    assert done.returncode == 0 and "torch-free" in done.stdout, done.stdout + done.stderr
