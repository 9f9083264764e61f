"""MLP-Mixer from the standard library (Tolstikhin et al. 2021): a small Mixer of
`patch_embed`, `mixer_block` (stdlib/blocks.darch), `token_pool` and `affine` on the 8x8
digits is proved by `check --shapes`, counts its parameters as torch does, runs forward
and backward with a gradient on every parameter, and trains a few steps."""

from __future__ import annotations

import math
import subprocess
import sys

import pytest
import torch
import torch.nn.functional as F
from test_stdlib_spaces import digits_batch, train_losses

import darchlang
from darchlang.backends.torch.compiler import compile_architecture

torch.set_num_threads(1)

MIXER = """\
from "blocks" import mixer_block

space = concat [
    patch_embed(size: 2, dim: 16),
    repeat(mixer_block(16, one_of(8, 32), 32), times: 2),
    layer_norm(),
    token_pool(),
    affine(units: 10),
]
"""


@pytest.mark.slow
def test_shapes_are_proved_and_counted(tmp_path):
    (tmp_path / "mixer.darch").write_text(MIXER)
    outputs = []
    for args in (["check", "--shapes", "--input", "1x8x8"], ["count"]):
        done = subprocess.run([sys.executable, "-m", "darchlang.cli", *args, "mixer.darch"],
                              cwd=tmp_path, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stdout + done.stderr
        outputs.append(done.stdout.strip())
    assert outputs[1] == "4"  # two blocks, each choosing its token-mixing width


def test_parameters_follow_the_formula():
    """16 tokens of 16: per block, token mixing (16 + 1) * h + (h + 1) * 16, channel
    mixing (16 + 1) * 32 + (32 + 1) * 16, two layer norms of 2 * 16."""
    arch = darchlang.load_string(MIXER, "mixer.darch").space.sample(0)
    model = compile_architecture(arch, (1, 8, 8))
    hidden = [m.fc1.out_features for m in model.modules() if type(m).__name__ == "TokenMixing"]
    assert len(hidden) == 2
    block = sum((16 + 1) * h + (h + 1) * 16 + 17 * 32 + 33 * 16 + 4 * 16 for h in hidden)
    expected = (4 + 1) * 16 + block + 2 * 16 + 17 * 10
    assert sum(p.numel() for p in model.parameters()) == expected


@pytest.mark.slow  # loading the digits takes seconds
def test_a_small_mixer_learns_the_digits():
    x, y = digits_batch()
    arch = darchlang.load_string(MIXER, "mixer.darch").space.sample(1)
    torch.manual_seed(0)
    model = compile_architecture(arch, tuple(x.shape[1:]))
    assert model.output_shape == (10,)
    F.cross_entropy(model(x), y).backward()
    for name, p in model.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all() and p.grad.abs().sum() > 0, name
    losses = train_losses(model, x, y, 3e-3, steps=6)
    assert all(map(math.isfinite, losses)), losses
    assert losses[-1] < losses[0], losses
