"""Write a search's best architecture (or the one at `--rank`) as files to take home:
its darchlang text with the settings it really trained with, its trained weights, a
standalone PyTorch module that loads them, and ONNX.

    darch search examples/digits.darch --dataset digits --budget 20 --keep-best 3 \\
        --journal runs/digits.db
    darch export runs/digits.db --rank 1 -o best/

Weights come from the checkpoints `--keep-best` kept; `--retrain` trains the
architecture again with the evaluation's seed and settings instead (on the CPU this
reproduces the journal's score, which the command checks and prints).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from darchlang.commands.common import positive_int

HELP = "write the best architecture, its weights, standalone PyTorch and ONNX to a folder"
ORDER = 86


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("journal", type=Path, help="the journal of `darch search --journal`")
    parser.add_argument("--rank", type=positive_int, default=1,
                        help="which architecture: 1 is the best (default), 2 the next, ...")
    parser.add_argument("-o", "--output", type=Path, required=True, metavar="DIR",
                        help="the folder to write (created if needed)")
    parser.add_argument("--retrain", action="store_true",
                        help="train the architecture again instead of using a kept checkpoint")
    parser.add_argument("--data-dir", metavar="DIR",
                        help="where the dataset's files are, for --retrain on cifar10 or mnist")


def run(args: argparse.Namespace) -> int:
    from darchlang.report.export import export_best
    from darchlang.search import Journal

    Journal(args.journal, create=False).close()  # a clear error for a missing journal
    done = export_best(args.journal, args.output, args.rank, args.retrain, args.data_dir)
    print(f"rank {done.rank}: #{done.index}, {done.values or f'score {done.score:.4f}'}")
    if done.reproduced is not None:
        same = "reproduces" if abs(done.reproduced - done.score) < 1e-9 else "differs from"
        print(f"retrained: score {done.reproduced:.4f} ({same} the journal's)")
    for path in done.files:
        print(f"wrote {path}")
    return 0
