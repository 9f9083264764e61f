"""Training throughput: `ClassifierEvaluator.evaluate` vs a minimal hand-written loop.

Both sides do the same work on one torch thread: seed, compile the same darchlang
architecture, make Adam, train the same number of epochs over the same in-memory
tensors with a seeded shuffle and the same batch size, validate after every epoch
(keeping a copy of the best weights), then score the test split once. The hand loop
runs the network in NCHW, as one writes it by default; the evaluator runs what
`darch train` runs, in the memory format the backend's rule picks (channels_last for
convolutions on images). So the ratio is the loop's bookkeeping plus the layout.

Before timing, both sides must reach the same validation accuracy from the same seed
(within 2 points: NHWC kernels sum in another order). Runs are interleaved (hand,
evaluator, evaluator, hand, ...) and the table reports medians of wall-clock time and
of CPU time; with one thread, CPU time is what other processes on a shared machine
disturb least. A row passes only when both ratios reach its target: 1.3x for the
anchor network (issue 17.1), 0.95x for the others; the script exits 1 otherwise.

    python bench/bench_train.py            # about a minute on one core
    python bench/bench_train.py --quick    # fewer repeats
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

import darchlang  # noqa: E402
from darchlang.arch.graph import Architecture  # noqa: E402
from darchlang.backends.torch.compiler import compile_architecture  # noqa: E402
from darchlang.train.data import Dataset, build_dataset, load_dataset  # noqa: E402
from darchlang.train.evaluator import ClassifierEvaluator  # noqa: E402

SEED = 0
LR = 1e-3


@dataclass
class Workload:
    name: str
    program: str
    data: Callable[[], Dataset]
    batch: int
    epochs: int
    target: float = 0.95


def synthetic_cifar() -> Dataset:
    """CIFAR-10-shaped random data (no download): 2000 train+val, 500 test images."""
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (2000, 3, 32, 32), dtype=np.uint8)
    xt = rng.integers(0, 256, (500, 3, 32, 32), dtype=np.uint8)
    return build_dataset("synthetic-cifar", (x, rng.integers(0, 10, 2000)), (xt, rng.integers(0, 10, 500)))


WORKLOADS = [
    Workload(
        "anchor (digits, 2 convs)",
        "space = concat [conv2d(filters: 64, size: 3), max_pool2d(size: 2), "
        "conv2d(filters: 64, size: 3), max_pool2d(size: 2), affine(units: 512), "
        "dropout(keep: 0.5), affine(units: 10)]",
        lambda: load_dataset("digits"),
        batch=64,
        epochs=6,
        target=1.3,
    ),
    Workload(
        "digits, small conv",
        "space = concat [conv2d(filters: 32, size: 3), relu(), max_pool2d(), affine(units: 10)]",
        lambda: load_dataset("digits"),
        batch=32,
        epochs=6,
    ),
    Workload(
        "digits, affine only",
        "space = concat [affine(units: 64), relu(), affine(units: 10)]",
        lambda: load_dataset("digits"),
        batch=32,
        epochs=10,
    ),
    Workload(
        "cifar-shaped, two convs",
        "space = concat [conv2d(filters: 32, size: 3), relu(), max_pool2d(), "
        "conv2d(filters: 64, size: 3), relu(), max_pool2d(), affine(units: 10)]",
        synthetic_cifar,
        batch=64,
        epochs=1,
    ),
]


def hand_loop(arch: Architecture, data: Dataset, batch: int, epochs: int) -> float:
    """The least one would write: seeded shuffle, index, step; validate each epoch and
    keep the best weights; then score the test split once. NCHW throughout."""
    torch.manual_seed(SEED)
    model = compile_architecture(arch, data.input_shape, memory_format="contiguous")
    opt = torch.optim.Adam(model.parameters(), lr=LR)
    gen = torch.Generator().manual_seed(SEED)
    x, y = data.train.x, data.train.y
    n = len(y)
    best, best_state = -1.0, None
    for _ in range(epochs):
        model.train()
        perm = torch.randperm(n, generator=gen)
        for i in range(n // batch):
            idx = perm[i * batch : (i + 1) * batch]
            loss = F.cross_entropy(model(x[idx]), y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
        model.eval()
        with torch.no_grad():
            val = (model(data.val.x).argmax(1) == data.val.y).float().mean().item()
        if val > best:
            best, best_state = val, {k: v.clone() for k, v in model.state_dict().items()}
    assert best_state is not None
    model.load_state_dict(best_state)
    with torch.no_grad():
        if data.test is not None:
            (model(data.test.x).argmax(1) == data.test.y).float().mean().item()
    return best


def evaluator_run(ev: ClassifierEvaluator, arch: Architecture) -> float:
    result = ev.evaluate(arch)
    assert result.ok, result.reason
    return result.score


def measure(w: Workload, repeats: int) -> dict:
    data = w.data()
    arch = darchlang.load_string(w.program).space.sample(0)
    settings = {"batch_size": w.batch, "max_epochs": w.epochs, "eval_every": 1,
                "learning_rate_init": LR, "optimizer": "adam"}
    ev = ClassifierEvaluator(data, settings, seed=SEED, progress=False)
    hand_acc, ev_acc = hand_loop(arch, data, w.batch, w.epochs), evaluator_run(ev, arch)
    if abs(hand_acc - ev_acc) > 0.02:
        raise SystemExit(f"{w.name}: not the same training (hand {hand_acc}, evaluator {ev_acc})")
    wall: dict[str, list[float]] = {"hand": [], "evaluator": []}
    cpu: dict[str, list[float]] = {"hand": [], "evaluator": []}
    runs = {"hand": lambda: hand_loop(arch, data, w.batch, w.epochs), "evaluator": lambda: evaluator_run(ev, arch)}
    for r in range(repeats):
        order = ["hand", "evaluator"] if r % 2 == 0 else ["evaluator", "hand"]
        for side in order:
            start, start_cpu = time.perf_counter(), time.process_time()
            runs[side]()
            wall[side].append(time.perf_counter() - start)
            cpu[side].append(time.process_time() - start_cpu)
    examples = (len(data.train) // w.batch) * w.batch * w.epochs
    med = {k: statistics.median(v) for k, v in wall.items()}
    med_cpu = {k: statistics.median(v) for k, v in cpu.items()}
    return {
        "name": w.name,
        "target": w.target,
        "hand_acc": hand_acc,
        "ev_acc": ev_acc,
        "hand": examples / med["hand"],
        "evaluator": examples / med["evaluator"],
        "ratio": med["hand"] / med["evaluator"],
        "ratio_cpu": med_cpu["hand"] / med_cpu["evaluator"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3 repeats instead of 9")
    args = parser.parse_args()
    torch.set_num_threads(1)
    torch.optim.Adam([torch.zeros(1, requires_grad=True)])  # one-time torch import cost
    repeats = 3 if args.quick else 9
    rows = [measure(w, repeats) for w in WORKLOADS]
    print(f"training throughput in examples/s (wall clock): median of {repeats} interleaved runs, 1 thread")
    print("ratio = evaluator / hand loop (NCHW), from wall-clock and from CPU-time medians;")
    print("a row passes when both reach its target; acc = best validation accuracy, hand / evaluator")
    print(f"{'workload':<26}{'hand loop':>11}{'evaluator':>11}{'wall':>9}{'cpu':>9}{'target':>8}"
          f"{'acc':>14}")
    failed = False
    for row in rows:
        ok = min(row["ratio"], row["ratio_cpu"]) >= row["target"]
        failed |= not ok
        print(
            f"{row['name']:<26}{row['hand']:>11.0f}{row['evaluator']:>11.0f}"
            f"{row['ratio']:>8.3f}x{row['ratio_cpu']:>8.3f}x{row['target']:>7.2f}x"
            f"{row['hand_acc']:>7.3f}/{row['ev_acc']:.3f}{'' if ok else '  FAIL'}"
        )
    raise SystemExit(1 if failed else 0)


if __name__ == "__main__":
    main()
