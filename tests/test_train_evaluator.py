"""The classifier evaluator end to end on the built-in digits: it learns, it is
reproducible, its settings come from the program by name, and every way a model can
go wrong comes back as a failed result rather than an exception."""

from __future__ import annotations

import time

import pytest
import torch
from torch import nn

import darchlang
from darchlang.arch.graph import Architecture
from darchlang.backends.torch.compiler import compile_architecture
from darchlang.errors import DarchError
from darchlang.train.data import load_dataset
from darchlang.train.evaluator import ClassifierEvaluator, accuracy, build_optimizer
from darchlang.train.settings import Settings

torch.set_num_threads(1)
# The first optimizer a process makes imports torch._dynamo (seconds); do it before
# the tests whose time budgets are short.
torch.optim.Adam([torch.zeros(1, requires_grad=True)])

DIGITS = load_dataset("digits")

SMALL = """
param num_classes = 10

space = concat [
    conv2d(filters: 16, size: 3),
    relu(),
    max_pool2d(size: 2, stride: 2),
    dropout(keep: 0.9),
    affine(units: num_classes),
]
"""

FAST = {"max_epochs": 2, "batch_size": 32, "learning_rate_init": 3e-3}


def small_arch(train_block: str = "", text: str = SMALL) -> Architecture:
    return darchlang.load_string(text + train_block).space.sample(0)


def evaluator(settings=None, **kw) -> ClassifierEvaluator:
    kw.setdefault("progress", False)
    return ClassifierEvaluator(DIGITS, {**FAST, **(settings or {})}, **kw)


def plain(model_fn):
    """A model builder that ignores the architecture: for models darchlang cannot write."""
    return lambda arch, shape, device: model_fn()


class Linear(nn.Module):
    def __init__(self, scale: float = 1.0, fail: bool = False):
        super().__init__()
        self.lin = nn.Linear(64, 10)
        self.scale, self.fail = scale, fail

    def forward(self, x):
        if self.fail:
            raise RuntimeError("boom in forward")
        return self.lin(x.flatten(1)) * self.scale


class Constant(nn.Module):
    """Always the same answer, so validation accuracy never improves after the first."""

    def __init__(self):
        super().__init__()
        self.w = nn.Parameter(torch.zeros(()))

    def forward(self, x):
        return x.new_zeros(x.shape[0], 10) + 0 * self.w


@pytest.mark.slow
def test_small_conv_learns_digits():
    result = evaluator({"max_epochs": 8, "time_minutes_max": 1.0})(small_arch())
    assert result.ok, result.reason
    assert result.score >= 0.90
    m = result.metrics
    assert m["val_accuracy"] == result.score and m["test_accuracy"] >= 0.85
    assert m["epochs"] == 8 and m["stop_reason"] == "max_epochs" and m["steps"] == 8 * (1079 // 32)
    assert m["parameters"] == 16 * 9 + 16 + 16 * 4 * 4 * 10 + 10
    assert len(m["history"]) == 8 and result.identity == small_arch().identity
    assert result.settings["max_epochs"] == 8 and result.seconds > 0


@pytest.mark.slow
def test_same_seed_same_numbers():
    arch = small_arch()
    first = evaluator(seed=5)(arch)
    again = evaluator(seed=5)(arch)
    other = evaluator(seed=6)(arch)
    assert first.metrics["history"] == again.metrics["history"]
    assert first.metrics["test_accuracy"] == again.metrics["test_accuracy"]
    assert first.metrics["history"] != other.metrics["history"]
    assert evaluator().evaluate(arch, seed=5).metrics["history"] == first.metrics["history"]


def test_evaluation_leaves_global_state_alone():
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    threads = torch.get_num_threads()
    evaluator({"max_epochs": 1}, threads=2)(small_arch())
    assert torch.equal(torch.rand(3), expected) and torch.get_num_threads() == threads


def test_nan_loss_is_a_failed_result():
    result = evaluator(build_model=plain(lambda: Linear(scale=float("nan"))))(small_arch())
    assert result.status == "failed" and result.score is None
    assert result.reason == "training loss became nan in epoch 1"
    assert result.metrics["epochs"] == 1 and result.identity and result.settings["batch_size"] == 32


def test_infinite_loss_is_a_failed_result():
    result = evaluator(build_model=plain(lambda: Linear(scale=float("inf"))))(small_arch())
    assert result.status == "failed" and "training loss became" in result.reason


def test_exception_in_the_model_is_a_failed_result():
    result = evaluator(build_model=plain(lambda: Linear(fail=True)))(small_arch())
    assert result.status == "failed" and result.reason == "RuntimeError: boom in forward"
    with pytest.raises(RuntimeError, match="boom"):
        evaluator(build_model=plain(lambda: Linear(fail=True)), raise_errors=True)(small_arch())


def test_shape_error_is_a_failed_result_that_points_at_the_source():
    arch = small_arch(text='space = concat [conv2d(filters: 4, size: 9, padding: "valid"), affine(units: 10)]')
    result = evaluator()(arch)
    assert result.status == "failed"
    assert result.reason.startswith("<string>:1:17: `conv2d` cannot take a 1x8x8 input")


class Greedy(Linear):
    def forward(self, x):
        torch.empty(1 << 42)  # 16 TiB: the allocator refuses at once
        return super().forward(x)


def test_out_of_memory_is_a_failed_result():
    result = evaluator(build_model=plain(Greedy))(small_arch())
    assert result.status == "failed"
    assert result.reason.startswith("out of memory: can't allocate memory: you tried to allocate")


def test_wrong_number_of_classes_is_a_failed_result():
    result = evaluator()(small_arch(text=SMALL.replace("units: num_classes", "units: 5")))
    assert result.status == "failed"
    assert "output has shape (32, 5); expected (32, 10)" in result.reason
    assert "10 classes of `digits`" in result.reason


def test_builder_must_return_a_trainable_module():
    result = evaluator(build_model=plain(lambda: "not a model"))(small_arch())
    assert result.status == "failed" and "returned a str" in result.reason
    result = evaluator(build_model=plain(lambda: nn.Flatten()))(small_arch())
    assert result.status == "failed" and result.reason == "the model has no trainable parameters"


def test_hyperparams_reach_the_optimizer():
    arch = small_arch("""
train = hyperparams {
    optimizer: "sgd_mom",
    learning_rate_init: one_of(0.01, 0.02, 0.05),
    batch_size: 16,
    max_epochs: 2,
}
""")
    events = []
    result = evaluator(on_progress=events.append)(arch)
    assert result.ok
    picked = arch.hyperparams["learning_rate_init"]
    assert events[0].learning_rate == picked and result.settings["learning_rate_init"] == picked
    assert result.settings["optimizer"] == "sgd_mom" and result.settings["batch_size"] == 16
    assert result.metrics["steps"] == 2 * (1079 // 16)
    params = [nn.Parameter(torch.zeros(2))]
    sgd = build_optimizer(params, Settings(optimizer="sgd_mom", weight_decay=0.1))
    assert isinstance(sgd, torch.optim.SGD)
    assert sgd.param_groups[0]["momentum"] == 0.9 and sgd.param_groups[0]["weight_decay"] == 0.1
    assert isinstance(build_optimizer(params, Settings()), torch.optim.Adam)


def test_unknown_setting_is_an_error_listing_the_known_ones():
    arch = small_arch("train = hyperparams { bach_size: 16 }\n")
    with pytest.raises(DarchError) as info:
        evaluator()(arch)
    err = info.value
    assert err.message == "unknown training setting `bach_size` in the `train` hyperparams block"
    assert err.help == "did you mean `batch_size`?"
    assert err.notes == ["known settings: " + ", ".join(Settings.names())]
    with pytest.raises(DarchError, match="must be a positive integer, got 0"):
        evaluator()(small_arch("train = hyperparams { max_epochs: 0 }\n"))
    with pytest.raises(DarchError, match="in the command line"):
        evaluator(overrides={"epochs": 3})


def test_command_line_overrides_beat_the_program():
    arch = small_arch("train = hyperparams { max_epochs: 6, batch_size: 64 }\n")
    result = evaluator(overrides={"max_epochs": 1})(arch)
    assert result.metrics["epochs"] == 1 and result.settings["batch_size"] == 64


@pytest.mark.parametrize(
    "lr_min, stop, lrs",
    [(0.0, "stop_patience", [0.1, 0.05, 0.025, 0.025]), (0.03, "learning_rate_min", [0.1, 0.05, 0.025])],
)
def test_schedule_drives_the_optimizer(lr_min, stop, lrs):
    events = []
    ev = evaluator(
        {"max_epochs": 50, "learning_rate_init": 0.1, "rate_patience": 1, "rate_mult": 0.5,
         "stop_patience": 3, "learning_rate_min": lr_min, "optimizer": "sgd_mom"},
        build_model=plain(Constant),
        on_progress=events.append,
    )
    result = ev(small_arch())
    assert result.ok and result.metrics["stop_reason"] == stop
    assert [e.learning_rate for e in events] == pytest.approx(lrs)  # read back from the optimizer
    assert result.metrics["epochs"] == len(lrs) and result.metrics["best_epoch"] == 1
    assert [e.improved for e in events] == [True] + [False] * (len(lrs) - 1)


class Slow(Linear):
    def forward(self, x):
        time.sleep(0.02)
        return super().forward(x)


@pytest.mark.slow
def test_time_budget():
    result = evaluator({"time_minutes_max": 1e-6}, build_model=plain(Slow))(small_arch())
    assert result.status == "failed"
    assert result.reason.startswith("time budget of 1e-06 minutes spent before the first validation")
    result = evaluator(
        {"time_minutes_max": 0.01, "max_epochs": 10_000, "batch_size": 512}, build_model=plain(Slow)
    )(small_arch())
    assert result.ok and result.metrics["stop_reason"] == "time_minutes_max"
    assert 1 <= result.metrics["epochs"] < 100 and result.metrics["test_accuracy"] is not None


def test_model_path_holds_the_best_checkpoint(tmp_path):
    arch = small_arch()
    path = tmp_path / "out" / "model.pt"
    result = evaluator({"max_epochs": 3})(arch, model_path=path)
    saved = torch.load(path, weights_only=True)
    assert saved["architecture"] == arch.text and saved["identity"] == result.identity
    assert saved["settings"] == result.settings and saved["input_shape"] == [1, 8, 8]
    model = compile_architecture(darchlang.load_string(saved["architecture"]).space.sample(0), (1, 8, 8))
    model.load_state_dict(saved["state_dict"])
    assert accuracy(model, DIGITS.test) == result.metrics["test_accuracy"] == saved["test_accuracy"]
    assert accuracy(model, DIGITS.val) == result.score


def test_progress_events_and_bar(capsys):
    events = []
    result = evaluator({"max_epochs": 3, "eval_every": 2}, on_progress=events.append, progress=True)(small_arch())
    assert [e.epoch for e in events] == [2, 3]  # every 2 epochs, and after the last
    assert events[-1].best_val_accuracy == result.score and events[-1].time_left == 0.0
    assert events[-1].steps == result.metrics["steps"]
    assert "epoch 3/3" in capsys.readouterr().err


def test_callback_errors_are_the_callers():
    def broken(event):
        raise ValueError("bug in the caller")

    with pytest.raises(ValueError, match="bug in the caller"):
        evaluator(on_progress=broken)(small_arch())


def test_bad_device_and_threads():
    with pytest.raises(DarchError, match="unknown device"):
        evaluator(device="tpu9")
    with pytest.raises(DarchError, match="at least 1"):
        evaluator(threads=0)
    if not torch.cuda.is_available():
        with pytest.raises(DarchError, match="CUDA is not available"):
            evaluator(device="cuda")


@pytest.mark.parametrize(("name", "kind", "momentum", "nesterov"), [
    ("adam", torch.optim.Adam, None, None), ("adamw", torch.optim.AdamW, None, None),
    ("sgd", torch.optim.SGD, 0.0, False), ("sgd_mom", torch.optim.SGD, 0.8, False),
    ("nesterov", torch.optim.SGD, 0.8, True)])
def test_each_optimizer_is_the_one_it_names(name, kind, momentum, nesterov):
    params = [nn.Parameter(torch.zeros(2))]
    optimizer = build_optimizer(params, Settings(optimizer=name, momentum=0.8, weight_decay=0.1))
    group = optimizer.param_groups[0]
    assert type(optimizer) is kind and group["weight_decay"] == 0.1
    if momentum is not None:
        assert (group["momentum"], group["nesterov"]) == (momentum, nesterov)


def test_adamw_decays_weights_apart_from_the_gradient():
    """With a zero gradient, AdamW still shrinks a weight (decoupled decay); Adam's L2
    penalty, normalised by its own running moments, moves it by the full step."""
    moved = {}
    for name in ("adam", "adamw"):
        weight = nn.Parameter(torch.ones(1))
        optimizer = build_optimizer([weight], Settings(optimizer=name, weight_decay=0.5,
                                                       learning_rate_init=0.1))
        weight.grad = torch.zeros(1)
        optimizer.step()
        moved[name] = 1.0 - float(weight.detach())
    assert moved["adamw"] == pytest.approx(0.1 * 0.5)  # lr * decay, no moment scaling
    assert moved["adam"] == pytest.approx(0.1, rel=1e-3)  # the L2 gradient, normalised


@pytest.mark.slow
def test_label_smoothing_reaches_the_loss():
    events = {}
    for smoothing in (0.0, 0.3):
        seen = []
        result = evaluator({"max_epochs": 1, "label_smoothing": smoothing},
                           on_progress=seen.append)(small_arch())
        assert result.ok
        events[smoothing] = seen[-1].train_loss
    # a smoothed target cannot be fitted as closely: its loss stays higher
    assert events[0.3] > events[0.0] + 0.1


def test_bad_optimizer_settings_are_errors():
    with pytest.raises(DarchError, match="one of \"adam\", \"adamw\", \"sgd\""):
        evaluator({"optimizer": "rmsprop"})
    with pytest.raises(DarchError, match=r"`momentum` .* must be a number in \[0, 1\)"):
        evaluator({"momentum": 1.0})
