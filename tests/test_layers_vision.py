"""The layers that make Swin, PiT, ShuffleNetV2 and a searched resolution sayable
(review.md findings 11, 14 and 16): window_attention, patch_merge, tokens_to_image,
resize, channel_shuffle and slice. Each computes what its paper does (checked against a
plain re-implementation here), counts its parameters as torch does, runs forward and
backward, exports to the same standalone model and to ONNX, and a bad input is a
located error."""

from __future__ import annotations

import itertools

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from test_layers_modern import build, example
from test_layers_modern import test_bad_layers_are_located_errors as located_errors

from darchlang.backends.torch.export import emit_python, export_onnx
from darchlang.backends.torch.plan import parse_shape

torch.set_num_threads(1)

CASES = {
    "window_attention": ("window_attention(heads: 2, window: 2)", "16x8"),
    "window_attention shifted": ("window_attention(heads: 2, window: 2, shift: 1)", "16x8"),
    "window_attention whole grid": ("window_attention(heads: 1, window: 4, shift: 2)", "16x4"),
    "window_attention no bias": ("window_attention(heads: 4, window: 3, shift: 1, position_bias: false)",
                                 "36x8"),
    "patch_merge": ("patch_merge(dim: 6)", "16x8"),
    "patch_merge no norm": ("patch_merge(dim: 5, norm: false)", "36x3"),
    "tokens_to_image": ("concat [tokens_to_image(), conv2d(filters: 3, size: 3)]", "9x4"),
    "resize": ("concat [resize(size: [5, 7]), conv2d(filters: 2, size: 1)]", "3x8x8"),
    "resize nearest up": ('concat [resize(size: 11, mode: "nearest"), conv2d(filters: 2, size: 1)]',
                          "3x4x4"),
    "channel_shuffle": ("concat [conv2d(filters: 6, size: 1), channel_shuffle(groups: 3)]", "2x3x3"),
    "slice image": ("concat [conv2d(filters: 6, size: 1), slice(2, 5)]", "2x3x3"),
    "slice tokens": ("concat [affine(units: 6), slice(start: 0, stop: 4)]", "5x3"),
    "slice vector": ("concat [affine(units: 6), slice(5, 6)]", "4"),
    # `cat` of tokens joins their features, as its shape rule says (it joined the tokens)
    "cat tokens": ("concat [graph(x) {\n  a = affine(units: 2)(x)\n  return cat(x, a)\n}, "
                   "affine(units: 3)]", "5x3"),
}


def params_by_formula(model) -> int:
    return sum(s.ldef.param_count(s.attrs, s.in_shape, s.out_shape)
               for s in model.plan.layer_steps() if s.ldef.param_count)


@pytest.mark.parametrize("name", sorted(CASES))
def test_forward_backward_and_parameter_count(name):
    space, text = CASES[name]
    _, model = build(space, text)
    x = example(model.input_shape, space)
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
    assert standalone.state_dict().keys() == model.state_dict().keys()
    for key, value in model.state_dict().items():
        torch.testing.assert_close(standalone.state_dict()[key], value)
    x = example(model.input_shape, space).detach()
    torch.testing.assert_close(standalone.eval()(x), model.eval()(x))


@pytest.mark.slow
def test_onnx_round_trip(tmp_path):
    onnxruntime = pytest.importorskip("onnxruntime")
    space = ("concat [resize(size: 16), patch_embed(size: 2, dim: 8), "
             "window_attention(heads: 2, window: 4), window_attention(heads: 2, window: 4, shift: 2), "
             "patch_merge(dim: 12), tokens_to_image(), channel_shuffle(groups: 3), "
             "graph(x) { return cat(slice(0, 4)(x), relu()(slice(4, 12)(x))) }, "
             "global_avg_pool(), affine(units: 3)]")
    _, model = build(space, "3x12x12")
    model.eval()
    path = export_onnx(model, None, tmp_path / "m.onnx")
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    x = torch.randn(3, 3, 12, 12)
    (got,) = session.run(None, {"input": x.numpy()})
    torch.testing.assert_close(torch.from_numpy(got), model(x).detach(), rtol=1e-4, atol=1e-5)


def test_the_layers_run_under_mixed_precision():
    """The evaluator trains under torch.autocast (bf16): the float mask and bias of
    window_attention must meet bf16 queries."""
    _, model = build("concat [window_attention(heads: 2, window: 2, shift: 1), patch_merge(dim: 4), "
                     "tokens_to_image(), resize(size: 3), channel_shuffle(groups: 2), slice(0, 2)]",
                     "16x8")
    with torch.autocast("cpu", dtype=torch.bfloat16):
        y = model(torch.randn(2, 16, 8))
    assert y.dtype == torch.bfloat16 and torch.isfinite(y.float()).all()
    y.float().sum().backward()
    assert all(p.grad is not None for p in model.parameters())


# -- each layer computes what its paper does ---------------------------------------------------


def naive_window_attention(module, x: torch.Tensor) -> torch.Tensor:
    """Swin's (shifted) window attention token by token: token t attends to the tokens of
    its window in the grid rolled by the shift, and, when shifted, only to those that
    lay in the same of the 3 x 3 regions Swin's mask cuts the rolled grid into."""
    b, n, d = x.shape
    side, w, s, heads = module.side, module.window, module.shift, module.heads
    q, k, v = module.qkv(x).view(b, n, 3, heads, d // heads).unbind(2)
    pos = [((r - s) % side, (c - s) % side) for r, c in itertools.product(range(side), repeat=2)]

    def region(r: int) -> int:  # in the rolled grid's rows (columns alike)
        return 0 if r < side - w else 1 if r < side - s else 2

    out = torch.zeros(b, n, heads, d // heads)
    for t, (r, c) in enumerate(pos):
        peers = [u for u, (r2, c2) in enumerate(pos)
                 if (r2 // w, c2 // w) == (r // w, c // w)
                 and (not s or (region(r2), region(c2)) == (region(r), region(c)))]
        scores = torch.einsum("bhe,buhe->bhu", q[:, t], k[:, peers]) / (d // heads) ** 0.5
        if module.table is not None:
            offsets = [(r - pos[u][0] + w - 1) * (2 * w - 1) + (c - pos[u][1] + w - 1) for u in peers]
            scores = scores + module.table[offsets].T
        out[:, t] = torch.einsum("bhu,buhe->bhe", scores.softmax(-1), v[:, peers])
    return module.proj(out.flatten(2))


@pytest.mark.parametrize(("window", "shift", "side"), [(2, 0, 4), (2, 1, 4), (3, 1, 6), (4, 2, 8)])
def test_window_attention_is_swins(window, shift, side):
    _, model = build(f"window_attention(heads: 2, window: {window}, shift: {shift})", f"{side * side}x4")
    (module,) = [m for m in model.modules() if type(m).__name__ == "WindowAttention"]
    with torch.no_grad():
        module.table.normal_()  # a bias large enough to matter
        x = torch.randn(2, side * side, 4)
        torch.testing.assert_close(model(x), naive_window_attention(module, x), rtol=1e-4, atol=1e-5)


def test_window_attention_without_shift_attends_within_windows_only():
    _, model = build("window_attention(heads: 1, window: 2)", "16x2")
    x = torch.randn(1, 16, 2, requires_grad=True)
    y = model(x)
    grad = torch.autograd.grad(y[0, 0].sum(), x)[0][0].abs().sum(1)  # its window: 0, 1, 4, 5
    assert set(torch.nonzero(grad).flatten().tolist()) == {0, 1, 4, 5}


def test_patch_merge_concatenates_each_2x2_group_in_swins_order():
    _, model = build("patch_merge(dim: 3, norm: false)", "16x2")
    (module,) = [m for m in model.modules() if type(m).__name__ == "PatchMerge"]
    x = torch.randn(2, 16, 2)
    grid = x.view(2, 4, 4, 2)
    groups = torch.cat([grid[:, 0::2, 0::2], grid[:, 1::2, 0::2], grid[:, 0::2, 1::2],
                        grid[:, 1::2, 1::2]], -1).view(2, 4, 8)
    torch.testing.assert_close(model(x), module.reduction(groups))


def test_tokens_to_image_inverts_patch_embed_of_size_one():
    _, model = build("concat [patch_embed(size: 1, dim: 5), tokens_to_image()]", "3x4x4")
    (embed,) = [m for m in model.modules() if isinstance(m, torch.nn.Conv2d)]
    x = torch.randn(2, 3, 4, 4)
    torch.testing.assert_close(model(x), embed(x))


def test_resize_is_bilinear_interpolation_to_the_size():
    _, model = build("resize(size: [5, 7])", "2x8x8")
    x = torch.randn(2, 2, 8, 8)
    torch.testing.assert_close(model(x), F.interpolate(x, size=(5, 7), mode="bilinear",
                                                       align_corners=False))
    _, same = build("resize(size: 8)", "2x8x8")
    assert torch.equal(same(x), x)


def test_channel_shuffle_interleaves_the_groups():
    _, model = build("channel_shuffle(groups: 3)", "6x1x1")
    x = torch.arange(6.0).view(1, 6, 1, 1)
    assert model(x).flatten().tolist() == [0, 2, 4, 1, 3, 5]


def test_slices_undo_a_cat():
    _, model = build("graph(x) { return cat(slice(0, 2)(x), slice(2, 5)(x)) }", "5x3x3")
    x = torch.randn(2, 5, 3, 3)
    assert torch.equal(model(x), x)


# -- bad input: FILE:LINE:COL errors from `check --shapes` and `compile` -----------------------

ERRORS = [
    ("space = window_attention(heads: 2, window: 2)", "15x8",
     "bad.darch:1:9: error: `window_attention` cannot take a sequence of 15 tokens of 8: its tokens "
     "must form a square grid, and 15 is not a square (a class_token adds one)"),
    ("space = window_attention(heads: 2, window: 3)", "16x8",
     "bad.darch:1:9: error: `window_attention` cannot take a sequence of 16 tokens of 8: its 3x3 "
     "windows do not tile the 4x4 grid of tokens"),
    ("space = window_attention(heads: 2, window: 2, shift: 2)", "16x8",
     "its shift 2 must be less than the window 2"),
    ("space = window_attention(heads: 3, window: 2)", "16x8",
     "its 3 heads do not divide the token width 8"),
    ("space = window_attention(heads: 2, window: 2)", "3x8x8",
     "bad.darch:1:9: error: `window_attention` needs a sequence of tokens; this is a 3x8x8 input"),
    ("space = patch_merge(dim: 4)", "9x8",
     "`patch_merge` cannot take a sequence of 9 tokens of 8: its 2x2 groups do not tile the 3x3 grid"),
    ("space = tokens_to_image()", "3x8x8",
     "bad.darch:1:9: error: `tokens_to_image` needs a sequence of tokens; this is a 3x8x8 input"),
    ("space = resize(size: 4)", "16x8",
     "bad.darch:1:9: error: `resize` needs an image; this is a sequence of 16 tokens of 8"),
    ("space = channel_shuffle(groups: 4)", "6x2x2",
     "`channel_shuffle` cannot take a 6x2x2 input: its 4 groups do not divide the 6 channels"),
    ("space = slice(2, 9)", "8x2x2",
     "bad.darch:1:9: error: `slice` cannot take a 8x2x2 input: it stops at 9, past the 8 channels"),
    ("space = slice(3, 3)", "8x2x2", "its stop 3 must be greater than its start 3"),
]


@pytest.mark.slow
@pytest.mark.parametrize(("source", "shape", "first"), ERRORS)
def test_bad_input_is_a_located_error(source, shape, first, tmp_path):
    located_errors(source, shape, first, tmp_path)


def test_a_layout_error_after_tokens_names_the_layer_that_made_them():
    """review.md finding 11: the help about reading --input is for an input of two sizes;
    when a layer made the tokens, the help names it and `tokens_to_image`."""
    import darchlang
    from darchlang import DarchError
    from darchlang.backends.torch.plan import plan_network

    arch = darchlang.load_string("space = concat [\n    patch_embed(size: 2, dim: 32),\n"
                                 "    max_pool2d(),\n]\n", "swin_try.darch").space.sample(0)
    with pytest.raises(DarchError) as info:
        plan_network(arch, (1, 8, 8))
    assert info.value.help == ("the tokens come from `patch_embed` at swin_try.darch:2:5; "
                               "`tokens_to_image()` turns a square grid of tokens back into an image")
    arch = darchlang.load_string("space = max_pool2d()\n").space.sample(0)
    with pytest.raises(DarchError) as info:
        plan_network(arch, (16, 32))
    assert "--input 3x32x32" in info.value.help



# -- properties --------------------------------------------------------------------------------


@st.composite
def cuts(draw) -> tuple[tuple[int, ...], list[int]]:
    """A shape of each layout with c channels (features), and the bounds 0 < ... < c of
    up to four consecutive slices."""
    c = draw(st.integers(1, 12))
    shape = draw(st.sampled_from([(c,), (3, c), (c, 2, 2)]))
    inner = draw(st.lists(st.integers(1, c - 1), max_size=3, unique=True)) if c > 1 else []
    return shape, [0, *sorted(inner), c]


@settings(max_examples=25, deadline=None)
@given(cuts())
def test_consecutive_slices_have_torchs_shapes_and_cat_rejoins_them(case):
    shape, bounds = case
    pieces = list(zip(bounds, bounds[1:], strict=False))
    lines = "".join(f"  s{i} = slice({a}, {b})(x)\n" for i, (a, b) in enumerate(pieces))
    joined = ", ".join(f"s{i}" for i in range(len(pieces)))
    space = (f"graph(x) {{\n{lines}  return cat({joined})\n}}" if len(pieces) > 1
             else f"slice(0, {bounds[1]})")  # `cat` joins two values or more
    _, model = build(space, "x".join(map(str, shape)))
    x = torch.randn(2, *shape)
    assert torch.equal(model(x), x)
    axis = 1 if len(shape) == 3 else len(shape)
    for step in model.plan.layer_steps():
        a, b = step.attrs["start"], step.attrs["stop"]
        assert step.out_shape == tuple(x.narrow(axis, a, b - a).shape[1:])
