"""Batch augmentation: every padded crop is a shift of its image with zeros coming in,
flips happen with the asked probability, and one seed gives one result."""

from __future__ import annotations

import pytest
import torch

from darchlang.errors import DarchError
from darchlang.train.augment import NO_AUGMENT, Augment

torch.set_num_threads(1)


def shifted(image: torch.Tensor, dy: int, dx: int) -> torch.Tensor:
    """`image` moved by (dy, dx) with zeros filling the uncovered border."""
    c, h, w = image.shape
    out = torch.zeros_like(image)
    ys, yd = slice(max(0, -dy), min(h, h - dy)), slice(max(0, dy), min(h, h + dy))
    xs, xd = slice(max(0, -dx), min(w, w - dx)), slice(max(0, dx), min(w, w + dx))
    out[:, yd, xd] = image[:, ys, xs]
    return out


def test_pad_and_crop_is_a_shift_with_zero_fill():
    x = torch.randn(16, 3, 6, 5) + 5  # no zeros in the images themselves
    out = Augment(pad=2)(x, torch.Generator().manual_seed(0))
    assert out.shape == x.shape
    seen = set()
    for img, res in zip(x, out, strict=True):
        shifts = [(dy, dx) for dy in range(-2, 3) for dx in range(-2, 3)
                  if torch.equal(shifted(img, dy, dx), res)]
        assert len(shifts) == 1
        seen.add(shifts[0])
    assert len(seen) > 3  # offsets really are random per image


def test_flip_probability_and_identity():
    x = torch.randn(4, 1, 3, 3)
    assert torch.equal(Augment(p_flip=1.0)(x, torch.Generator()), x.flip(3))
    assert NO_AUGMENT(x, torch.Generator()) is x and not NO_AUGMENT.active
    many = torch.randn(4000, 1, 2, 2)
    out = Augment(p_flip=0.25)(many, torch.Generator().manual_seed(1))
    flipped = (out != many).any(dim=(1, 2, 3)).float().mean().item()
    assert 0.2 < flipped < 0.3


def test_same_seed_same_batch():
    x = torch.randn(8, 3, 8, 8)
    aug = Augment(pad=4, p_flip=0.5)
    a = aug(x, torch.Generator().manual_seed(7))
    b = aug(x, torch.Generator().manual_seed(7))
    c = aug(x, torch.Generator().manual_seed(8))
    assert torch.equal(a, b) and not torch.equal(a, c)


def test_bad_augmentations_are_errors():
    with pytest.raises(DarchError, match="non-negative integer"):
        Augment(pad=-1)
    with pytest.raises(DarchError, match=r"probability in \[0, 1\]"):
        Augment(p_flip=1.5)
    with pytest.raises(DarchError, match=r"shaped \(channels, height, width\)"):
        Augment(pad=1).check_shape((10,))
    NO_AUGMENT.check_shape((10,))  # nothing to do, so any shape is fine
