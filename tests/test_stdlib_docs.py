"""Every example in docs/spaces.md runs: each `$ darch` line of its console blocks prints
what the page shows under it (the `darch` blocks are run by tests/test_docs.py), and
the page's table lists every space of the standard library with its exact count."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
from test_literature_counts import COUNTS as LITERATURE_COUNTS
from test_stdlib_more import MORE_COUNTS
from test_stdlib_spaces import COUNTS
from test_stdlib_swin import SWIN_SPOS_COUNTS

from darchlang.cli import main
from darchlang.semantics.program import stdlib_dir

ROOT = Path(__file__).resolve().parent.parent
PAGE = ROOT / "docs" / "spaces.md"
CONSOLE = re.compile(r"```console\n(.*?)```", re.S)


def commands() -> list[tuple[str, str]]:
    """(command line, the output shown under it) for every `$ darch` line."""
    out = []
    for block in CONSOLE.findall(PAGE.read_text()):
        for chunk in re.split(r"^(?=\$ )", block, flags=re.M):
            if chunk.startswith("$ darch "):
                line, _, shown = chunk.partition("\n")
                out.append((line, shown))
    return out


def run(line: str, capsys) -> str:
    status = main(shlex.split(line)[2:])
    captured = capsys.readouterr()
    assert status == 0, f"`{line}` failed:\n{captured.err}"
    return captured.out


# counts print at once; shape proofs take seconds
QUICK = [
    pytest.param(line, shown, id=line, marks=[pytest.mark.slow] if "darch check" in line else [])
    for line, shown in commands() if "darch search" not in line
]
SEARCHES = [line for line, _ in commands() if "darch search" in line]


def test_the_page_has_counts_checks_and_searches():
    assert QUICK and SEARCHES


@pytest.mark.slow
@pytest.mark.parametrize(("line", "shown"), QUICK)
def test_each_command_prints_what_the_page_shows(line, shown, capsys, monkeypatch):
    monkeypatch.chdir(ROOT)
    assert run(line, capsys) == shown


@pytest.mark.slow
@pytest.mark.parametrize("line", SEARCHES)
def test_each_search_runs(line, capsys, monkeypatch):
    monkeypatch.chdir(ROOT)
    out = run(line, capsys)
    budget = int(re.search(r"--budget (\d+)", line).group(1))
    assert re.match(rf"{budget} evaluations? \(0 failed\)", out), out


def test_the_table_lists_every_space_with_its_count():
    rows = dict(re.findall(r"^\| `(\w+)\.darch` \| [^|]+ \| ([\d,]+) \|", PAGE.read_text(), re.M))
    spaces = {p.stem for p in stdlib_dir().glob("*.darch")} - {"prelude", "blocks"}
    counts = COUNTS | MORE_COUNTS | SWIN_SPOS_COUNTS | LITERATURE_COUNTS
    assert set(rows) == spaces == set(counts)
    assert {name: int(n.replace(",", "")) for name, n in rows.items()} == counts
