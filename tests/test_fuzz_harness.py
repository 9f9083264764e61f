"""bench/fuzz.py, bounded for CI: every front-end entry point on a few hundred inputs of
each generator, in worker processes under the harness's memory limit. The full run
(`python bench/fuzz.py`, 100,000 inputs) stays on demand."""

import importlib.util
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parent.parent / "bench" / "fuzz.py"


def harness():
    spec = importlib.util.spec_from_file_location("darch_fuzz", BENCH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_generators_make_each_kind_of_input():
    import random

    fuzz = harness()
    rng = random.Random(0)
    corpus = fuzz.corpus_texts()
    assert len(corpus) >= 10  # the examples and the stdlib
    kinds = {fuzz.make_input(rng, corpus)[0] for _ in range(200)}
    assert kinds == {"bytes", "tokens", "generated", "mutation"}
    program = fuzz.generated_program(random.Random(3))
    assert "space =" in program and "w = one_of(" in program


@pytest.mark.slow
def test_a_bounded_fuzz_run_finds_nothing():
    # A generous time limit: CI's machine is shared; the limits under test trip in
    # well under a second, and a hang would still be caught.
    findings, ran = harness().fuzz(n=100, seed=2026, workers=2, time_limit=30.0, log=None)
    assert ran == 100
    assert findings == [], "\n\n".join(f"{f['kind']} in darch {f['entry']} ({f['generator']}):\n"
                                       f"{f['input'][:400]}\n{f['detail'][-1500:]}"
                                       for f in findings[:3])
