"""Garbage in, darchlang errors out: the parser and interpreter never crash."""

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import darchlang
from darchlang import DarchError

EXAMPLES = [p.read_text() for p in sorted(Path("examples").glob("*.darch"))]
ALPHABET = st.sampled_from(list("()[]{},:=+-*/<>!.\"'#\n 0123456789abcdefxyz_") +
                           ["def ", "let ", " in ", "if ", " then ", " else ", "one_of", "concat",
                            "conv2d", "repeat", "space", "import ", "param ", "1e-9", "**"])


def load_only_darch_errors(text: str) -> None:
    try:
        darchlang.load_string(text, "fuzz.darch").space.count()
    except DarchError as err:
        assert err.render()  # renders without raising


@pytest.mark.slow
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(ALPHABET, max_size=40).map("".join))
def test_random_text(text):
    load_only_darch_errors(text)


@pytest.mark.slow
@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(EXAMPLES), st.data())
def test_mutated_examples(source, data):
    text = source
    for _ in range(data.draw(st.integers(1, 3))):
        op = data.draw(st.sampled_from(["delete", "insert", "swap"]))
        i = data.draw(st.integers(0, max(0, len(text) - 1)))
        if op == "delete":
            j = data.draw(st.integers(i, min(len(text), i + 8)))
            text = text[:i] + text[j:]
        elif op == "insert":
            text = text[:i] + data.draw(ALPHABET) + text[i:]
        else:
            j = data.draw(st.integers(0, max(0, len(text) - 1)))
            a, b = sorted((i, j))
            text = text[:a] + text[b:b + 1] + text[a + 1:b] + text[a:a + 1] + text[b + 1:]
    load_only_darch_errors(text)


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=40))
@pytest.mark.slow
def test_arbitrary_unicode(text):
    load_only_darch_errors(text)
