"""End to end: the real `darch repl` in a pseudo-terminal, typed at like a user."""

import os
import subprocess
import sys
import time
from pathlib import Path

import pexpect
import pytest

ROOT = Path(__file__).resolve().parent.parent
PROMPT = "darch>"


@pytest.fixture
def repl(tmp_path):
    env = dict(os.environ, XDG_DATA_HOME=str(tmp_path), TERM="xterm",
               PROMPT_TOOLKIT_NO_CPR="1")  # pexpect does not answer cursor-position queries
    child = pexpect.spawn(sys.executable, ["-m", "darchlang.cli", "repl",
                                           "examples/cifar10_simple.darch"],
                          cwd=str(ROOT), env=env, encoding="utf-8", timeout=30,
                          dimensions=(40, 140))
    yield child
    if child.isalive():
        child.terminate(force=True)


@pytest.mark.slow
def test_typing_in_a_terminal(repl, tmp_path):
    repl.expect(r"loaded examples/cifar10_simple.darch: \d+ names")
    repl.expect("space: sub-space, 2,025 architectures")
    repl.expect(PROMPT)

    repl.send("w = one_of(8, 16)\r")
    repl.expect(r"w: choice of 8 \| 16")
    repl.expect(PROMPT)

    repl.send("tiny = concat [\r")                  # continues: the bracket is open
    repl.send("conv2d(filters: w, size: 3),\r")
    repl.send("relu()]\r")
    repl.expect("tiny: sub-space, 2 architectures")
    repl.expect(PROMPT)

    repl.send(":count spa")                         # Tab completes `space`; Enter takes
    time.sleep(0.3)                                 # the completion, a second Enter runs
    repl.send("\t")
    time.sleep(0.3)
    repl.send("\r")
    time.sleep(0.2)
    repl.send("\r")
    repl.expect("2,025 architectures")
    repl.expect(PROMPT)

    repl.send("conv2d(filter: 3)\r")
    repl.expect("did you mean `filters`")
    repl.expect(PROMPT)

    repl.send("x = = 3")                            # the validator stops this line,
    repl.send("\r")
    repl.expect("unexpected `=`")
    repl.send("\x03")                               # and Ctrl-C drops it
    repl.expect(PROMPT)

    repl.send(":sample tiny 3\r")
    repl.expect(r"decisions: \d")
    repl.expect(PROMPT)

    repl.sendcontrol("d")
    repl.expect(pexpect.EOF)
    repl.close()
    assert repl.exitstatus == 0
    history = (tmp_path / "darchlang" / "repl_history").read_text()
    assert "+:sample tiny 3" in history and "+    conv2d(filters: w, size: 3)," in history


@pytest.mark.slow
def test_piped_input_runs_as_a_script():
    script = ":count\nspace2 = concat [\n  space,\n  relu(),\n]\n:count space2\nbad(\n\n:cou\n"
    done = subprocess.run([sys.executable, "-m", "darchlang.cli", "repl",
                           "examples/cifar10_simple.darch"], input=script, cwd=str(ROOT),
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 1  # one input failed
    lines = done.stdout.splitlines()
    assert lines[0].startswith("loaded examples/cifar10_simple.darch: ")
    assert lines[1:] == [
        "space: sub-space, 2,025 architectures",
        "2,025 architectures",
        "space2: sub-space, 2,025 architectures",
        "2,025 architectures",
        "2,025 architectures",
    ]
    assert "<repl>:1:5: error: unexpected end of file" in done.stderr
