"""Training at the hardware's speed, checked on the CPU: the memory-format rule, mixed
precision under autocast (bf16 runs on CPUs), torch.compile's fallback, setup time kept
out of the time budget, GPU picking per worker, and running out of GPU memory as a
failed evaluation the worker survives."""

from __future__ import annotations

import json
import multiprocessing
import subprocess
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pytest
import torch
from torch import nn

import darchlang
from darchlang.backends.torch.compiler import compile_architecture
from darchlang.errors import DarchError
from darchlang.train.data import load_dataset
from darchlang.train.evaluator import ClassifierEvaluator, gpu_for, resolve_device, worker_index
from darchlang.train.settings import Settings

torch.set_num_threads(1)
torch.optim.Adam([torch.zeros(1, requires_grad=True)])  # the one-time import, before budgets

ROOT = Path(__file__).resolve().parent.parent
DIGITS = load_dataset("digits")
CONV = "space = concat [conv2d(filters: 8, size: 3), max_pool2d(size: 2), affine(units: 10)]"
AFFINE = "space = concat [affine(units: 16), relu(), affine(units: 10)]"
FAST = {"max_epochs": 1, "batch_size": 64, "learning_rate_init": 3e-3}


def arch(text: str = CONV):
    return darchlang.load_string(text).space.sample(0)


def evaluator(settings=None, **kw) -> ClassifierEvaluator:
    kw.setdefault("progress", False)
    return ClassifierEvaluator(DIGITS, {**FAST, **(settings or {})}, **kw)


class Probe(nn.Module):
    """A linear model that records the dtype its layer computes in, and can fail once."""

    def __init__(self, error: BaseException | None = None, sleep: float = 0.0):
        super().__init__()
        time.sleep(sleep)  # a slow build: setup, not training
        self.lin = nn.Linear(64, 10)
        self.error, self.dtypes = error, set()

    def forward(self, x):
        if self.error is not None:
            raise self.error
        out = self.lin(x.flatten(1))
        self.dtypes.add(out.dtype)
        return out


def test_memory_format_rule_and_same_outputs():
    conv = compile_architecture(arch(), (1, 8, 8), memory_format="auto")
    assert conv.memory_format == "channels_last"
    assert conv.space_0_conv2d.weight.is_contiguous(memory_format=torch.channels_last)
    assert compile_architecture(arch(AFFINE), (64,), memory_format="auto").memory_format == "contiguous"
    torch.manual_seed(0)
    nchw = compile_architecture(arch(), (1, 8, 8))
    torch.manual_seed(0)
    nhwc = compile_architecture(arch(), (1, 8, 8), memory_format="channels_last")
    assert nchw.memory_format == "contiguous"
    x = torch.randn(5, 1, 8, 8)
    torch.testing.assert_close(nchw(x), nhwc(x))
    assert nchw.state_dict().keys() == nhwc.state_dict().keys()
    with pytest.raises(DarchError, match="unknown memory format `nhwc`"):
        compile_architecture(arch(), (1, 8, 8), memory_format="nhwc")


def test_the_evaluator_trains_channels_last_to_the_same_accuracy():
    result = evaluator({"max_epochs": 3})(arch())
    assert result.ok and result.metrics["memory_format"] == "channels_last"
    nchw = evaluator({"max_epochs": 3}, build_model=lambda a, s, d: compile_architecture(a, s))(arch())
    assert nchw.metrics["memory_format"] == "contiguous"
    assert result.score > 0.5 and abs(result.score - nchw.score) <= 2 / len(DIGITS.val)


def test_bf16_autocast_on_cpu():
    probe = Probe()
    result = evaluator({"precision": "bf16"}, build_model=lambda a, s, d: probe)(arch())
    assert result.ok, result.reason
    assert probe.dtypes == {torch.bfloat16} and result.metrics["precision"] == "bf16"
    fp32 = Probe()
    assert evaluator(build_model=lambda a, s, d: fp32)(arch()).ok and fp32.dtypes == {torch.float32}


def test_precision_and_compile_settings_are_checked():
    with pytest.raises(DarchError, match=r"`precision` in the command line must be one of") as err:
        evaluator(overrides={"precision": "bf61"})
    assert err.value.help is not None and "bf16" in err.value.help
    assert Settings().updated({"compile": "true"}, "x").compile is True
    with pytest.raises(DarchError, match="`compile` in x must be true or false"):
        Settings().updated({"compile": 1}, "x")


def test_compile_falls_back_to_eager_with_a_warning(monkeypatch, capsys):
    def broken(model, **kw):
        raise RuntimeError("no compiler here")

    monkeypatch.setattr(torch, "compile", broken)
    result = evaluator({"compile": True})(arch())
    assert result.ok and result.metrics["compiled"] is False
    assert "warning: torch.compile failed: RuntimeError: no compiler here; training without it" in (
        capsys.readouterr().err
    )


@pytest.mark.slow
def test_the_time_budget_counts_training_only():
    settings = {"time_minutes_max": 0.005, "batch_size": 256}  # 0.3 s
    result = evaluator(settings, build_model=lambda a, s, d: Probe(sleep=0.5))(arch())
    assert result.ok, result.reason
    assert result.metrics["setup_seconds"] >= 0.5 > result.metrics["train_seconds"]
    assert result.seconds >= result.metrics["setup_seconds"] + result.metrics["train_seconds"]


def test_out_of_gpu_memory_is_a_failed_evaluation_and_the_next_one_runs():
    models = iter([Probe(torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2 GiB")), Probe()])
    ev = evaluator(build_model=lambda a, s, d: next(models))
    failed = ev(arch())
    assert failed.status == "failed"
    assert failed.reason == "out of memory: CUDA out of memory. Tried to allocate 2 GiB"
    assert ev(arch()).ok


def test_gpus_round_robin_by_worker():
    assert [gpu_for(None, w, 3) for w in range(5)] == [0, 1, 2, 0, 1]
    assert gpu_for(None, None, 4) == 0 and gpu_for(2, 7, 4) == 2
    with pytest.raises(DarchError, match="is not supported"):
        resolve_device("meta")
    if not torch.cuda.is_available():
        with pytest.raises(DarchError, match="CUDA is not available"):
            resolve_device("cuda:1", worker=3)


def test_pool_workers_have_consecutive_indices_so_they_get_different_gpus():
    # One single-process pool per worker slot, as the local executor makes them.
    assert worker_index() is None
    context = multiprocessing.get_context("fork")
    pools = [ProcessPoolExecutor(1, mp_context=context) for _ in range(2)]
    try:
        first, second = (pool.submit(worker_index).result(timeout=60) for pool in pools)
    finally:
        for pool in pools:
            pool.shutdown()
    assert second == first + 1 and gpu_for(None, first, 2) != gpu_for(None, second, 2)


@pytest.mark.slow
def test_cli_precision_flag_and_gpu_check_skips_on_cpu(tmp_path):
    program = tmp_path / "net.darch"
    program.write_text(CONV + "\n")
    run = subprocess.run(
        [sys.executable, "-m", "darchlang.cli", "train", str(program), "--max-epochs", "1",
         "--precision", "bf16", "--json"], capture_output=True, text=True, check=True)
    metrics = json.loads(run.stdout)["metrics"]
    assert metrics["precision"] == "bf16" and metrics["memory_format"] == "channels_last"
    bad = subprocess.run([sys.executable, "-m", "darchlang.cli", "train", str(program), "--precision", "fp8"],
                         capture_output=True, text=True)
    assert bad.returncode == 2 and "invalid choice: 'fp8'" in bad.stderr
    if not torch.cuda.is_available():
        check = subprocess.run([sys.executable, str(ROOT / "bench" / "gpu_check.py")],
                               capture_output=True, text=True)
        assert check.returncode == 0 and "skipped: CUDA is not available" in check.stdout
