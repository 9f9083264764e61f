"""A space too entangled to count is searched like any other: its journal's
fingerprint is made of its choices alone, and invalid candidates are capped without
knowing how many architectures there are."""

from __future__ import annotations

import pytest

import darchlang
from darchlang.errors import CountOutOfReach
from darchlang.search import make_searcher, run_search

PATH = """
def nxt(l) = if l == 0 then one_of(0, 1) else if l == 1 then one_of(0, 1, 2) else one_of(1, 2)
def walk(n, l) = if n == 0 then l else walk(n - 1, nxt(l))
space = conv2d(filters: 4 * (1 + walk(100, 0)), size: 3)
"""


@pytest.mark.slow
def test_an_uncountable_space_searches_resumes_and_caps_invalid_ones(tmp_path):
    space = darchlang.load_string(PATH).space
    with pytest.raises(CountOutOfReach):
        space.count()
    journal = tmp_path / "path.db"
    first = run_search(space, make_searcher("random", space, 0), lambda a: 0.5, 3, journal,
                       progress=False)
    assert first.done == 3
    again = darchlang.load_string(PATH).space  # the same program, loaded anew
    resumed = run_search(again, make_searcher("random", again, 0), lambda a: 0.5, 5, journal,
                         progress=False)
    assert resumed.done == 5 and resumed.stopped is None
    refused = run_search(space, make_searcher("random", space, 1), lambda a: 0.5, 5,
                         progress=False, preflight=lambda arch: "too wide", max_invalid=4)
    assert refused.stopped.startswith("stopped after 4 invalid architectures in a row")
