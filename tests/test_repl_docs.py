"""The example session in docs/repl.md is run, and must print exactly what it shows."""

from pathlib import Path

from darchlang.repl.session import Session

DOC = Path(__file__).resolve().parent.parent / "docs" / "repl.md"
PROMPT = "darch> "
CONTINUATION = "...... "


def transcripts(text):
    """Each ```text block that starts with a prompt, as its lines."""
    blocks, current = [], None
    for line in text.splitlines():
        if current is None and line.strip() == "```text":
            current = []
        elif current is not None and line.strip() == "```":
            if current and current[0].startswith(PROMPT):
                blocks.append(current)
            current = None
        elif current is not None:
            current.append(line)
    return blocks


def exchanges(lines):
    """(input, expected output) pairs: prompt and continuation lines, then the output."""
    pairs = []
    for line in lines:
        if line.startswith(PROMPT):
            pairs.append([line[len(PROMPT):], []])
        elif line.startswith(CONTINUATION) and not pairs[-1][1]:
            pairs[-1][0] += "\n" + line[len(CONTINUATION):]
        else:
            pairs[-1][1].append(line)
    return [(given, "\n".join(out)) for given, out in pairs]


def test_the_documented_session_runs_as_shown():
    blocks = transcripts(DOC.read_text("utf-8"))
    assert blocks, "docs/repl.md has no example session"
    for block in blocks:
        session = Session()
        for given, expected in exchanges(block):
            assert session.execute(given).text.rstrip("\n") == expected, given
