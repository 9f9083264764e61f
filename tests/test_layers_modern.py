"""The modern layers (issue 13): each compiles, runs forward and backward without NaN,
gives every parameter a gradient, counts its parameters as torch does, exports to the
same standalone model and to ONNX; bad input is a FILE:LINE:COL error, never a torch
traceback; and the docs' layer examples compile and run."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
import torch

import darchlang
from darchlang.backends.torch.compiler import compile_architecture
from darchlang.backends.torch.export import emit_python, export_onnx
from darchlang.backends.torch.plan import parse_shape

torch.set_num_threads(1)
ROOT = Path(__file__).resolve().parent.parent

# name: (the space, its input)
CASES = {
    "conv2d groups dilation bias": ("conv2d(filters: 8, size: 3, dilation: 2, groups: 2, bias: false)", "4x9x9"),
    "conv2d valid dilated": ('conv2d(filters: 4, size: 3, dilation: 2, padding: "valid", stride: 2)', "2x9x9"),
    "depthwise_conv2d": ("depthwise_conv2d(size: 3, stride: 2, multiplier: 2)", "4x9x9"),
    "depthwise_conv2d even": ("depthwise_conv2d(size: 4)", "3x6x6"),
    "conv1d": ("conv1d(filters: 6, size: 3, stride: 2)", "10x4"),
    "conv1d even grouped": ("conv1d(filters: 4, size: 2, groups: 2)", "7x4"),
    "adaptive_avg_pool2d": ("adaptive_avg_pool2d(size: 2)", "3x7x7"),
    "global_max_pool": ("global_max_pool()", "3x5x5"),
    "upsample nearest": ("upsample(scale: 2)", "2x3x3"),
    "upsample bilinear": ('upsample(scale: 3, mode: "bilinear")', "2x3x3"),
    "silu": ("silu()", "3x4x4"),
    "hardswish": ("hardswish()", "3x4x4"),
    "relu6": ("relu6()", "3x4x4"),
    "leaky_relu": ("leaky_relu(slope: 0.2)", "3x4x4"),
    "softmax image": ("softmax()", "3x4x4"),
    "softmax tokens": ("softmax()", "5x6"),
    "group_norm": ("group_norm(groups: 2)", "4x5x5"),
    "group_norm tokens": ("group_norm(groups: 3)", "5x6"),
    "instance_norm": ("instance_norm()", "3x5x5"),
    "layer_norm tokens": ("layer_norm()", "5x6"),
    "batch_norm tokens": ("batch_norm()", "5x6"),
    "patch_embed": ("patch_embed(size: 2, dim: 8)", "3x8x8"),
    "embedding": ("embedding(vocab: 11, dim: 6)", "7"),
    "position_embedding": ("position_embedding()", "5x8"),
    "class_token": ("class_token()", "5x8"),
    "multihead_attention": ("multihead_attention(heads: 2)", "5x8"),
    "multihead_attention head_dim": ("multihead_attention(heads: 3, head_dim: 4, bias: false)", "5x8"),
    "affine tokens": ("affine(units: 3)", "5x8"),
    "token_mixing": ("token_mixing(hidden: 6)", "5x8"),
    "token_pool mean": ("token_pool()", "5x8"),
    "token_pool class": ('token_pool(mode: "class")', "5x8"),
    "mul gate": ("graph(x) {\n  g = concat [adaptive_avg_pool2d(size: 1), conv2d(filters: 2, size: 1), "
                 "silu(), conv2d(filters: 4, size: 1), sigmoid()](x)\n  s = mul(x, g)\n  return s\n}",
                 "4x3x3"),
}


def build(space: str, shape: str, seed: int = 0):
    arch = darchlang.load_string(f"space = {space}\n", "case.darch").space.sample(0)
    torch.manual_seed(seed)
    return arch, compile_architecture(arch, parse_shape(shape))


def example(shape: tuple[int, ...], space: str) -> torch.Tensor:
    if re.match(r"(concat \[)?embedding\(", space):
        return torch.randint(0, 11, (3, *shape))
    return torch.randn(3, *shape, requires_grad=True)


@pytest.mark.parametrize("name", sorted(CASES))
def test_forward_backward_and_parameter_count(name):
    space, text = CASES[name]
    _, model = build(space, text)
    x = example(model.input_shape, space)
    y = model(x)
    assert tuple(y.shape[1:]) == model.output_shape
    assert torch.isfinite(y).all()
    (y.float() ** 2).sum().backward()
    for pname, p in model.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all(), pname
        assert p.grad.abs().sum() > 0, pname
    if x.dtype.is_floating_point:
        assert x.grad is not None and torch.isfinite(x.grad).all()
    counted = 0
    for step in model.plan.layer_steps():
        if step.ldef.param_count:
            counted += step.ldef.param_count(step.attrs, step.in_shape, step.out_shape)
    assert counted == sum(p.numel() for p in model.parameters())


@pytest.mark.parametrize("name", sorted(CASES))
def test_standalone_source_is_the_same_model(name, tmp_path):
    space, text = CASES[name]
    arch, model = build(space, text, seed=3)
    source = emit_python(arch, parse_shape(text))
    namespace: dict = {}
    exec(compile(source, str(tmp_path / "m.py"), "exec"), namespace)
    torch.manual_seed(3)
    standalone = namespace["Model"]()
    assert standalone.state_dict().keys() == model.state_dict().keys()
    for key, value in model.state_dict().items():
        torch.testing.assert_close(standalone.state_dict()[key], value)
    model.eval()
    standalone.eval()
    x = example(model.input_shape, space).detach()
    torch.testing.assert_close(standalone(x), model(x))


NETWORKS = {
    "convolutions": ("concat [conv2d(filters: 8, size: 3, groups: 2, dilation: 2), "
                     "depthwise_conv2d(size: 3, stride: 2), hardswish(), group_norm(groups: 4), "
                     "upsample(scale: 2, mode: \"bilinear\"), instance_norm(), relu6(), "
                     "adaptive_avg_pool2d(size: 2), silu(), leaky_relu(), global_max_pool(), "
                     "affine(units: 3), softmax()]", "4x8x8"),
    "vit": ("concat [patch_embed(size: 2, dim: 8), class_token(), position_embedding(), "
            "residual(concat [layer_norm(), multihead_attention(heads: 2)]), "
            "residual(concat [layer_norm(), affine(units: 16), gelu(), affine(units: 8)]), "
            "conv1d(filters: 8, size: 3), token_pool(mode: \"class\"), affine(units: 3)]", "3x8x8"),
    "mixer": ("concat [patch_embed(size: 2, dim: 8), "
              "residual(concat [layer_norm(), token_mixing(hidden: 12)]), "
              "residual(concat [layer_norm(), affine(units: 16), gelu(), affine(units: 8)]), "
              "token_pool(), affine(units: 3)]", "3x8x8"),
    "text": ("concat [embedding(vocab: 11, dim: 6), multihead_attention(heads: 3), token_pool(), "
             "affine(units: 2)]", "7"),
}


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(NETWORKS))
def test_onnx_round_trip(name, tmp_path):
    onnxruntime = pytest.importorskip("onnxruntime")
    space, text = NETWORKS[name]
    _, model = build(space, text)
    model.eval()
    path = export_onnx(model, None, tmp_path / "m.onnx")
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    x = example(model.input_shape, space).detach()
    (got,) = session.run(None, {"input": x.float().numpy()})  # exported with float inputs
    torch.testing.assert_close(torch.from_numpy(got), model(x).detach(), rtol=1e-4, atol=1e-5)


# -- bad input: FILE:LINE:COL errors from `check --shapes` and `compile` -----------------------

ERRORS = [
    ("space = concat [patch_embed(size: 2, dim: 64), conv2d(filters: 8, size: 3)]", "3x8x8",
     "bad.darch:1:48: error: `conv2d` needs an image; this is a sequence of 16 tokens of 64"),
    ("space = concat [patch_embed(size: 2, dim: 30), multihead_attention(heads: 4)]", "3x8x8",
     "bad.darch:1:48: error: `multihead_attention` cannot take a sequence of 16 tokens of 30: "
     "its 4 heads do not divide the token width 30"),
    ("space = conv2d(filters: 8, size: 3, groups: 4)", "6x8x8",
     "bad.darch:1:9: error: `conv2d` cannot take a 6x8x8 input: its 4 groups do not divide the "
     "6 input channels"),
    ('space = conv2d(filters: 8, size: 3, dilation: 3, padding: "valid")', "3x6x6",
     'bad.darch:1:9: error: `conv2d` cannot take a 3x6x6 input: its 7x7 window does not fit the '
     '6x6 image with padding "valid"'),
    ("space = patch_embed(size: 3, dim: 8)", "3x8x8",
     "bad.darch:1:9: error: `patch_embed` cannot take a 3x8x8 input: its 3x3 patches do not tile "
     "the 8x8 image"),
    ("space = concat [conv2d(filters: 4, size: 3), token_mixing(hidden: 8)]", "3x8x8",
     "bad.darch:1:46: error: `token_mixing` needs a sequence of tokens; this is a 4x8x8 input"),
    ("space = token_pool()", "3x8x8",
     "bad.darch:1:9: error: `token_pool` needs a sequence of tokens; this is a 3x8x8 input"),
    ('space = residual(conv2d(filters: 3, size: 3, padding: "valid"))', "3x4x4",
     "bad.darch:1:9: error: cannot join a residual: `conv2d` in its body crops 3x4x4 to 3x2x2 "
     'with a "valid" 3x3 window, so the body\'s pixels do not line up with the shortcut\'s'),
]


def darch(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "darchlang.cli", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize(("source", "shape", "first"), ERRORS)
@pytest.mark.slow
def test_bad_layers_are_located_errors(source, shape, first, tmp_path):
    (tmp_path / "bad.darch").write_text(source + "\n")
    for command in (["check", "--shapes", "--input", shape, "bad.darch"],
                    ["compile", "bad.darch", "--input", shape]):
        done = darch(*command, cwd=tmp_path)
        assert done.returncode == 1, done.stdout + done.stderr
        assert "Traceback" not in done.stderr
        assert first in done.stderr, (command, done.stderr)


# -- the docs' layer examples compile and run ------------------------------------------------

DOC = ROOT / "docs" / "language.md"
EXAMPLE = re.compile(r"```darch\n((?:(?!```).)*?# input: (\S+)\n(?:(?!```).)*)```", re.S)


def doc_examples():
    return [pytest.param(code, shape, id=f"language-{i}")
            for i, (code, shape) in enumerate(EXAMPLE.findall(DOC.read_text()))]


@pytest.mark.parametrize(("code", "shape"), doc_examples())
def test_layer_examples_of_the_docs_compile_and_run(code, shape):
    space = darchlang.load_string(code, str(DOC)).space
    for seed in range(3):
        model = compile_architecture(space.sample(seed), parse_shape(shape))
        first = model.plan.layer_steps()[0]
        if first.kind == "embedding":
            x = torch.randint(0, first.attrs["vocab"], (2, *model.input_shape))
        else:
            x = torch.randn(2, *model.input_shape)
        assert torch.isfinite(model(x)).all()


def test_every_layer_has_a_documented_example():
    text = "\n".join(code for code, _ in EXAMPLE.findall(DOC.read_text()))
    from darchlang.environment import builtin_environment

    missing = [n for n in builtin_environment().layers if not re.search(rf"\b{n}\(", text)]
    assert not missing, missing
