"""A wrong command line prints two lines: a one-line usage naming `--help`, and what is
wrong, so the message is the line a user sees (argparse's usage lists every option:
twenty lines above it for `darch search`)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DIGITS = str(ROOT / "examples" / "digits.darch")


def darch(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "darchlang.cli", *args],
                          capture_output=True, text=True, cwd=ROOT, timeout=120)


@pytest.mark.parametrize(("args", "prog", "positionals", "message"), [
    # argparse's own check of a flag's value
    (["search", DIGITS, "--budget", "abc"], "darch search", "file",
     "argument --budget: expected an integer, got 'abc'"),
    # an option that does not exist, with the closest one
    (["search", DIGITS, "--epochs", "2"], "darch search", "file",
     "unrecognized arguments: --epochs 2; did you mean --max-epochs?"),
    # a usage error a command finds itself (UsageError)
    (["search", DIGITS, "--workers", "0"], "darch search", "file",
     "--workers must be at least 1"),
    (["search", DIGITS, "--workers", "two"], "darch search", "file",
     "argument --workers: expected an integer, got 'two'"),
    (["search", DIGITS, "--scheduler", "hyperband", "--eta", "e"], "darch search", "file",
     "argument --eta: expected an integer, got 'e'"),
    # a searcher option's value out of its range, as an unknown option is
    (["search", DIGITS, "--synthetic", "1", "--no-journal", "-o", "population=0"],
     "darch search", "file", "option `population` of searcher `evolution` must be at least 1, "
     "got 0"),
    (["search", DIGITS, "--synthetic", "1", "--no-journal", "--searcher", "smbo",
      "-o", "epsilon=1.5"],
     "darch search", "file", "option `epsilon` of searcher `smbo` must be between 0 and 1, got 1.5"),
    # a number flag, in the integer flags' words; what Ray reserves, before Ray starts
    (["train", DIGITS, "--time-minutes-max", "abc"], "darch train", "file",
     "argument --time-minutes-max: expected a number, got 'abc'"),
    (["search", DIGITS, "--eval-timeout", "ten"], "darch search", "file",
     "argument --eval-timeout: expected a number, got 'ten'"),
    (["search", DIGITS, "--executor", "ray", "--gpus-per-eval", "nan"], "darch search", "file",
     "argument --gpus-per-eval: must be a finite number of at least 0, got 'nan'"),
    (["search", DIGITS, "--executor", "ray", "--cpus-per-eval", "-1"], "darch search", "file",
     "argument --cpus-per-eval: must be a finite number of at least 0, got '-1'"),
    (["dashboard", "runs/x.db", "--port", "http"], "darch dashboard", "journal",
     "argument --port: expected an integer, got 'http'"),
    (["count", DIGITS, "-D", "num_classes"], "darch count", "file",
     "-D expects NAME=VALUE, got 'num_classes'"),
    (["search", DIGITS, "--dataset", "npz:"], "darch search", "file",
     "argument --dataset: `npz:` needs the archive's path after it, as in npz:data/train.npz"),
    (["train", DIGITS, "--dataset", "npz:"], "darch train", "file",
     "argument --dataset: `npz:` needs the archive's path after it, as in npz:data/train.npz"),
    # the top level, and a command of a command
    (["serach"], "darch", "COMMAND ...",
     "argument COMMAND: invalid choice: 'serach' (choose from 'check', 'count', 'show', "
     "'sample', 'fmt', 'compile', 'draw', 'train', 'search', 'report', 'export', "
     "'dashboard', 'journal', 'repl', 'lsp', 'plugins'); did you mean 'search'?"),
    (["journal", "backup"], "darch journal backup", "journal copy",
     "the following arguments are required: journal, copy"),
])
def test_a_usage_error_is_a_one_line_usage_and_the_message(args, prog, positionals, message):
    r = darch(*args)
    assert r.returncode == 2 and r.stdout == ""
    assert r.stderr.splitlines() == [
        f"usage: {prog} [options] {positionals}  (`{prog} --help` lists them)",
        f"{prog}: error: {message}",
    ]


def test_help_still_lists_every_option():
    r = darch("search", "--help")
    usage = r.stdout.split("\n\n", 1)[0]
    assert r.returncode == 0 and usage.startswith("usage: darch search [-h]")
    assert "[--budget N]" in usage and "[--eval-timeout SECONDS]" in usage


def test_a_define_for_no_param_is_a_usage_error(tmp_path):
    program = tmp_path / "p.darch"
    program.write_text("param num_classes = 10\nspace = affine(units: num_classes)\n")
    done = subprocess.run([sys.executable, "-m", "darchlang.cli", "count", str(program),
                           "-D", "num_clases=5"], capture_output=True, text=True)
    assert done.returncode == 2
    assert "-D num_clases: the program has no `param num_clases`" in done.stderr
    assert "did you mean `num_classes`?" in done.stderr
