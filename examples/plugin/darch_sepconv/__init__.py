"""A darchlang plugin: `sepconv2d` and the `toy_regression` evaluator.

darchlang calls `register(registry)` once per process, through the entry point
declared in this package's pyproject.toml.
"""

from __future__ import annotations

from darch_sepconv.evaluator import ToyRegression
from darch_sepconv.layer import SEPCONV2D


def register(registry) -> None:
    registry.add(SEPCONV2D)
    registry.add_evaluator("toy_regression", ToyRegression)
