"""The `schedule` setting: "plateau" (DeepArchitect's), "cosine" and "constant" (review.md,
finding 6), checked at its place, searchable, and kept across rungs."""

from __future__ import annotations

import json
import math
import subprocess
import sys

import pytest
import torch

import darchlang
from darchlang.app.programs import check_settings
from darchlang.errors import DarchError
from darchlang.train.budget import Budget
from darchlang.train.data import load_dataset
from darchlang.train.evaluator import ClassifierEvaluator
from darchlang.train.schedule import Schedule

SMALL = """
param num_classes = 10
space = concat [conv2d(filters: 4, size: 3), relu(), affine(units: num_classes)]
"""
SETTINGS = {"max_epochs": 4, "batch_size": 64, "learning_rate_init": 0.1, "optimizer": "sgd_mom",
            "learning_rate_min": 0.01, "rate_patience": 1, "rate_mult": 0.5, "stop_patience": 10}


def cosine(epoch: int, epochs: int = 4, high: float = 0.1, low: float = 0.01) -> float:
    return low + (high - low) * (1 + math.cos(math.pi * (epoch - 1) / epochs)) / 2


@pytest.mark.slow
def test_cosine_follows_torch_cosine_annealing_stepped_per_epoch():
    schedule = Schedule(0.1, rate_patience=1, rate_mult=0.5, stop_patience=100,
                        learning_rate_min=0.01, kind="cosine", max_epochs=6)
    optimizer = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)
    torch_schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=6, eta_min=0.01)
    for epoch in range(1, 7):
        assert schedule.rate_for_epoch(epoch) == pytest.approx(optimizer.param_groups[0]["lr"])
        verdict = schedule.observe(0.5)  # no improvement after the first: no drop, no stop
        assert not verdict.rate_dropped and verdict.stop is None
        optimizer.step()
        torch_schedule.step()


def test_constant_never_moves_and_plateau_is_the_default():
    constant = Schedule(0.1, rate_patience=1, rate_mult=0.5, stop_patience=3,
                        learning_rate_min=0.09, kind="constant")
    verdicts = [constant.observe(a) for a in (0.5, 0.4, 0.4, 0.4)]
    assert [v.learning_rate for v in verdicts] == [0.1] * 4 and constant.rate_for_epoch(3) is None
    assert verdicts[-1].stop == "stop_patience"  # early stopping still holds
    plateau = Schedule(0.1, rate_patience=1, rate_mult=0.5, stop_patience=9, learning_rate_min=0.0)
    assert plateau.kind == "plateau" and [plateau.observe(a).learning_rate
                                          for a in (0.5, 0.4)] == [0.1, 0.05]


def rates(result) -> list[float]:
    return [h["learning_rate"] for h in result.metrics["history"]]


@pytest.mark.slow
def test_training_with_cosine_and_resuming_across_rungs(tmp_path):
    arch = darchlang.load_string(SMALL).space.sample(0)
    settings = {**SETTINGS, "schedule": "cosine"}
    evaluator = ClassifierEvaluator(load_dataset("digits"), settings, seed=3, progress=False)
    straight = evaluator.evaluate(arch)
    assert straight.ok and rates(straight) == pytest.approx([cosine(e) for e in range(1, 5)])
    first = Budget(2, 0, save_to=str(tmp_path / "r0.pt"))
    evaluator.evaluate(arch, budget=first)
    resumed = evaluator.evaluate(arch, budget=Budget(4, 1, load_from=str(tmp_path / "r0.pt")))
    assert resumed.metrics["history"] == straight.metrics["history"]
    assert resumed.score == straight.score


def test_the_setting_is_checked_at_its_place_with_a_did_you_mean():
    program = darchlang.load_string("""space = affine(units: 10)
train = hyperparams { schedule: one_of("cosine", "cosin") }
""", "p.darch")
    with pytest.raises(DarchError) as info:
        check_settings(program)
    assert info.value.span.where == "p.darch:2:33"
    assert info.value.help == "did you mean `cosine`?"


@pytest.mark.slow
def test_the_schedule_is_searched_with_the_architecture(tmp_path):
    (tmp_path / "j.darch").write_text(SMALL + 'train = hyperparams { schedule: one_of("cosine", '
                                      '"constant"), max_epochs: 2 }\n')
    done = subprocess.run([sys.executable, "-m", "darchlang.cli", "count", "j.darch"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and done.stdout.strip() == "2", done.stderr
    done = subprocess.run([sys.executable, "-m", "darchlang.cli", "sample", "j.darch", "-n", "2",
                           "--uniform", "--json"], cwd=tmp_path, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    picked = {a["hyperparams"]["schedule"] for a in json.loads(done.stdout)}
    assert picked <= {"cosine", "constant"}


@pytest.mark.slow
def test_darch_train_with_a_constant_rate(tmp_path):
    (tmp_path / "s.darch").write_text(SMALL)
    done = subprocess.run([sys.executable, "-m", "darchlang.cli", "train", "s.darch",
                           "--max-epochs", "3", "--set", "schedule=constant", "--set",
                           "rate_patience=1", "--set", "learning_rate_init=0.5", "--json",
                           "--no-progress"], cwd=tmp_path, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode in (0, 1), done.stderr
    result = json.loads(done.stdout)
    assert result["settings"]["schedule"] == "constant"
    assert {h["learning_rate"] for h in result["metrics"]["history"]} == {0.5}
