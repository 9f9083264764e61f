"""Every example in docs/backend.md runs: `pycon` blocks as doctests, `python` blocks as
code, and `console` blocks as `darch` commands whose output must match exactly.

The blocks share one namespace, in page order, as a reader would run them.
"""

from __future__ import annotations

import contextlib
import doctest
import io
import re
import shlex
from pathlib import Path

import pytest
import torch

from darchlang.cli import main

DOC = Path(__file__).resolve().parents[1] / "docs" / "backend.md"
BLOCK = re.compile(r"^```(\w+)\n(.*?)^```$", re.S | re.M)


def blocks() -> list[tuple[str, str, int]]:
    text = DOC.read_text()
    return [(m[1], m[2], text[: m.start()].count("\n") + 2) for m in BLOCK.finditer(text)]


def run_console(block: str, line: int) -> None:
    commands = re.split(r"^\$ ", block, flags=re.M)[1:]
    assert commands, f"docs/backend.md:{line}: a console block without a `$ ` command"
    for chunk in commands:
        command, _, expected = chunk.partition("\n")
        argv = shlex.split(command)
        assert argv[0] == "darch"
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            code = main(argv[1:])
        assert code == 0, f"docs/backend.md:{line}: `{command}` exited {code}"
        assert out.getvalue() == expected, f"docs/backend.md:{line}: output of `{command}`"


@pytest.mark.slow
def test_every_code_example_in_backend_doc_runs():
    torch.set_num_threads(1)
    found = blocks()
    assert {kind for kind, _, _ in found} == {"pycon", "python", "console"}
    namespace: dict = {"__name__": "backend_doc"}
    parser = doctest.DocTestParser()
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    for kind, code, line in found:
        if kind == "pycon":
            test = parser.get_doctest(code, namespace, f"backend.md:{line}", str(DOC), line)
            out = io.StringIO()
            result = runner.run(test, out=out.write, clear_globs=False)
            assert result.failed == 0, out.getvalue()
            namespace.update(test.globs)  # DocTest runs on a copy of the namespace
        elif kind == "python":
            exec(compile(code, f"docs/backend.md:{line}", "exec"), namespace)
        else:
            run_console(code, line)
