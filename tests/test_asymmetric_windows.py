"""Non-square windows: `size`, `stride` and `dilation` of conv2d, depthwise_conv2d and the
pools take an integer or a pair [h, w] (review.md, finding 9), with TF's SAME padding
per axis, exact costs, and the same numbers in the compiled model, the exported source
and ONNX."""

from __future__ import annotations

import subprocess
import sys

import pytest
import torch
import torch.nn.functional as F
from test_zero_pruning import exported_output

import darchlang
from darchlang import DarchError
from darchlang.backends.torch.compiler import compile_architecture
from darchlang.backends.torch.summary import summarize
from darchlang.layers.shapes import pads

torch.set_num_threads(1)

LAYERS = [
    "conv2d(filters: 3, size: [1, 7])",
    "conv2d(filters: 3, size: [3, 1], stride: [2, 1])",
    'conv2d(filters: 3, size: [2, 5], stride: [1, 2], padding: "valid")',
    "conv2d(filters: 3, size: [2, 3], stride: 2, dilation: [2, 1])",
    "depthwise_conv2d(size: [1, 3], dilation: [1, 3], multiplier: 2)",
    "max_pool2d(size: [1, 3], stride: 1)",
    "max_pool2d(size: [2, 1], stride: [1, 2])",
    "avg_pool2d(size: [2, 3], stride: [2, 1])",
    "avg_pool2d(size: [3, 2], stride: [3, 1])",
    'max_pool2d(size: [3, 2], stride: [2, 1], padding: "valid")',
]
SHAPE = (2, 9, 8)


def tf_same(layer, x: torch.Tensor, attrs: dict) -> torch.Tensor:
    """TensorFlow's SAME by hand: pad each axis explicitly (a max pool with -inf, an
    average over the real pixels only), then apply the window without padding."""
    (top, bottom), (left, right) = pads(attrs, tuple(x.shape[2:]))
    border = (left, right, top, bottom)
    k = tuple(attrs["size"]) if isinstance(attrs["size"], list) else attrs["size"]
    s = tuple(attrs["stride"]) if isinstance(attrs["stride"], list) else attrs["stride"]
    if layer is None and attrs["kind"] == "max":
        return F.max_pool2d(F.pad(x, border, value=-torch.inf), k, s)
    if layer is None:
        ones = torch.ones_like(x[:, :1])
        return F.avg_pool2d(F.pad(x, border), k, s) / F.avg_pool2d(F.pad(ones, border), k, s)
    return F.conv2d(F.pad(x, border), layer.weight, layer.bias, layer.stride, 0, layer.dilation,
                    layer.groups)


@pytest.mark.parametrize("text", LAYERS)
def test_each_window_computes_tf_same_and_costs_what_it_does(text):
    arch = darchlang.load_string(f"space = {text}").space.sample(0)
    model = compile_architecture(arch, SHAPE).eval()
    x = torch.randn(2, *SHAPE)
    layer = next(iter(model.children()), None)
    attrs = dict(arch.network.attrs)
    attrs.setdefault("stride", 2 if "pool" in text else 1)
    attrs.setdefault("padding", "same")
    attrs["kind"] = "max" if "max" in text else "avg"
    with torch.no_grad():
        torch.testing.assert_close(model(x), tf_same(layer, x, attrs))
    summary = summarize(model)
    assert summary.total_params == sum(p.numel() for p in model.parameters())
    if layer is not None:  # one multiply-add per weight per output position
        positions = model.output_shape[1] * model.output_shape[2]
        assert summary.total_macs == layer.weight.numel() * positions


def test_the_pair_prints_back_as_written_and_counts_as_a_choice():
    space = darchlang.load_string(
        "space = conv2d(filters: 4, size: one_of([1, 7], [7, 1], 3), stride: [1, 2])").space
    assert space.count() == 3
    text = space.replay([1]).text
    assert "size: [7, 1], stride: [1, 2]" in text
    assert darchlang.load_string(text).space.count() == 1


@pytest.mark.parametrize(("text", "message"), [
    ("conv2d(filters: 4, size: [1, 2, 3])", "got [1, 2, 3]"),
    ("conv2d(filters: 4, size: [0, 3])", "got [0, 3]"),
    ("max_pool2d(stride: [2])", "got [2]"),
    ("conv1d(filters: 4, size: [1, 3])", "expected a positive integer, got list"),
])
def test_a_bad_pair_is_an_error_at_its_argument(text, message):
    with pytest.raises(DarchError) as info:
        _ = darchlang.load_string(f"space = {text}", "x.darch").space
    assert message in info.value.message and info.value.span.line == 1


NASNET = """
# NASNet's factorised 7x7 (Zoph et al., 2018): 1x7 then 7x1
space = concat [
    conv2d(filters: 8, size: 3),
    residual(concat [relu(), conv2d(filters: 8, size: [1, 7], bias: false),
                     conv2d(filters: 8, size: [7, 1], bias: false), batch_norm()]),
    global_avg_pool(),
    affine(units: 10),
]
"""


@pytest.mark.slow
def test_nasnet_factorised_conv_exports_to_python_and_onnx(tmp_path):
    import numpy as np
    import onnxruntime

    (tmp_path / "n.darch").write_text(NASNET)
    done = subprocess.run([sys.executable, "-m", "darchlang.cli", "compile", "n.darch", "--input",
                           "3x12x12", "--emit-python", "m.py", "--emit-onnx", "m.onnx"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "448" in done.stdout  # each 1x7 / 7x1 conv: 8 * 8 * 7 weights
    arch = darchlang.load_string(NASNET).space.sample(0)
    torch.manual_seed(0)
    model = compile_architecture(arch, (3, 12, 12)).eval()
    x = torch.randn(2, 3, 12, 12)
    with torch.no_grad():
        expected = model(x)
    torch.testing.assert_close(exported_output(arch, (3, 12, 12), model, x), expected)
    from darchlang.backends.torch.export import export_onnx

    session = onnxruntime.InferenceSession(str(export_onnx(model, (3, 12, 12), tmp_path / "a.onnx")),
                                           providers=["CPUExecutionProvider"])
    (got,) = session.run(None, {"input": x.numpy()})
    np.testing.assert_allclose(got, expected.numpy(), rtol=1e-3, atol=1e-4)
