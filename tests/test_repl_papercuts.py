"""The REPL's first-hour papercuts (issue 19.9), each pinned as a user meets it: at a
real terminal (pexpect) where only the screen shows it, through a pipe otherwise."""

import os
import re
import sys
from pathlib import Path

import pexpect
import pytest
from prompt_toolkit.input import create_pipe_input
from prompt_toolkit.output import DummyOutput

from darchlang.repl.app import Repl
from darchlang.repl.session import Session

ROOT = Path(__file__).resolve().parent.parent
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b[()][A-Z0-9]|\r")


def spawn(tmp_path, columns):
    env = dict(os.environ, XDG_DATA_HOME=str(tmp_path), TERM="xterm", PROMPT_TOOLKIT_NO_CPR="1")
    child = pexpect.spawn(sys.executable, ["-m", "darchlang.cli", "repl", "examples/digits.darch"],
                          cwd=str(ROOT), env=env, encoding="utf-8", timeout=30,
                          dimensions=(30, columns))
    child.expect("darch>")
    return child


@pytest.mark.slow
def test_a_syntax_error_wraps_its_message_and_pops_no_menu(tmp_path):
    child = spawn(tmp_path, 60)
    try:
        child.send("x = concat [relu(), batch_norm(), ]]\r")
        # the whole message, wrapped over rows of a 60-column terminal (it was cut at
        # the first row's end)
        child.expect(r"here\)")
        screen = ANSI.sub("", child.before)
        assert "nothing is op" in screen and "expected `def`" in screen
        # no completion menu at the spot the cursor jumped to (it listed every name)
        assert "hyperparams" not in screen.split("]]", 1)[-1]
    finally:
        child.terminate(force=True)


def run_repl(keys, session):
    with create_pipe_input() as pipe:
        pipe.send_text(keys)
        repl = Repl(session, input=pipe, output=DummyOutput(), echo=lambda reply: None)
        pipe.close()
        assert repl.run() == 0


def test_a_closing_bracket_goes_back_to_the_opening_lines_indentation():
    session = Session()
    run_repl("space = concat [\rrelu(),\rconcat [\rgelu(),\r]\r]\r", session)
    assert session.sources["space"] == (
        "space = concat [\n    relu(),\n    concat [\n        gelu(),\n    ]\n]")


def test_load_says_what_each_count_counts():
    lines = Session().execute(":load examples/digits.darch").text.splitlines()
    assert lines[1:] == [
        "space: sub-space, 2,106 architectures",
        "train: hyperparams, 8 combinations of training settings",
        "space with train: 16,848 architectures to search (what `darch count` counts)",
    ]
    # and `:count` agrees with `darch count`, saying how the number is made
    s = Session()
    s.execute(":load examples/digits.darch")
    assert s.execute(":count").text == (
        "16,848 architectures (2,106 of `space` x 8 combinations of training settings of "
        "`train`)")
