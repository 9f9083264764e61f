"""The application layer: the actions every front end calls, and the papercuts of the
first hour they fixed (issue 19), each pinned here as a user meets it."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from darchlang.app import programs
from darchlang.app.searching import SearchRequest, default_journal, setup_search
from darchlang.errors import DarchError
from darchlang.semantics.program import load_string
from darchlang.text import display_path

ROOT = Path(__file__).resolve().parent.parent
SMALL = "space = concat [flatten(), affine(units: one_of(8, 16)), relu(), affine(units: 10)]\n"


def darch(*args, cwd=ROOT):
    env = dict(os.environ, PYTHONPATH=str(ROOT), OMP_NUM_THREADS="1")
    return subprocess.run([sys.executable, "-m", "darchlang.cli", *map(str, args)], cwd=cwd,
                          capture_output=True, text=True, timeout=120, env=env)


# ---- counting says what it counts -------------------------------------------------------
def test_count_names_its_parts():
    space = programs.load(str(ROOT / "examples/digits.darch")).space
    size = programs.count(space)
    assert (size.total, size.network, size.settings) == (16848, 2106, 8)
    assert size.text() == ("16,848 architectures (2,106 of `space` x 8 combinations of training "
                           "settings of `train`)")
    assert programs.count(load_string(SMALL).space).text() == "2 architectures"


def test_a_choice_shared_by_network_and_settings_is_counted_as_a_whole():
    text = ("w = one_of(8, 16)\nspace = concat [flatten(), affine(units: w)]\n"
            "train = hyperparams { batch_size: w }\n")
    size = programs.count(load_string(text).space)
    assert (size.total, size.network, size.settings) == (2, None, None)
    assert size.text() == "2 architectures"


# ---- the train block is checked with places (issue 15.7) --------------------------------
@pytest.mark.parametrize("field, where, message", [
    ("learning_rate: 0.01", "4:5", "unknown training setting `learning_rate` in the `train` block"),
    ("max_epochs: one_of(3, 0)", "4:17",
     "training setting `max_epochs` in the `train` block must be a positive integer, got 0"),
    ('optimizer: "sgdm"', "4:16", "training setting `optimizer` in the `train` block must be"),
])
@pytest.mark.slow
def test_check_finds_bad_training_settings_at_their_place(tmp_path, field, where, message):
    program = tmp_path / "p.darch"
    program.write_text(f"{SMALL}\ntrain = hyperparams {{\n    {field},\n}}\n")
    done = darch("check", program)
    assert done.returncode == 1
    assert done.stderr.startswith(f"{program}:{where}: error: {message}")
    assert "^" in done.stderr and "Traceback" not in done.stderr
    # the settings are part of what is counted, and training needs them: the same error
    # from both, before anything starts
    counted = darch("count", program)
    assert counted.returncode == 1 and counted.stderr.startswith(f"{program}:{where}: error: ")
    trained = darch("train", program, "--max-epochs", "1", "--no-progress")
    assert trained.returncode == 1 and trained.stderr.startswith(f"{program}:{where}: error: ")


# ---- what an editor asks ----------------------------------------------------------------
def test_the_language_server_reports_bad_training_settings_at_their_place():
    from darchlang.lsp.analysis import analyse

    assert analyse(SMALL, "a.darch").errors == []
    [err] = analyse(SMALL + "train = hyperparams { learning_rat_init: 0.1 }\n", "a.darch").errors
    assert err.message.startswith("unknown training setting `learning_rat_init`")
    assert (err.span.line, err.span.col) == (2, 23)


def test_describe_and_complete_answer_for_any_front_end():
    from darchlang.app.complete import complete_code
    from darchlang.app.describe import brief, help_text

    program = load_string("def block(w) = affine(units: w)\nspace = concat [flatten(), block(16)]\n")
    env, names = program.env, program.names
    assert help_text(names["block"], env) == "def block(w) = affine(units: w)"
    assert brief(names["space"], "space", env) == "sub-space, 1 architecture"
    assert brief(names["block"], "block", env) == "function block(w)"
    got = complete_code("space = concat [affine(u", {**names, "affine": _affine()}, env)
    assert [(c.label, c.insert, c.replace) for c in got] == [("units:", "units: ", 1)]


def _affine():
    from darchlang.environment import default_environment
    from darchlang.semantics.program import Loader

    return Loader(default_environment()).builtins.names["affine"]


# ---- seeds: the searcher's and the training's apart (19.5) ------------------------------
@pytest.mark.slow
def test_search_and_train_seeds_are_separate_printed_and_journaled(tmp_path):
    program = tmp_path / "s.darch"
    program.write_text(SMALL)

    def search(*flags):
        journal = tmp_path / f"j{len(list(tmp_path.glob('*.db')))}.db"
        done = darch("search", program, "--searcher", "grid", "--budget", "2",
                     "--max-epochs", "1", "--journal", journal, *flags, cwd=tmp_path)
        assert done.returncode == 0, done.stderr
        report = json.loads(darch("report", journal, "--json").stdout)
        return done.stdout, report

    drawn, drawn_report = search()
    given, given_report = search("--seed", "5")
    assert "train seed 0" in drawn and "seed 5, train seed 0" in given
    assert drawn_report["config"]["settings"]["train_seed"] == 0
    assert given_report["config"]["seed"] == 5
    # a grid tries the same architectures whatever its seed; with the same train seed
    # they score the same however the searcher's seed was given
    scores = [[e["score"] for e in r["evaluations"]] for r in (drawn_report, given_report)]
    assert scores[0] == scores[1]
    other, other_report = search("--seed", "5", "--train-seed", "3")
    assert "seed 5, train seed 3" in other
    assert other_report["config"]["settings"]["train_seed"] == 3


@pytest.mark.slow
def test_a_resumed_search_keeps_its_recorded_train_seed(tmp_path):
    program = tmp_path / "s.darch"
    program.write_text(SMALL)
    journal = tmp_path / "x.db"
    base = ["search", program, "--synthetic", "1", "--journal", journal]
    assert darch(*base, "--budget", "2", "--train-seed", "7").returncode == 0
    resumed = darch(*base, "--budget", "3")
    assert resumed.returncode == 0 and "train seed" not in resumed.stdout  # synthetic: none
    config = json.loads(darch("report", journal, "--json").stdout)["config"]
    assert config["settings"]["landscape"] == 7


def test_setup_search_takes_seeds_from_the_request(tmp_path):
    program = tmp_path / "s.darch"
    program.write_text(SMALL)
    setup = setup_search(SearchRequest(str(program), budget=2, searcher="random", seed=4,
                                       train_seed=2, overrides={"max_epochs": 1}))
    assert (setup.seed, setup.train_seed) == (4, 2)
    assert setup.evaluator.seed == 2
    with pytest.raises(DarchError, match="the budget must be at least 1"):
        setup_search(SearchRequest(str(program), budget=0))


# ---- first steps: a journal by default, and the next command (15.7) ---------------------
@pytest.mark.slow
def test_search_writes_a_journal_by_default_and_says_what_to_run_next(tmp_path):
    program = tmp_path / "first.darch"
    program.write_text(SMALL)
    done = darch("search", program, "--synthetic", "1", "--budget", "3", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    [journal] = (tmp_path / "runs").glob("first-*.db")
    lines = done.stdout.splitlines()
    assert lines[-2:] == [f"journal: runs/{journal.name}", f"next: darch report runs/{journal.name}"]
    assert darch("report", f"runs/{journal.name}", cwd=tmp_path).returncode == 0
    assert not list(tmp_path.glob("*.db"))
    none = darch("search", program, "--synthetic", "1", "--budget", "2", "--no-journal",
                 cwd=tmp_path)
    assert "journal:" not in none.stdout and len(list((tmp_path / "runs").glob("*.db"))) == 1


def test_default_journals_never_collide(tmp_path):
    import datetime as dt

    now = dt.datetime(2026, 1, 2, 3, 4, 5)
    first = default_journal("a/space.darch", str(tmp_path), now)
    assert first == str(tmp_path / "space-20260102-030405.db")
    Path(first).touch()
    assert default_journal("space.darch", str(tmp_path), now) == \
        str(tmp_path / "space-20260102-030405-2.db")


# ---- test accuracy only for the final best (19.6) ---------------------------------------
@pytest.mark.slow
def test_the_search_table_shows_no_test_accuracy_unless_asked(tmp_path):
    program = tmp_path / "s.darch"
    program.write_text(SMALL)
    args = ["search", program, "--searcher", "grid", "--budget", "2", "--max-epochs", "1",
            "--journal", tmp_path / "t.db"]
    done = darch(*args)
    assert done.returncode == 0, done.stderr
    table = done.stdout.split("best 2 architectures", 1)[1].split("best architecture (")[0]
    assert "test" not in table and "params" in table
    assert "test accuracy 0." in done.stdout.split("best architecture (", 1)[1].splitlines()[0]
    shown = darch(*args, "--show-test")
    assert "test" in shown.stdout.split("best 2 architectures", 1)[1].split("best architecture")[0]
    report = darch("report", tmp_path / "t.db")
    assert " test " not in report.stdout.split("best 2 architectures", 1)[1].split("best arch")[0]


# ---- wording (19.8) ---------------------------------------------------------------------
@pytest.mark.slow
def test_no_empty_decisions_for_a_space_without_choices(tmp_path):
    program = tmp_path / "one.darch"
    program.write_text("space = concat [flatten(), affine(units: 10)]\n")
    done = darch("compile", program, "--input", "64")
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[0].endswith("(no choices: the space has one architecture)")
    assert "decisions:" not in darch("sample", program).stdout


@pytest.mark.slow
def test_a_candidate_that_never_trained_shows_no_time(tmp_path):
    program = tmp_path / "bad.darch"
    # a convolution after global pooling has no image to work on: it never trains (it is
    # found invalid before training, tests/test_preflight.py)
    program.write_text("space = concat [one_of(concat [global_avg_pool(), conv2d(filters: 4, "
                       "size: 3)], flatten()), affine(units: 10)]\n")
    done = darch("search", program, "--searcher", "grid", "--budget", "2", "--max-epochs", "1",
                 "--no-journal", "--no-progress")
    lines = [line for line in done.stderr.splitlines() if line.startswith("#")]
    failed = [line for line in lines if "failed:" in line or "invalid, not trained:" in line]
    trained = [line for line in lines if "score" in line]
    assert failed and trained, done.stderr
    assert not any(re.search(r" in \d+\.\ds", line) for line in failed)
    assert all(re.search(r" in \d+\.\ds", line) for line in trained)
    assert "best architecture (#1," in done.stdout and "best 1 architectures" not in done.stdout


# ---- exported source names its file as the user does (19.11) ----------------------------
@pytest.mark.slow
def test_exported_source_names_the_file_relative_or_by_name(tmp_path):
    out = tmp_path / "m.py"
    inside = darch("compile", "examples/digits.darch", "--input", "1x8x8", "--emit-python", out)
    assert inside.returncode == 0, inside.stderr
    assert "from examples/digits.darch." in out.read_text()
    absolute = darch("compile", ROOT / "examples/digits.darch", "--input", "1x8x8",
                     "--emit-python", out, cwd=tmp_path)
    assert absolute.returncode == 0, absolute.stderr
    text = out.read_text()
    assert str(ROOT) not in text and "from digits.darch." in text
    assert str(ROOT) not in absolute.stdout  # the layer table's source column too


def test_display_path():
    assert display_path("<repl>") == "<repl>"
    assert display_path("x/y.darch") == "x/y.darch"
    assert display_path(str(Path.cwd() / "a" / "b.darch")) == os.path.join("a", "b.darch")
    assert display_path("/nowhere/else/c.darch") == "c.darch"


# ---- the layer table names the call site (19.3) -----------------------------------------
@pytest.mark.slow
def test_the_two_convolutions_of_one_def_read_apart():
    done = darch("compile", "examples/cifar10_simple.darch", "--seed", "1")
    convs = [line.split()[2:7] for line in done.stdout.splitlines() if " conv2d " in line]
    assert [" ".join(c[:5]) for c in convs] == [
        "examples/cifar10_simple.darch:22, in conv at :9",
        "examples/cifar10_simple.darch:24, in conv at :9"]
    layers = json.loads(darch("compile", "examples/cifar10_simple.darch", "--json").stdout)
    first = layers["summary"]["layers"][0]
    assert first["where"] == "examples/cifar10_simple.darch:9"  # the JSON keeps the line
    assert first["source"] == "examples/cifar10_simple.darch:22, in conv at :9"


# ---- run_search shows progress when watched, and takes progress=False (19.10) -----------
def test_run_search_progress_default_true_and_false(capsys, monkeypatch):
    from darchlang.search import make_searcher, run_search
    from darchlang.search import progress as shown

    space = load_string(SMALL).space

    def search(**kw):
        run_search(space, make_searcher("random", space, seed=0), lambda a: 1.0, 2, **kw)
        return capsys.readouterr().err

    assert search() == ""  # pytest's captured stderr is no terminal: silent
    lines = search(progress=True).splitlines()
    assert lines[0].startswith("#0 score 1.0000") and lines[-1].endswith("[2/2, best 1.0000]")
    monkeypatch.setattr(shown, "attached", lambda: True)  # as at a terminal or a notebook
    assert "#1 score 1.0000" in search()
    assert search(progress=False) == ""
    heard = []
    assert search(progress=heard.append) == "" and heard[-1].kind == "finished"
