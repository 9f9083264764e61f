"""The layers a decoder, a sub-pixel network, a text CNN and MobileNetV3's gate need:
conv2d_transpose, pixel_shuffle, max_pool1d / avg_pool1d and hardsigmoid. Each computes
what its definition says (checked against a plain re-implementation here), counts its
parameters and multiply-adds as torch builds it, runs forward and backward, exports to
the same standalone model and to ONNX, and a bad input is a located error."""

from __future__ import annotations

import itertools

import pytest
import torch
import torch.nn.functional as F
from test_layers_modern import build
from test_layers_modern import test_bad_layers_are_located_errors as located_errors
from test_layers_vision import params_by_formula

from darchlang.backends.torch.export import emit_python, export_onnx
from darchlang.backends.torch.plan import parse_shape
from darchlang.layers.shapes import same_padding

torch.set_num_threads(1)

CASES = {
    "conv2d_transpose same stride 2": ("conv2d_transpose(filters: 4, size: 3, stride: 2)", "3x5x5"),
    "conv2d_transpose same even kernel": ("conv2d_transpose(filters: 4, size: 4, stride: 2)", "2x3x4"),
    "conv2d_transpose same stride 1 even": ("conv2d_transpose(filters: 2, size: 2, bias: false)", "3x4x4"),
    "conv2d_transpose stride past kernel": ("conv2d_transpose(filters: 2, size: 1, stride: 2)", "3x3x3"),
    "conv2d_transpose pairs grouped": ("conv2d_transpose(filters: 4, size: [3, 2], stride: [1, 2], "
                                       "groups: 2, dilation: [2, 1])", "4x4x5"),
    "conv2d_transpose valid": ('conv2d_transpose(filters: 3, size: 3, stride: 2, padding: "valid")',
                               "2x4x4"),
    "pixel_shuffle": ("concat [conv2d(filters: 8, size: 1), pixel_shuffle(factor: 2)]", "3x3x3"),
    "max_pool1d": ("concat [affine(units: 4), max_pool1d()]", "7x3"),
    "avg_pool1d stride 1 even": ("concat [affine(units: 4), avg_pool1d(size: 2, stride: 1)]", "5x3"),
    "avg_pool1d valid": ('concat [affine(units: 4), avg_pool1d(size: 3, stride: 2, padding: "valid")]',
                         "8x3"),
    "hardsigmoid": ("concat [conv2d(filters: 3, size: 1), hardsigmoid()]", "2x3x3"),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_forward_backward_and_costs_are_torchs(name):
    space, text = CASES[name]
    _, model = build(space, text)
    x = torch.randn(3, *model.input_shape, requires_grad=True)
    y = model(x)
    assert tuple(y.shape[1:]) == model.output_shape and torch.isfinite(y).all()
    y.square().sum().backward()
    for key, p in model.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, key
    assert x.grad is not None and x.grad.abs().sum() > 0
    assert params_by_formula(model) == sum(p.numel() for p in model.parameters())


@pytest.mark.parametrize("name", sorted(CASES))
def test_standalone_source_is_the_same_model(name, tmp_path):
    space, text = CASES[name]
    arch, model = build(space, text, seed=3)
    namespace: dict = {}
    exec(compile(emit_python(arch, parse_shape(text)), str(tmp_path / "m.py"), "exec"), namespace)
    torch.manual_seed(3)
    standalone = namespace["Model"]()
    for key, value in model.state_dict().items():
        torch.testing.assert_close(standalone.state_dict()[key], value)
    x = torch.randn(2, *model.input_shape)
    torch.testing.assert_close(standalone.eval()(x), model.eval()(x))


@pytest.mark.slow
def test_onnx_round_trip(tmp_path):
    onnxruntime = pytest.importorskip("onnxruntime")
    space = ("concat [conv2d(filters: 8, size: 3, stride: 2), conv2d_transpose(filters: 8, size: 4, "
             "stride: 2), pixel_shuffle(factor: 2), hardsigmoid(), patch_embed(size: 2, dim: 6), "
             "max_pool1d(size: 3, stride: 1), avg_pool1d(), token_pool(), affine(units: 3)]")
    _, model = build(space, "3x8x8")
    model.eval()
    path = export_onnx(model, None, tmp_path / "m.onnx")
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    x = torch.randn(3, 3, 8, 8)
    (got,) = session.run(None, {"input": x.numpy()})
    torch.testing.assert_close(torch.from_numpy(got), model(x).detach(), rtol=1e-4, atol=1e-5)


# -- each layer computes what its definition says ---------------------------------------------


def tf_same_conv2d(x: torch.Tensor, weight: torch.Tensor, stride: tuple, dilation: tuple,
                   groups: int) -> torch.Tensor:
    """TensorFlow's SAME conv2d: each axis padded total // 2 before, the rest after."""
    pad = []
    for axis in (1, 0):  # F.pad takes the width first
        n, k = x.shape[2 + axis], dilation[axis] * (weight.shape[2 + axis] - 1) + 1
        _, before, after = same_padding(n, k, stride[axis])
        pad += [before, after]
    return F.conv2d(F.pad(x, pad), weight, stride=stride, dilation=dilation, groups=groups)


@pytest.mark.parametrize(("size", "stride", "dilation", "groups"), [
    ((3, 3), (2, 2), (1, 1), 1), ((4, 4), (2, 2), (1, 1), 1), ((2, 2), (1, 1), (1, 1), 1),
    ((1, 1), (2, 2), (1, 1), 1), ((3, 2), (1, 2), (2, 1), 2), ((5, 5), (3, 3), (1, 1), 2),
])
def test_conv2d_transpose_same_is_the_adjoint_of_the_same_conv2d(size, stride, dilation, groups):
    """The gradient of TF's SAME conv2d over an n x stride image, with the same weights,
    is the transposed convolution's output for an n-sized input: <conv(x), y> = <x, T(y)>."""
    h, w = 3, 4
    _, model = build(f"conv2d_transpose(filters: 4, size: {list(size)}, stride: {list(stride)}, "
                     f"dilation: {list(dilation)}, groups: {groups}, bias: false)", f"4x{h}x{w}")
    (module,) = [m for m in model.modules() if isinstance(m, torch.nn.ConvTranspose2d)]
    y = torch.randn(2, 4, h, w)
    x = torch.zeros(2, 4, h * stride[0], w * stride[1], requires_grad=True)
    # ConvTranspose2d's weight (cin, cout / g, kh, kw) is the weight of the conv2d it undoes
    conv = tf_same_conv2d(x, module.weight.detach(), stride, dilation, groups)
    assert conv.shape == y.shape
    (expected,) = torch.autograd.grad((conv * y).sum(), x)
    torch.testing.assert_close(model(y), expected)


def test_conv2d_transpose_counts_a_mac_per_input_value_and_tap():
    _, model = build("conv2d_transpose(filters: 6, size: 3, stride: 2, groups: 2)", "4x5x5")
    (step,) = model.plan.layer_steps()
    assert step.out_shape == (6, 10, 10)
    assert step.ldef.macs(step.attrs, step.in_shape, step.out_shape) == 4 * 5 * 5 * 3 * 9
    assert sum(p.numel() for p in model.parameters()) == 4 * 3 * 9 + 6


def test_pixel_shuffle_moves_each_channel_group_into_blocks():
    _, model = build("pixel_shuffle(factor: 2)", "8x2x3")
    x = torch.randn(1, 8, 2, 3)
    y = model(x)
    assert y.shape == (1, 2, 4, 6)
    for c, h, w, i, j in itertools.product(range(2), range(2), range(3), range(2), range(2)):
        assert y[0, c, 2 * h + i, 2 * w + j] == x[0, 4 * c + 2 * i + j, h, w]


def naive_pool1d(x: torch.Tensor, size: int, stride: int, padding: str, average: bool) -> torch.Tensor:
    """Windows along the sequence, TF's SAME padding (total // 2 before), over the real
    positions only."""
    n = x.shape[1]
    if padding == "same":
        out, before, _ = same_padding(n, size, stride)
    else:
        out, before = (n - size) // stride + 1, 0
    rows = []
    for i in range(out):
        start = i * stride - before
        window = x[:, max(start, 0):min(start + size, n)]
        rows.append(window.mean(1) if average else window.amax(1))
    return torch.stack(rows, 1)


@pytest.mark.parametrize(("size", "stride", "padding"), [
    (2, 2, "same"), (3, 2, "same"), (2, 1, "same"), (3, 1, "same"), (4, 3, "same"), (3, 2, "valid"),
])
@pytest.mark.parametrize("kind", ["max", "avg"])
def test_pool1d_pools_each_feature_along_the_sequence(size, stride, padding, kind):
    _, model = build(f'{kind}_pool1d(size: {size}, stride: {stride}, padding: "{padding}")', "7x3")
    x = torch.randn(2, 7, 3)
    torch.testing.assert_close(model(x), naive_pool1d(x, size, stride, padding, kind == "avg"))


def test_hardsigmoid_is_relu6_of_x_plus_3_over_6():
    _, model = build("hardsigmoid()", "5")
    x = torch.linspace(-5, 5, 5).view(1, 5)
    torch.testing.assert_close(model(x), F.relu6(x + 3) / 6)


# -- bad input: FILE:LINE:COL errors from `check --shapes` and `compile` -----------------------

ERRORS = [
    ("space = conv2d_transpose(filters: 4, size: 3, groups: 2)", "3x4x4",
     "bad.darch:1:9: error: `conv2d_transpose` cannot take a 3x4x4 input: its 2 groups do not "
     "divide the 3 input channels"),
    ("space = conv2d_transpose(filters: 4, size: 3)", "16x8",
     "bad.darch:1:9: error: `conv2d_transpose` needs an image; this is a sequence of 16 tokens of 8"),
    ("space = pixel_shuffle(factor: 2)", "6x2x2",
     "bad.darch:1:9: error: `pixel_shuffle` cannot take a 6x2x2 input: its factor 2 needs channels "
     "in multiples of 4, not 6"),
    ("space = max_pool1d()", "3x8x8",
     "bad.darch:1:9: error: `max_pool1d` needs a sequence of tokens; this is a 3x8x8 input"),
    ('space = avg_pool1d(size: 4, padding: "valid")', "3x5",
     "`avg_pool1d` cannot take a sequence of 3 tokens of 5: its 4-wide window does not fit 3 "
     'positions with padding "valid"'),
]


@pytest.mark.slow
@pytest.mark.parametrize(("source", "shape", "first"), ERRORS)
def test_bad_input_is_a_located_error(source, shape, first, tmp_path):
    located_errors(source, shape, first, tmp_path)
