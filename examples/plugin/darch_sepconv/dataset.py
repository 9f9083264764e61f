"""A synthetic dataset: a plugin can add datasets as well as layers."""

from __future__ import annotations


def load_stripes(data_dir=None):
    """3x8x8 images of horizontal or vertical stripes in noise; 2 classes, 600 images."""
    import numpy as np

    from darchlang.train.data import build_dataset

    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 600)
    stripes = (np.arange(8) % 2).astype(np.float32)
    horizontal = np.broadcast_to(stripes[:, None], (8, 8))
    x = np.where(y[:, None, None] == 0, horizontal, horizontal.T)[:, None]
    x = np.repeat(x, 3, axis=1) + rng.normal(0, 0.3, (600, 3, 8, 8)).astype(np.float32)
    return build_dataset("stripes", (x[:500], y[:500]), (x[500:], y[500:]), num_classes=2,
                         source="darch_sepconv.dataset")
