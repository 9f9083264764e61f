"""Golden files for the architecture printer: `darch sample` text, for examples and
seeds that cover chains, tied repeats, residuals, graph blocks (with unused steps
pruned), shared choices, derived values and the evaluator's settings.

A change of the printed form shows here as a diff against `tests/golden/sample/`.
When the new output is the intended one, accept it with

    DARCH_UPDATE_GOLDEN=1 python -m pytest tests/test_golden_printer.py

(which rewrites the files instead of comparing) and review `git diff tests/golden`.
"""

from __future__ import annotations

import subprocess
import sys

import pytest
from golden_files import GOLDEN, ROOT, check_golden

import darchlang

# (program, seed, extra arguments)
CASES = [
    ("examples/cifar10_complex.darch", 3, []),
    ("examples/cifar10_joint.darch", 1, []),
    ("examples/inception.darch", 1, ["-n", "2"]),
    ("examples/nasbench201.darch", 5, []),
    ("examples/derived_values.darch", 0, ["-n", "3"]),
    ("examples/shared_choices.darch", 2, ["--uniform"]),
    ("examples/resnet.darch", 4, []),
    ("stdlib/nats_size.darch", 7, []),
]


def _golden(program: str, seed: int, extra: list[str]) -> str:
    stem = program.rsplit("/", 1)[-1].removesuffix(".darch")
    flags = "".join(f"_{a.lstrip('-')}" for a in extra)
    return f"{stem}_seed{seed}{flags}.darch"


def sample_cli(*args: str) -> str:
    done = subprocess.run([sys.executable, "-m", "darchlang.cli", "sample", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.mark.parametrize(("program", "seed", "extra"), CASES,
                         ids=[_golden(*c).removesuffix(".darch") for c in CASES])
@pytest.mark.slow
def test_sample_text_golden(program, seed, extra):
    text = sample_cli(program, "--seed", str(seed), *extra)
    check_golden(GOLDEN / "sample" / _golden(program, seed, extra), text,
                 "tests/test_golden_printer.py")


@pytest.mark.parametrize("name", sorted(p.name for p in (GOLDEN / "sample").glob("*.darch")))
def test_each_golden_architecture_is_a_space_of_one(name):
    # the printed form is darchlang: every architecture in it parses to exactly one
    text = (GOLDEN / "sample" / name).read_text()
    for chunk in text.split("# architecture ")[1:]:
        body = chunk.split("\n", 1)[1]
        assert darchlang.load_string(body, name).space.count() == 1
