"""The QA review's search findings: a wrong output width refused before training, at
its line; a constraint no architecture meets explained by the constraint; command-line
mistakes as usage errors (exit 2) with the closest name; the best weights kept by
default so that `darch export` works after the README's search, and a failed export
leaves no folder; workers start from a preloaded server, and no candidate is timed
for what torch imports lazily."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import darchlang
from darchlang.cli import main
from darchlang.search import Journal
from darchlang.search.preflight import Preflight, constraint_of, over

ROOT = Path(__file__).resolve().parent.parent
DIGITS = ROOT / "examples" / "digits.darch"

MIXED = """
space = concat [
    conv2d(filters: 8, size: 3),
    relu(),
    affine(units: one_of(3, 10)),
]
"""


def darch(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "darchlang.cli", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300)


# -- the output width -------------------------------------------------------------------
@pytest.mark.slow
@pytest.mark.parametrize("command", ["search", "train"])
def test_a_fixed_wrong_output_is_refused_before_training_at_its_line(tmp_path, command):
    more = ["--budget", "2", "--no-journal"] if command == "search" else []
    r = darch(command, str(DIGITS), "--dataset", "digits", "--max-epochs", "1",
              "-D", "num_classes=3", *more, cwd=tmp_path)
    assert r.returncode == 1, r.stderr
    assert "#0" not in r.stderr  # no candidate trained, none even started
    line = DIGITS.read_text().splitlines().index("    affine(units: num_classes),") + 1
    assert f"{DIGITS}:{line}:5: error: the network's output is 3 per example; `digits` needs 10" \
        in r.stderr
    assert "affine(units: num_classes)" in r.stderr
    assert "help: the dataset has 10 classes; set param num_classes = 10" in r.stderr


@pytest.mark.slow
def test_only_the_architectures_whose_output_is_wrong_are_invalid():
    space = darchlang.load_string(MIXED, name="mixed.darch").space
    check = Preflight((1, 8, 8), num_classes=10, dataset="digits")
    assert check.fixed_output_error(space) is None  # the width is a choice
    verdicts = {}
    for seed in range(12):
        arch = space.sample(seed)
        verdicts[arch.decisions[0]] = check(arch)
    wrong = [v for v in verdicts.values() if v is not None]
    assert None in verdicts.values() and len(wrong) == 1
    assert wrong[0].startswith("mixed.darch:5:5: the network's output is 3 per example; "
                               "`digits` needs 10")


def test_a_fixed_wrong_output_without_a_param_says_what_the_last_layer_needs():
    space = darchlang.load_string(MIXED.replace("one_of(3, 10)", "4"), name="four.darch").space
    err = Preflight((1, 8, 8), num_classes=10, dataset="digits").fixed_output_error(space)
    assert err is not None and err.span.where == "four.darch:5:5"
    assert err.help == ("the dataset has 10 classes; end the network with a layer of 10 "
                        "units, e.g. affine(units: 10)")


# -- constraints ------------------------------------------------------------------------
def test_constraint_reasons_read_back():
    assert constraint_of(over("max_params", 17_162, 1_000)) == ("max_params", 17_162, 1_000)
    assert constraint_of(over("max_macs", 5, 4)) == ("max_macs", 5, 4)
    assert constraint_of("space.darch:3:5: `conv2d` cannot take ...") is None


@pytest.mark.slow
def test_a_constraint_below_every_architecture_is_explained_by_the_constraint(tmp_path,
                                                                                capsys):
    code = main(["search", str(DIGITS), "--dataset", "digits", "--budget", "2",
                 "--no-journal", "--max-params", "1000", "--max-invalid", "30", "--seed", "0"])
    err = capsys.readouterr().err
    assert code == 1
    assert "stopped after 30 invalid architectures in a row" in err
    assert "help: every candidate tried was over max_params 1,000 (the smallest tried has " \
        in err and "raise --max-params" in err
    assert "darch check --shapes" not in err


# -- usage errors -----------------------------------------------------------------------
@pytest.mark.parametrize("flags,says", [
    pytest.param(["-o", "populaton=3"], "searcher `evolution` has no option `populaton`; "
                 "did you mean `population`?", marks=pytest.mark.slow),  # loads the data
    pytest.param(["-o", "population=abc"], "option `population` of searcher `evolution` "
                 "expects a whole number, got `abc`; e.g. -o population=20",
                 marks=pytest.mark.slow),
    (["--evaluator", "nope"], "argument --evaluator: unknown evaluator 'nope' (registered: "),
    (["--objectives", "accuracy,-parms"], "did you mean `-params`?"),
    (["--set", "batch_sise=3"], "did you mean 'batch_size'?"),
    (["--set", "learning_rate_init=abc"], "`learning_rate_init` in the command line must be "
                                         "a positive number, got \"abc\""),
])
def test_a_wrong_name_or_value_on_the_command_line_is_a_usage_error(tmp_path, capsys, flags,
                                                                     says):
    code = main(["search", str(DIGITS), "--dataset", "digits", "--budget", "1",
                 "--journal", str(tmp_path / "x.db"), *flags])
    err = capsys.readouterr().err
    assert code == 2 and says in err, err
    assert not (tmp_path / "x.db").exists()


def test_train_takes_a_wrong_setting_value_as_a_usage_error(capsys):
    code = main(["train", str(DIGITS), "--dataset", "digits", "--set",
                 "learning_rate_init=abc"])
    assert code == 2 and "must be a positive number, got \"abc\"" in capsys.readouterr().err


# -- the best weights, and export -------------------------------------------------------
@pytest.mark.slow
def test_export_works_after_a_plain_search_and_a_failed_one_leaves_no_folder(tmp_path):
    r = darch("search", str(DIGITS), "--dataset", "digits", "--budget", "2", "--max-epochs",
              "1", "--journal", "runs/x.db", "--seed", "0", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    kept = list((tmp_path / "runs" / "x.db.best").glob("*.pt"))
    assert len(kept) == 1 and kept[0].stat().st_size < 5_000_000
    r = darch("export", "runs/x.db", "-o", "best", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "best" / "checkpoint.pt").is_file()
    r = darch("search", str(DIGITS), "--dataset", "digits", "--budget", "1", "--max-epochs",
              "1", "--journal", "runs/none.db", "--seed", "0", "--keep-best", "0", cwd=tmp_path)
    assert r.returncode == 0 and not (tmp_path / "runs" / "none.db.best").exists()
    r = darch("export", "runs/none.db", "-o", "nothing", cwd=tmp_path)
    assert r.returncode == 1 and "no trained weights of #0 were kept" in r.stderr
    assert not (tmp_path / "nothing").exists()


def test_keep_best_defaults_to_one_only_where_weights_can_be_kept(tmp_path, capsys):
    from darchlang.commands.search import _keep_best

    def parsed(*flags):
        import argparse

        from darchlang.commands import search

        parser = argparse.ArgumentParser()
        search.add_arguments(parser)
        return parser.parse_args(["x.darch", *flags])

    assert _keep_best(parsed()) == 1
    assert _keep_best(parsed("--keep-best", "3")) == 3
    assert _keep_best(parsed("--keep-best", "0")) == 0
    assert _keep_best(parsed("--no-journal")) == 0
    assert _keep_best(parsed("--synthetic", "1")) == 0
    assert _keep_best(parsed("--evaluator", "m:x")) == 0


# -- start-up ---------------------------------------------------------------------------
@pytest.mark.slow
def test_no_candidate_is_timed_for_lazy_imports_in_one_process_or_in_workers(tmp_path):
    """Candidate #0's setup (building the model and optimizer) costs what the others'
    do: torch._dynamo, which torch.optim imports inside the first optimizer, and the
    dataset's library were imported before its clock started, here and in workers."""
    for workers in ("1", "2"):
        journal = tmp_path / f"w{workers}.db"
        r = darch("search", str(DIGITS), "--dataset", "digits", "--searcher", "random",
                  "--budget", "4", "--max-epochs", "1", "--journal", str(journal), "--seed",
                  "3", "--workers", workers, "--keep-best", "0", cwd=tmp_path)
        assert r.returncode == 0, r.stderr
        with Journal(journal, create=False) as read:
            setups = [e.metrics["setup_seconds"]
                      for e in read.evaluations()]
        # Importing torch._dynamo alone takes seconds; building a small model, far less.
        assert max(setups) < 1.0, setups


def test_workers_fork_from_a_server_that_preloads_the_imports():
    import multiprocessing

    from darchlang.search import ClassifierRecipe
    from darchlang.search.executors import worker_context

    if "forkserver" not in multiprocessing.get_all_start_methods():
        pytest.skip("workers are spawned on this platform")
    recipe = ClassifierRecipe("digits")
    assert worker_context(recipe).get_start_method() == "forkserver"
    assert {"torch._dynamo", "sklearn.datasets", "darchlang.train.evaluator"} <= \
        set(recipe.preload())
    assert "sklearn.datasets" not in ClassifierRecipe("cifar10").preload()
