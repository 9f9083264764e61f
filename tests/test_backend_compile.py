"""Compiling whole architectures: module names, residual joins, shape errors pinned as
(source, message) pairs, pickling, torch.compile, the summary, and the example spaces."""

from __future__ import annotations

import copy
import json
import pickle
import random
import traceback
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from torch import nn

import darchlang
from darchlang import DarchError
from darchlang.arch.graph import Layer, Repeat, Residual, Seq
from darchlang.backends.torch.compiler import compile_architecture
from darchlang.backends.torch.plan import parse_shape, plan_network
from darchlang.backends.torch.summary import summarize

torch.set_num_threads(1)
EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def compile_source(text: str, shape, seed: int = 0):
    arch = darchlang.load_string(text, "t.darch").space.sample(seed)
    return compile_architecture(arch, shape)


def close(a, b):
    torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-5)


# -- names --------------------------------------------------------------------------------


def test_tied_repeat_copies_get_their_own_names_and_weights():
    model = compile_source(
        "space = repeat_tied(concat [conv2d(filters: 4, size: 3), relu()], times: 3)", (2, 6, 6)
    )
    names = [n for n, _ in model.named_children()]
    assert names == [f"space_repeat_tied_{k}_0_conv2d" for k in range(3)]
    keys = list(model.state_dict())
    assert keys[:2] == ["space_repeat_tied_0_0_conv2d.weight", "space_repeat_tied_0_0_conv2d.bias"]
    w1, w2 = model.space_repeat_tied_1_0_conv2d.weight, model.space_repeat_tied_2_0_conv2d.weight
    assert w1.data_ptr() != w2.data_ptr() and not torch.equal(w1, w2)


def test_nested_tied_repeats_number_each_level():
    body = Layer("conv2d", {"filters": 2, "size": 1}, "s/repeat_tied/body/repeat_tied/body/conv2d")
    inner = Repeat(body, 2, "s/repeat_tied/body/repeat_tied")
    model = compile_architecture(Repeat(inner, 2, "s/repeat_tied"), (2, 3, 3))
    assert [n for n, _ in model.named_children()] == [
        "s_repeat_tied_0_repeat_tied_0_conv2d",
        "s_repeat_tied_0_repeat_tied_1_conv2d",
        "s_repeat_tied_1_repeat_tied_0_conv2d",
        "s_repeat_tied_1_repeat_tied_1_conv2d",
    ]


def test_paths_become_valid_distinct_attribute_names():
    conv = {"filters": 2, "size": 1}
    net = Seq((
        Layer("conv2d", conv, "my-net/0/conv2d"),
        Layer("conv2d", conv, "my-net/0/conv2d"),
        Layer("conv2d", conv, "0/conv2d"),
        Layer("conv2d", conv, ""),
        Layer("conv2d", conv, "training"),
        Layer("conv2d", conv, "if"),
    ))
    names = [n for n, _ in compile_architecture(net, (2, 3, 3)).named_children()]
    assert names == [
        "my_net_0_conv2d", "my_net_0_conv2d_2", "_0_conv2d", "conv2d", "training_", "if_",
    ]


def test_state_dict_keys_lead_back_to_the_program_path():
    model = compile_source(
        "space = concat [conv2d(filters: 4, size: 3), batch_norm(), affine(units: 3)]", (1, 4, 4)
    )
    paths = {s.name: s.path for s in model.plan.layer_steps()}
    for key in model.state_dict():
        name = key.split(".")[0]
        assert paths[name].replace("/", "_") == name


# -- residual joins -----------------------------------------------------------------------


def residual_model(body: str, shape, join: str = "pad"):
    join_arg = f', join: "{join}"' if join != "pad" else ""
    return compile_source(f"space = residual({body}{join_arg})", shape)


def test_residual_equal_shapes_adds_input():
    model = residual_model("conv2d(filters: 3, size: 3)", (3, 5, 5))
    x = torch.randn(2, 3, 5, 5)
    close(model(x), model.space_residual_body_conv2d(x) + x)
    assert "x = x + skip0" in model.forward_source


def test_residual_wider_body_zero_pads_the_shortcut():
    model = residual_model("conv2d(filters: 5, size: 3)", (3, 5, 5))
    x = torch.randn(2, 3, 5, 5)
    y = model.space_residual_body_conv2d(x)
    expected = y + torch.cat([x, torch.zeros(2, 2, 5, 5)], dim=1)
    close(model(x), expected)
    assert sum(p.numel() for p in model.parameters()) == 3 * 5 * 9 + 5


def test_residual_narrower_body_is_zero_padded_to_the_input_width():
    model = residual_model("conv2d(filters: 2, size: 3)", (4, 5, 5))
    x = torch.randn(2, 4, 5, 5)
    y = model.space_residual_body_conv2d(x)
    close(model(x), torch.cat([y, torch.zeros(2, 2, 5, 5)], dim=1) + x)
    assert model.output_shape == (4, 5, 5)


def test_residual_strided_body_subsamples_the_shortcut():
    model = residual_model("conv2d(filters: 6, size: 3, stride: 2)", (4, 7, 7))
    x = torch.randn(2, 4, 7, 7)
    y = model.space_residual_body_conv2d(x)  # 7 -> 4 pads 1 and 1: the conv's own padding
    shortcut = F.pad(x[:, :, ::2, ::2], (0, 0, 0, 0, 0, 2))
    close(model(x), y + shortcut)
    assert model.output_shape == (6, 4, 4)


def test_residual_project_uses_a_bias_free_1x1_conv_with_the_stride():
    model = residual_model("conv2d(filters: 6, size: 3, stride: 2)", (4, 8, 8), join="project")
    proj = model.space_residual_project
    assert isinstance(proj, nn.Conv2d) and proj.kernel_size == (1, 1) and proj.stride == (2, 2)
    assert proj.bias is None and proj.weight.numel() == 4 * 6
    x = torch.randn(2, 4, 8, 8)
    y = model.space_residual_body_conv2d(F.pad(x, (0, 1, 0, 1)))
    close(model(x), y + F.conv2d(x, proj.weight, stride=2))


def test_residual_project_with_equal_shapes_adds_directly():
    model = residual_model("conv2d(filters: 3, size: 3)", (3, 5, 5), join="project")
    assert not hasattr(model, "space_residual_project")
    assert "x = x + skip0" in model.forward_source


def test_residual_on_vectors_pads_or_projects():
    padded = residual_model("affine(units: 6)", (4,))
    x = torch.randn(3, 4)
    close(padded(x), padded.space_residual_body_affine(x) + F.pad(x, (0, 2)))
    projected = residual_model("affine(units: 6)", (4,), join="project")
    assert isinstance(projected.space_residual_project, nn.Linear)
    expected = projected.space_residual_body_affine(x) + projected.space_residual_project(x)
    close(projected(x), expected)


def test_nested_residuals_keep_separate_shortcuts():
    model = compile_source(
        "space = residual(concat [conv2d(filters: 4, size: 1), residual(conv2d(filters: 6, size: 1))])",
        (2, 3, 3),
    )
    assert "skip1 = x" in model.forward_source
    x = torch.randn(2, 2, 3, 3)
    a = model.space_residual_body_0_conv2d(x)
    b = model.space_residual_body_1_residual_body_conv2d(a) + F.pad(a, (0, 0, 0, 0, 0, 2))
    close(model(x), b + F.pad(x, (0, 0, 0, 0, 0, 4)))


# -- shape errors, pinned -----------------------------------------------------------------

SHAPE_ERRORS = [
    ('space = conv2d(filters: 8, size: 5, padding: "valid")', "3x4x4",
     't.darch:1:9: error: `conv2d` cannot take a 3x4x4 input: its 5x5 window does not fit the '
     '4x4 image with padding "valid"', None),
    ("space = concat [affine(units: 10), conv2d(filters: 8, size: 3)]", "3x8x8",
     "t.darch:1:36: error: `conv2d` needs an image; this is a vector of 10 features",
     "`affine`, `flatten` and global pools make a vector; put `conv2d` before them"),
    ("space = conv2d(filters: 8, size: 3)", "3x8",
     "t.darch:1:9: error: `conv2d` needs an image; this is a sequence of 3 tokens of 8",
     "two sizes read as tokens x features; an image is channels x height x width, as in "
     "--input 3x32x32"),
    ("space = concat [affine(units: 10), max_pool2d()]", "3x8x8",
     "t.darch:1:36: error: `max_pool2d` needs an image; this is a vector of 10 features", None),
    ("space = concat [flatten(), global_avg_pool()]", "3x8x8",
     "t.darch:1:28: error: `global_avg_pool` needs an image; this is a vector of 192 features", None),
    ('space = max_pool2d(size: 3, stride: 1, padding: "valid")', "3x2x8",
     't.darch:1:9: error: `max_pool2d` cannot take a 3x2x8 input: its 3x3 window does not fit '
     'the 2x8 image with padding "valid"', None),
    ("space = batch_norm()", "3x2x2x2x2",
     "t.darch:1:9: error: `batch_norm` needs a vector, a sequence of tokens, an image or a "
     "volume; this is a 3x2x2x2x2 input", None),
    ("space = residual(concat [conv2d(filters: 8, size: 3), flatten()])", "3x8x8",
     "t.darch:1:9: error: cannot join a residual: its body turns 3x8x8 into 512 features",
     "a residual body must keep the layout (image to image, tokens to tokens, or vector to vector)"),
    ('space = residual(conv2d(filters: 8, size: 3, padding: "valid"))', "3x8x8",
     "t.darch:1:9: error: cannot join a residual: its body turns 3x8x8 into 8x6x6, and 6 is "
     "not 8 downsampled by a whole stride",
     'use padding: "same" inside the body so it keeps or divides the image size'),
    ("space = concat [conv2d(filters: 4, size: 3),\n"
     '  conv2d(filters: 4, size: 9, padding: "valid")]', "1x8x8",
     't.darch:2:3: error: `conv2d` cannot take a 4x8x8 input: its 9x9 window does not fit the '
     '8x8 image with padding "valid"', None),
]


@pytest.mark.parametrize(("source", "shape", "first", "help_text"), SHAPE_ERRORS)
def test_shape_error_message(source, shape, first, help_text):
    with pytest.raises(DarchError) as info:
        compile_source(source, parse_shape(shape))
    text = info.value.render()
    assert text.splitlines()[0] == first, text
    if help_text is not None:
        assert f"= help: {help_text}" in text, text


def test_shape_error_names_the_layer_path():
    with pytest.raises(DarchError) as info:
        compile_source("space = concat [flatten(), conv2d(filters: 2, size: 1)]", (1, 2, 2))
    assert "= note: the layer is `space/1/conv2d`" in info.value.render()


IR_ERRORS = [
    (Layer("conv3d", {}, "n/conv3d"), (3, 4, 4), "`conv3d` is not a known layer"),
    (Layer("conv2d", {"size": 3}, "n/conv2d"), (3, 4, 4), "`conv2d` needs the argument `filters`"),
    (Residual(Layer("relu", {}), "sum"), (3, 4, 4), 'a residual join is "pad" or "project", got \'sum\''),
    (Layer("relu", {}), (3, 0, 4), "an input shape is a list of positive sizes, got (3, 0, 4)"),
    (Layer("relu", {}), (), "an input shape is a list of positive sizes, got ()"),
]


@pytest.mark.parametrize(("node", "shape", "message"), IR_ERRORS)
def test_ir_error_message(node, shape, message):
    with pytest.raises(DarchError) as info:
        compile_architecture(node, shape)
    assert info.value.message == message


@pytest.mark.parametrize("text", ["3xab", "", "3xx32", "3x32x", "x3", "3,,3", "3x²"])
def test_parse_shape_rejects_bad_text(text):
    with pytest.raises(DarchError, match="cannot read the input shape"):
        parse_shape(text)


def test_parse_shape_reads_the_usual_spellings():
    assert parse_shape("3x32x32") == parse_shape("3, 32, 32") == (3, 32, 32)
    assert parse_shape("784") == (784,)


def test_wrong_input_at_run_time_says_what_was_expected():
    model = compile_source("space = conv2d(filters: 2, size: 1)", (3, 4, 4))
    with pytest.raises(ValueError, match=r"expected input N x 3x4x4, got \(2, 3, 5, 5\)"):
        model(torch.randn(2, 3, 5, 5))


def test_a_traceback_through_forward_shows_the_darch_line():
    model = compile_source("space = concat [relu(),\n  conv2d(filters: 2, size: 1)]", (3, 4, 4))
    try:
        model(torch.zeros(1, 3, 4, 4, dtype=torch.int64))
    except RuntimeError as exc:
        frames = traceback.extract_tb(exc.__traceback__)
    else:
        pytest.fail("an int64 input should fail in conv2d")
    generated = [f for f in frames if f.filename.startswith("<darch forward")]
    assert generated and "t.darch:2" in generated[-1].line


def test_devices():
    with pytest.raises(DarchError, match="unknown device `tpu9`"):
        compile_architecture(Layer("relu", {}), (3,), device="tpu9")
    if torch.cuda.is_available():
        cpu = compile_source("space = conv2d(filters: 2, size: 3)", (3, 4, 4))
        gpu = copy.deepcopy(cpu).to("cuda")
        x = torch.randn(2, 3, 4, 4)
        close(gpu(x.cuda()).cpu(), cpu(x))
    else:
        with pytest.raises(DarchError, match="CUDA is not available"):
            compile_architecture(Layer("relu", {}), (3,), device="cuda")


# -- behaving like any nn.Module ----------------------------------------------------------

MIXED = """
space = concat [
    conv2d(filters: 6, size: 4, stride: 2),
    maybe_swap(relu(), batch_norm()),
    residual(concat [conv2d(filters: 8, size: 3), layer_norm()]),
    avg_pool2d(size: 3, stride: 2),
    dropout(keep: 0.5),
    affine(units: 5),
]
"""


def test_same_seed_same_weights():
    arch = darchlang.load_string(MIXED, "t.darch").space.sample(0)
    torch.manual_seed(3)
    a = compile_architecture(arch, (3, 9, 9)).state_dict()
    torch.manual_seed(3)
    b = compile_architecture(arch, (3, 9, 9)).state_dict()
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_pickle_and_deepcopy_round_trip():
    model = compile_source(MIXED, (3, 9, 9)).eval()
    x = torch.randn(2, 3, 9, 9)
    for other in (pickle.loads(pickle.dumps(model)), copy.deepcopy(model)):
        close(other(x), model(x))
        assert other.forward_source == model.forward_source


@pytest.mark.slow
def test_torch_compile_traces_the_generated_forward():
    model = compile_source(MIXED, (3, 9, 9)).eval()
    x = torch.randn(2, 3, 9, 9)
    compiled = torch.compile(model, backend="eager", fullgraph=True)
    close(compiled(x), model(x))


# -- summary ------------------------------------------------------------------------------


def test_summary_rows_and_totals():
    model = compile_source(MIXED, (3, 9, 9))
    summary = summarize(model)
    assert summary.total_params == sum(p.numel() for p in model.parameters())
    conv = summary.rows[0]
    assert (conv.kind, conv.where, conv.out_shape) == ("conv2d", "t.darch:3", (6, 5, 5))
    assert conv.macs == 6 * 5 * 5 * 3 * 16
    kinds = [r.kind for r in summary.rows]
    assert "residual" in kinds and "join: zero-pad channels 6->8" in kinds
    text = summary.render()
    assert "t.darch:3" in text and f"{summary.total_params:,}" in text
    assert json.loads(json.dumps(summary.to_json()))["total_macs"] == summary.total_macs


def test_summary_of_an_architecture_builds_on_meta_and_agrees():
    arch = darchlang.load_string(MIXED, "t.darch").space.sample(1)
    meta = summarize(arch, (3, 9, 9))
    real = summarize(compile_architecture(arch, (3, 9, 9)))
    assert meta.to_json() == real.to_json()


def test_summary_counts_projection_parameters_and_macs():
    model = residual_model("conv2d(filters: 6, size: 3, stride: 2)", (4, 8, 8), join="project")
    join = summarize(model).rows[-1]
    assert join.kind == "join: 1x1 projection" and join.params == 24 and join.macs == 24 * 16


# -- the example spaces: forward, backward, no NaN, every parameter gets a gradient -------


def forward_backward(arch) -> None:
    model = compile_architecture(arch, (3, 32, 32))
    x = torch.randn(2, 3, 32, 32)
    out = model(x)
    assert out.shape == (2, 10) and torch.isfinite(out).all()
    F.cross_entropy(out, torch.tensor([1, 7])).backward()
    for name, p in model.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all(), name


def test_simple_space_seeded_subset():
    space = darchlang.load_file(EXAMPLES / "cifar10_simple.darch").space
    rng = random.Random(7)
    for _ in range(4):
        forward_backward(space.sample(rng))


def complex_arch(space, rng: random.Random, deepest: bool):
    """A random architecture; `deepest` takes 32 repeats in both blocks and (to keep the
    test fast) the narrowest filters and smallest kernels."""

    def decide(choice):
        if deepest and choice.name.endswith("repeat_tied/times"):
            return len(choice.options) - 1
        if deepest and choice.name.endswith(("/filters", "/size")):
            return 0
        if not deepest and choice.name.endswith("repeat_tied/times"):
            return rng.randrange(3)  # 1, 2 or 4 copies
        return rng.randrange(len(choice.options))

    return space.walk(decide)


def test_complex_space_random_architectures():
    space = darchlang.load_file(EXAMPLES / "cifar10_complex.darch").space
    rng = random.Random(11)
    for _ in range(3):
        forward_backward(complex_arch(space, rng, deepest=False))


def test_complex_space_deepest_repeats():
    space = darchlang.load_file(EXAMPLES / "cifar10_complex.darch").space
    arch = complex_arch(space, random.Random(5), deepest=True)
    plan = plan_network(arch, (3, 32, 32))
    assert sum(1 for s in plan.layer_steps() if s.kind == "conv2d") == 2 + 32 + 32
    forward_backward(arch)
