"""A darchlang plugin: the `sepconv2d` layer (with its torch lowering), the
`toy_regression` evaluator, the `hill_climb` searcher and the `stripes` dataset.

darchlang calls `register(env)` once per process, through the entry point declared in
this package's pyproject.toml; `env` is the `darchlang.environment.Environment` that
every program, search and backend looks names up in.
"""

from __future__ import annotations

from darch_sepconv.dataset import load_stripes
from darch_sepconv.evaluator import ToyRegression
from darch_sepconv.layer import SEPCONV2D, SEPCONV2D_TORCH
from darch_sepconv.searcher import HillClimb


def register(env) -> None:
    env.add_layer(SEPCONV2D)
    env.add_lowering("torch", "sepconv2d", SEPCONV2D_TORCH)
    env.add_evaluator("toy_regression", ToyRegression)
    env.add_searcher(HillClimb)
    env.add_dataset("stripes", load_stripes, "horizontal or vertical stripes, 3x8x8, 2 classes")
