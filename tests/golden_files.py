"""Golden files: compare printed output with `tests/golden/`, or accept new output.

    DARCH_UPDATE_GOLDEN=1 python -m pytest <the test file>

rewrites the files instead of comparing; review `git diff tests/golden` before
committing them. Every golden test uses this one helper, so the way to accept new
output is the same for all of them (see `tests/golden/README.md`).
"""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = ROOT / "tests" / "golden"
UPDATE = os.environ.get("DARCH_UPDATE_GOLDEN") == "1"


def check_golden(path: Path, text: str, test_file: str) -> None:
    """Compare `text` with the golden file at `path`, or rewrite it under
    DARCH_UPDATE_GOLDEN=1; `test_file` is named in the message that says how."""
    if UPDATE:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        return
    how = f"DARCH_UPDATE_GOLDEN=1 python -m pytest {test_file}"
    assert path.exists(), f"no golden file {path}: run `{how}` to create it"
    assert text == path.read_text(), (
        f"{path.relative_to(ROOT)} differs; if the new output is right, accept it with `{how}`"
    )
