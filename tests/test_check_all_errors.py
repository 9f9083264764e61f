"""`darch check` reports the `train` block's mistakes together with the network's
(issue 19.2): every independent error, in source order, in text, in `--json` and in the
language server's diagnostics."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from darchlang.lsp.analysis import analyse

BROKEN = """\
lr = one_of([0.01, 0.1])

space = concat [
    conv2d(16, 3),
    relu(),
    bogus_layer(3),
    flatten(),
    affine(10),
]

train = hyperparams {
    learning_rat: 0.01,
    learning_rate_init: lr,
    max_epochs: "three",
}
"""

EXPECTED = [
    (6, "unknown name `bogus_layer`"),
    (12, "unknown training setting `learning_rat` in the `train` block"),
    (14, "training setting `max_epochs` in the `train` block must be a positive integer, "
         'got "three"'),
]


def _check(path: Path, *flags: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "darchlang.cli", "check", *flags, str(path)],
                          capture_output=True, text=True, timeout=60)


def test_check_reports_network_and_train_errors_in_source_order(tmp_path: Path) -> None:
    path = tmp_path / "broken.darch"
    path.write_text(BROKEN)
    out = _check(path)
    assert out.returncode == 1
    places = [f"{path}:{line}:" for line, _ in EXPECTED]
    positions = [out.stderr.index(place) for place in places]
    assert positions == sorted(positions)
    for _, message in EXPECTED:
        assert message in out.stderr
    assert "3 errors" in out.stderr
    assert "Traceback" not in out.stderr


def test_check_json_lists_them_all(tmp_path: Path) -> None:
    path = tmp_path / "broken.darch"
    path.write_text(BROKEN)
    out = _check(path, "--json")
    assert out.returncode == 1
    data = json.loads(out.stdout)
    assert [(e["line"], e["message"]) for e in data["errors"]] == EXPECTED


def test_train_block_that_uses_a_broken_binding_adds_nothing(tmp_path: Path) -> None:
    """A `train` block depending on what failed is not checked apart: its value is
    unknown, and the failure is reported once."""
    path = tmp_path / "broken.darch"
    path.write_text(BROKEN.replace("lr = one_of([0.01, 0.1])", "lr = one_of(nope)"))
    data = json.loads(_check(path, "--json").stdout)
    assert [e["message"] for e in data["errors"]] == [
        "unknown name `nope`", "unknown name `bogus_layer`"]


def test_settings_errors_come_with_errors_found_counting_and_in_functions(
        tmp_path: Path) -> None:
    path = tmp_path / "names.darch"
    path.write_text("def unused() = relu(ghost)\n\nspace = concat [relu()]\n\n"
                    "train = hyperparams { batch_sise: 8 }\n")
    data = json.loads(_check(path, "--json").stdout)
    assert [e["line"] for e in data["errors"]] == [1, 5]


def test_language_server_diagnostics_share_the_path() -> None:
    analysis = analyse(BROKEN, "broken.darch")
    assert [(e.span.line, e.message) for e in analysis.errors] == EXPECTED


def test_a_plain_record_as_the_train_block_is_an_error_not_ignored(tmp_path: Path) -> None:
    """`train = { ... }` was silently ignored by check, train and search alike: the
    settings in it never applied."""
    path = tmp_path / "record.darch"
    path.write_text("space = concat [flatten(), affine(units: 10)]\n"
                    "train = { max_epochs: 1 }\n")
    data = json.loads(_check(path, "--json").stdout)
    assert [(e["line"], e["col"], e["message"]) for e in data["errors"]] == [
        (2, 9, "`train` must be a `hyperparams` block to set training settings, but it is a "
               "plain record")]
    assert data["errors"][0]["help"] == "write `train = hyperparams { ... }`"


SEVERAL_IN_ONE = """\
def block(w) = concat [conv2d(filters: w, sise: 3), relu()]

space = concat [
    block(16),
    rellu(),
    block(32),
    affine(units: 10, init: kaiming(one_of(gain))),
]
"""


def test_independent_mistakes_in_one_network_are_reported_together() -> None:
    """Each item of a list is evaluated even when one before it failed; a mistake in a
    function called twice is one error, and nothing is reported for what they build."""
    analysis = analyse(SEVERAL_IN_ONE, "several.darch")
    assert [(e.span.line, e.span.col, e.message) for e in analysis.errors] == [
        (1, 43, "`conv2d` has no parameter `sise`"),
        (5, 5, "unknown name `rellu`"),
        (7, 44, "unknown name `gain`"),
    ]


def test_a_tripped_limit_is_reported_once() -> None:
    program = ("def grow(n) = if n == 0 then relu() else concat [grow(n - 1), grow(n - 1)]\n"
               "space = concat [grow(40), grow(40), grow(40)]\n")
    errors = analyse(program, "big.darch").errors
    assert len(errors) == 1 and "too much work" in errors[0].message


def test_count_and_show_refuse_what_check_refuses(tmp_path: Path) -> None:
    """The `train` block is part of what is counted: a file `check` rejects for it is
    not a fine file to `count` or `show`."""
    path = tmp_path / "bad_train.darch"
    path.write_text("space = concat [conv2d(filters: 16, size: 3), affine(units: 10)]\n"
                    "train = hyperparams { optimzer: \"adam\" }\n")
    for command in ("check", "count", "show"):
        out = subprocess.run([sys.executable, "-m", "darchlang.cli", command, str(path)],
                             capture_output=True, text=True, timeout=60)
        assert out.returncode == 1, command
        assert f"{path}:2:23: error: unknown training setting `optimzer`" in out.stderr
