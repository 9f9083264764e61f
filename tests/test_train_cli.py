"""`darch train` end to end: once in a subprocess (JSON, saved model, exit code), and
in-process for the text report, datasets, overrides and the errors."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
import torch

from darchlang.cli import main

torch.set_num_threads(1)

PROGRAM = """
param num_classes = 10

space = concat [
    conv2d(filters: one_of(8, 16), size: 3),
    relu(),
    max_pool2d(size: 2, stride: 2),
    affine(units: num_classes),
]

train = hyperparams {
    learning_rate_init: 0.003,
    max_epochs: 20,
}
"""


@pytest.fixture
def program(tmp_path):
    path = tmp_path / "small.darch"
    path.write_text(PROGRAM)
    return path


@pytest.mark.slow
def test_train_in_a_subprocess(program, tmp_path):
    model = tmp_path / "model.pt"
    r = subprocess.run(
        [sys.executable, "-m", "darchlang.cli", "train", str(program), "--seed", "3",
         "--dataset", "digits", "--max-epochs", "2", "--json", "--threads", "1",
         "--model-path", str(model)],
        capture_output=True, text=True, timeout=120,
    )
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    assert data["status"] == "ok" and data["metrics"]["epochs"] == 2
    assert data["settings"]["max_epochs"] == 2 and data["settings"]["learning_rate_init"] == 0.003
    assert len(data["decisions"]) == 1 and data["metrics"]["dataset"] == "digits"
    saved = torch.load(model, weights_only=True)
    assert saved["identity"] == data["identity"] and "conv2d(" in saved["architecture"]
    assert "Traceback" not in r.stderr


def test_text_report(program, capsys):
    assert main(["train", str(program), "--seed", "1", "--max-epochs", "3", "--no-progress"]) == 0
    out = capsys.readouterr().out
    lines = dict(line.split(None, 1) for line in out.splitlines() if line.strip())
    assert lines["epochs"].strip() == "3 (stopped by max_epochs)"
    assert out.count("val accuracy  0.") == 1 and "test accuracy 0." in out
    assert "digits: 1079 train / 359 val / 359 test" in out and "parameters" in lines


def test_same_seed_same_report(program, capsys):
    args = ["train", str(program), "--seed", "4", "--max-epochs", "2", "--json", "--no-progress"]
    main(args)
    first = json.loads(capsys.readouterr().out)
    main(args)
    again = json.loads(capsys.readouterr().out)
    assert first["metrics"]["history"] == again["metrics"]["history"]


def test_num_classes_comes_from_the_dataset(program, tmp_path, capsys):
    data = tmp_path / "three.npz"
    rng = np.random.default_rng(0)
    y = np.arange(60) % 3
    np.savez(data, x=rng.normal(size=(60, 8, 8)) + y[:, None, None], y=y)
    assert main(["train", str(program), "--dataset", f"npz:{data}", "--max-epochs", "2", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["status"] == "ok" and result["metrics"]["dataset"] == f"npz:{data}"
    assert result["metrics"]["test_accuracy"] is None  # the archive has no test split
    fixed = tmp_path / "fixed.darch"  # no `param num_classes`: the program's own count stands
    fixed.write_text(PROGRAM.replace("param num_classes = 10", "").replace("num_classes", "3"))
    assert main(["train", str(fixed), "--dataset", f"npz:{data}", "--max-epochs", "1", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["status"] == "ok"


def test_a_failed_model_exits_1_with_its_reason(program, tmp_path, capsys):
    bad = tmp_path / "bad.darch"
    bad.write_text(PROGRAM.replace("units: num_classes", "units: 4"))
    assert main(["train", str(bad), "--max-epochs", "1", "--no-progress"]) == 1
    err = capsys.readouterr().err  # refused before training, at the layer's line
    assert f"{bad}:" in err and "error: the network's output is 4 per example; " in err
    assert "help: the dataset has 10 classes; end the network with a layer of 10 units" in err


def test_overrides_and_replay(program, capsys):
    args = ["train", str(program), "--decisions", "1", "--set", "batch_size=64",
            "--set", "optimizer=sgd_mom", "--max-epochs", "1", "--json"]
    assert main(args) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["decisions"] == [1] and result["metrics"]["steps"] == 1079 // 64
    assert result["settings"]["optimizer"] == "sgd_mom" and result["metrics"]["parameters"] == 16 * 9 + 16 + 16 * 16 * 10 + 10


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--dataset", "cifar10"], "error: dataset `cifar10` is read from files"),
    ],
)
def test_command_line_errors(program, capsys, extra, message):
    assert main(["train", str(program), *extra]) == 1
    err = capsys.readouterr().err
    assert err.startswith(message) and "Traceback" not in err


@pytest.mark.parametrize("extra, message", [
    (["--max-epochs", "0"], "argument --max-epochs: must be at least 1, got 0"),
    (["--batch-size", "-3"], "argument --batch-size: must be at least 1, got -3"),
    (["--dataset", "digitz"], "argument --dataset: invalid choice: 'digitz' (choose from "
     "'digits', 'cifar10', 'mnist', 'fashion-mnist', 'npz:PATH'); did you mean 'digits'?"),
    # an unknown setting or device is a wrong command line too (exit 2, not 1)
    (["--set", "bach_size=3"], "argument --set: unknown training setting 'bach_size'; did you "
     "mean 'batch_size'?"),
    (["--set", "batch_size"], "argument --set: expected NAME=VALUE, got `batch_size`"),
    # and so is a value of the wrong kind
    (["--set", "max_epochs=0"], "training setting `max_epochs` in the command line must be"),
    (["--device", "tpu"], "argument --device: invalid choice: 'tpu' (choose from 'cpu', "
     "'cuda', 'cuda:N')"),
])
def test_usage_errors_exit_2_with_argparse_message(program, capsys, extra, message):
    assert main(["train", str(program), *extra]) == 2
    err = capsys.readouterr().err
    assert err.startswith("usage: darch train ") and f"darch train: error: {message}" in err


def test_an_unwritable_model_path_is_an_error_not_a_traceback(program, tmp_path, capsys):
    # torch.save raised a RuntimeError for a folder, which escaped as a traceback
    assert main(["train", str(program), "--max-epochs", "1", "--no-progress",
                 "--model-path", str(tmp_path)]) == 1
    # refused before training: nothing is trained to be thrown away
    out = capsys.readouterr()
    assert out.err.startswith(f"error: cannot write `{tmp_path}`: it is a folder") and out.out == ""


TOKENS = """
space = concat [
    embedding(vocab: {vocab}, dim: one_of(8, 16)),
    position_embedding(),
    multihead_attention(heads: 2),
    token_pool(),
    affine(units: 3),
]
"""


@pytest.mark.slow
def test_a_space_over_token_ids_trains_and_searches_from_the_shell(tmp_path):
    ids = np.random.default_rng(0).integers(0, 40, (120, 10))
    np.savez(tmp_path / "ids.npz", x=ids, y=ids[:, 0] % 3, layout="ids")
    (tmp_path / "text.darch").write_text(TOKENS.format(vocab=40))
    (tmp_path / "small.darch").write_text(TOKENS.format(vocab=20))

    def darch(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "darchlang.cli", *args, "--threads", "1"],
                              capture_output=True, text=True, timeout=120, cwd=tmp_path)

    r = darch("train", "text.darch", "--dataset", "npz:ids.npz", "--max-epochs", "1", "--json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["status"] == "ok"
    r = darch("search", "small.darch", "--dataset", "npz:ids.npz", "--budget", "1",
              "--max-epochs", "1", "--no-journal")
    assert "small.darch:3:5: `embedding` has room for token ids 0..19, but the ids of" in r.stderr
    assert "Traceback" not in r.stdout + r.stderr


@pytest.mark.parametrize("command", ["train", "search"])
def test_a_mistake_in_the_program_is_reported_before_the_data_loads(tmp_path, command):
    """The program is read first: its error comes in a fraction of a second, not after
    the data and torch load (here the data would not load at all)."""
    program = tmp_path / "typo.darch"
    program.write_text("space = concat [conv2d(filter: 8, size: 3), affine(units: 10)]\n")
    budget = ["--budget", "1"] if command == "search" else []
    done = subprocess.run([sys.executable, "-m", "darchlang.cli", command, str(program),
                           "--dataset", "npz:missing.npz", *budget],
                          capture_output=True, text=True, cwd=tmp_path)
    assert done.returncode == 1
    assert "has no parameter `filter`" in done.stderr
    assert "missing.npz" not in done.stderr
