"""GPU check: train on CUDA at each precision and compare with the CPU in fp32.

For the digits anchor network and one CIFAR-shaped model of each of the seed's example
spaces (examples/cifar10_*.darch, seed 0), trains on CPU in fp32, then on the device in
fp32, bf16 and fp16 with the same seed and settings, and prints a table: validation
accuracy, whether it is within noise of CPU fp32 (three standard errors of a
proportion, at least 3 points), and training throughput as a ratio to CPU fp32. The
CIFAR-shaped data is digits scaled to 3x32x32, so accuracy means something without a
download. Exits 1 when an accuracy is out of noise or a run fails.

On a machine without CUDA it prints that it skipped and exits 0.

    python bench/gpu_check.py                  # a few minutes on one GPU
    python bench/gpu_check.py --device cpu --only digits   # the same check, on the CPU
"""

from __future__ import annotations

import argparse
import math
import os
import sys
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
ANCHOR = (
    "space = concat [conv2d(filters: 64, size: 3), max_pool2d(size: 2), "
    "conv2d(filters: 64, size: 3), max_pool2d(size: 2), affine(units: 512), "
    "dropout(keep: 0.5), affine(units: 10)]"
)
PRECISIONS = ("fp32", "bf16", "fp16")
SETTINGS = {"max_epochs": 4, "batch_size": 64, "learning_rate_init": 1e-3, "optimizer": "adam"}


def cifar_shaped(digits):  # noqa: ANN001, ANN201 - a Dataset in, a Dataset out
    """Digits scaled to 32x32 and repeated over 3 channels: CIFAR-10's shape, learnable."""
    import dataclasses

    from darchlang.train.data import Split

    def grow(split: Split) -> Split:
        x = F.interpolate(split.x, size=(32, 32), mode="bilinear", align_corners=False)
        return Split(x.repeat(1, 3, 1, 1).contiguous(), split.y)

    test = grow(digits.test) if digits.test is not None else None
    return dataclasses.replace(digits, name="digits-32x32x3", train=grow(digits.train),
                               val=grow(digits.val), test=test)


def workloads(only: str | None) -> list[tuple[str, str, object]]:
    import darchlang
    from darchlang.train.data import load_dataset

    digits = load_dataset("digits")
    rows: list[tuple[str, str, object]] = [("digits anchor", ANCHOR, digits)]
    big = cifar_shaped(digits)
    for path in sorted((ROOT / "examples").glob("cifar10_*.darch")):
        rows.append((path.stem, path.read_text(), big))
    found = [(name, darchlang.load_string(text, optional_defines={"num_classes": 10}).space.sample(0), data)
             for name, text, data in rows if only is None or only in name]
    if not found:
        raise SystemExit(f"no workload matches --only {only}")
    return found


def train(arch, data, device: str, precision: str):  # noqa: ANN001, ANN201
    from darchlang.train.evaluator import ClassifierEvaluator

    ev = ClassifierEvaluator(data, SETTINGS, overrides={"precision": precision}, seed=0,
                             device=device, threads=1, progress=False)
    return ev.evaluate(arch)


def throughput(result) -> float:  # noqa: ANN001
    m = result.metrics
    return m["steps"] * SETTINGS["batch_size"] / max(1e-9, m["train_seconds"])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda", help="the device to check (default cuda)")
    parser.add_argument("--only", metavar="TEXT", help="only the workloads whose name holds TEXT")
    args = parser.parse_args()
    if args.device.startswith("cuda") and not torch.cuda.is_available():
        print("gpu_check: skipped: CUDA is not available on this machine")
        return 0
    torch.set_num_threads(1)
    torch.optim.Adam([torch.zeros(1, requires_grad=True)])  # the one-time import, before timing
    print(f"device {args.device}"
          + (f" ({torch.cuda.get_device_name(torch.device(args.device))})" if args.device != "cpu" else "")
          + f"; settings {SETTINGS}")
    print(f"{'workload':<20}{'precision':>10}{'val acc':>9}{'cpu fp32':>10}{'in noise':>10}"
          f"{'examples/s':>12}{'x cpu fp32':>12}")
    bad = False
    for name, arch, data in workloads(args.only):
        base = train(arch, data, "cpu", "fp32")
        if not base.ok:
            print(f"{name:<20}{'cpu fp32':>10}  failed: {base.reason}")
            bad = True
            continue
        n = len(data.val)
        noise = max(0.03, 3 * math.sqrt(base.score * (1 - base.score) / n))
        for precision in PRECISIONS:
            result = train(arch, data, args.device, precision)
            if not result.ok:
                print(f"{name:<20}{precision:>10}  failed: {result.reason}")
                bad = True
                continue
            close = abs(result.score - base.score) <= noise
            bad |= not close
            print(f"{name:<20}{precision:>10}{result.score:>9.3f}{base.score:>10.3f}"
                  f"{'yes' if close else 'NO':>10}{throughput(result):>12.0f}"
                  f"{throughput(result) / throughput(base):>11.2f}x")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
