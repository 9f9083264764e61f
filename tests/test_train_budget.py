"""Training in rungs: a run continued from its checkpoint is the run never paused."""

from __future__ import annotations

import pytest
import torch

import darchlang
from darchlang.train.budget import Budget
from darchlang.train.data import load_dataset
from darchlang.train.evaluator import ClassifierEvaluator

DIGITS = load_dataset("digits")

SMALL = """
param num_classes = 10

space = concat [
    conv2d(filters: 8, size: 3),
    relu(),
    dropout(keep: 0.8),
    affine(units: num_classes),
]
"""
SETTINGS = {"max_epochs": 4, "batch_size": 64, "learning_rate_init": 3e-3, "optimizer": "sgd_mom",
            "rate_patience": 1, "rate_mult": 0.5, "stop_patience": 10}


@pytest.mark.slow
def test_a_promoted_run_continues_exactly(tmp_path):
    arch = darchlang.load_string(SMALL).space.sample(0)
    evaluator = ClassifierEvaluator(DIGITS, SETTINGS, seed=3, progress=False)
    straight = evaluator.evaluate(arch)

    first = Budget(1, 0, save_to=str(tmp_path / "r0.pt"))
    low = evaluator.evaluate(arch, budget=first)
    assert low.metrics["stop_reason"] == "rung" and [s for s, _, _ in first.curve] == [1]
    saved = torch.load(tmp_path / "r0.pt", weights_only=True)  # plain data only
    assert saved["epochs"] == 1 and "optimizer" in saved and "rng" in saved
    second = Budget(4, 1, load_from=str(tmp_path / "r0.pt"))
    high = evaluator.evaluate(arch, budget=second)

    assert [s for s, _, _ in second.curve] == [2, 3, 4]  # the epochs of its rung only
    assert high.metrics["history"] == straight.metrics["history"]
    assert high.score == straight.score and high.metrics["steps"] == straight.metrics["steps"]
    assert high.metrics["test_accuracy"] == straight.metrics["test_accuracy"]


def test_median_stopping_cuts_a_run(tmp_path):
    arch = darchlang.load_string(SMALL).space.sample(0)
    evaluator = ClassifierEvaluator(DIGITS, SETTINGS, seed=3, progress=False)
    budget = Budget(4, 0, stop_below={2: 1.01})  # no run reaches 101% by epoch 2
    result = evaluator.evaluate(arch, budget=budget)
    assert result.ok and budget.stopped and result.metrics["stop_reason"] == "scheduler"
    assert [s for s, _, _ in budget.curve] == [1, 2]
