"""What the REPL says about a command's arguments, and how a script's lines are grouped
into inputs: a mistake is named as the user typed it, with the form that works."""

from __future__ import annotations

import io

import pytest

from darchlang.repl.app import inputs, run_script
from darchlang.repl.session import Session


@pytest.fixture
def session():
    s = Session()
    assert s.execute("space = concat [conv2d(filters: one_of(4, 8), size: 3), relu()]").ok
    return s


@pytest.mark.parametrize(("command", "message", "hint"), [
    (":compile space abc", "error: `abc` is not an input shape",
     "INPUT is channels x height x width (or a feature count), as in "
     "`:compile space 3x32x32`"),
    (":compile space 1x8x8 more", "error: usage: :compile [NAME] [INPUT]",
     "one NAME and one INPUT at most, as in `:compile space 3x32x32`"),
    (":train space x", "error: usage: :train [NAME] [SEED]",
     "SEED is an integer, as in `:train space 3`"),
    (":sample space x", "error: usage: :sample [NAME] [SEED] [N]",
     "SEED and N are integers, as in `:sample space 7 3`"),
    (":count a b", "error: usage: :count [NAME]", None),
])
def test_a_wrong_argument_is_named_with_the_form_that_works(session, command, message, hint):
    reply = session.execute(command)
    assert not reply.ok
    first, *rest = reply.text.splitlines()
    assert first == message
    if hint is not None:
        assert rest == [f"  = help: {hint}"]


def test_a_command_line_ends_a_scripts_unfinished_input():
    lines = ["z = 1 +", ":count", "space = concat [", ":env", "relu()]", "x = [", "  1]"]
    assert list(inputs(lines)) == ["z = 1 +", ":count", "space = concat [", ":env", "relu()]",
                                   "x = [\n  1]"]


def test_a_script_runs_the_command_after_an_unfinished_input():
    out, err = io.StringIO(), io.StringIO()
    code = run_script(Session(), io.StringIO("w = 1 +\n:env\n"), out, err)
    assert code == 1
    assert err.getvalue().startswith("<repl>:1:8: error: unexpected end of file")
    assert out.getvalue().startswith("nothing defined yet")
