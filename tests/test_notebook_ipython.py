"""The extension in a real IPython shell (the one IPython's own tests use): what a
notebook user sees when a `%darch` line is mistyped, and what a program bound by a
`%%darch` cell shows when the cell's last line names it."""

from __future__ import annotations

import pytest

pytest.importorskip("IPython")


@pytest.fixture(scope="module")
def ip():
    from IPython.testing.globalipapp import start_ipython

    shell = start_ipython()
    shell.run_line_magic("load_ext", "darchlang")
    return shell


def test_a_line_magic_with_an_open_quote_says_so_without_a_traceback(ip, capsys):
    result = ip.run_cell("%darch count 'examples/cifar10_simple.darch")
    assert result.error_in_exec is None
    err = capsys.readouterr().err
    assert err.startswith("darch: error: cannot read the arguments (No closing quotation)")
    assert "Traceback" not in err


def test_a_program_bound_by_a_cell_shows_as_one_line(ip):
    ip.run_cell_magic("darch", "simple", "w = one_of(8, 16)\n"
                      "space = concat [conv2d(filters: w, size: 3), relu()]\n")
    shown = ip.display_formatter.format(ip.user_ns["simple"])[0]["text/plain"]
    assert shown == "<Program <cell simple>: w, space>"
