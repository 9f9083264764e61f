"""Every built-in layer against hand-written torch: same output for the same weights, same
parameter count; TF "same" padding; initializer statistics on large layers."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from darchlang.arch.graph import Init, Layer, Seq
from darchlang.backends.torch.compiler import compile_architecture
from darchlang.environment import default_environment
from darchlang.layers.shapes import same_padding

torch.set_num_threads(1)


def one(kind: str, **attrs) -> Seq:
    return Seq((Layer(kind, attrs, f"net/0/{kind}"),))


def build(kind: str, shape, **attrs):
    return compile_architecture(one(kind, **attrs), shape)


def params(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def close(a: torch.Tensor, b: torch.Tensor) -> None:
    assert a.shape == b.shape
    torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-5)


# -- reference semantics of TensorFlow SAME, written out the long way ---------------------


def tf_pads(h: int, w: int, k: int, s: int) -> tuple[int, int, int, int]:
    """(left, right, top, bottom) from TF's formula: out = ceil(n / s)."""
    def axis(n: int) -> tuple[int, int]:
        out = math.ceil(n / s)
        total = max((out - 1) * s + k - n, 0)
        return total // 2, total - total // 2

    (top, bottom), (left, right) = axis(h), axis(w)
    return left, right, top, bottom


def ref_conv(x, conv: nn.Conv2d, k: int, s: int, padding: str) -> torch.Tensor:
    if padding == "same":
        x = F.pad(x, tf_pads(x.shape[2], x.shape[3], k, s))
    return F.conv2d(x, conv.weight, conv.bias, stride=s)


def ref_max_pool(x, k: int, s: int, padding: str) -> torch.Tensor:
    if padding == "same":
        x = F.pad(x, tf_pads(x.shape[2], x.shape[3], k, s), value=-math.inf)
    return F.max_pool2d(x, k, s)


def ref_avg_pool(x, k: int, s: int, padding: str) -> torch.Tensor:
    """TF averages over the real pixels of each window only."""
    pads = tf_pads(x.shape[2], x.shape[3], k, s) if padding == "same" else (0, 0, 0, 0)
    sums = F.avg_pool2d(F.pad(x, pads), k, s, divisor_override=1)
    counts = F.avg_pool2d(F.pad(torch.ones_like(x[:1, :1]), pads), k, s, divisor_override=1)
    return sums / counts


# -- each layer against its hand-written form ----------------------------------------------


def case_conv2d():
    model = build("conv2d", (3, 9, 9), filters=5, size=3, stride=2)
    conv = model.net_0_conv2d
    hand = nn.Conv2d(3, 5, 3, stride=2)
    hand.load_state_dict(conv.state_dict())
    return model, hand, lambda x: ref_conv(x, hand, 3, 2, "same"), (3, 9, 9)


def case_conv2d_valid():
    model = build("conv2d", (3, 9, 9), filters=4, size=4, padding="valid")
    hand = nn.Conv2d(3, 4, 4)
    hand.load_state_dict(model.net_0_conv2d.state_dict())
    return model, hand, hand, (3, 9, 9)


def case_affine():
    model = build("affine", (4, 3, 3), units=7)
    hand = nn.Linear(36, 7)
    hand.load_state_dict(model.net_0_affine.state_dict())
    return model, hand, lambda x: hand(x.flatten(1)), (4, 3, 3)


def case_max_pool2d():
    return build("max_pool2d", (3, 7, 7), size=3, stride=2), None, lambda x: ref_max_pool(x, 3, 2, "same"), (3, 7, 7)


def case_avg_pool2d():
    return build("avg_pool2d", (3, 7, 7), size=2, stride=2), None, lambda x: ref_avg_pool(x, 2, 2, "same"), (3, 7, 7)


def case_dropout():
    model = build("dropout", (6, 4, 4), keep=0.75)
    hand = nn.Dropout(p=0.25)

    def reference(x):
        return hand(x)

    return model, hand, reference, (6, 4, 4)


def _act(kind: str, fn):
    def case():
        return build(kind, (3, 5, 5)), None, fn, (3, 5, 5)

    return case


def case_flatten():
    return build("flatten", (3, 4, 5)), None, lambda x: x.reshape(x.shape[0], -1), (3, 4, 5)


def case_global_avg_pool():
    fn = lambda x: F.adaptive_avg_pool2d(x, 1).flatten(1)  # noqa: E731
    return build("global_avg_pool", (6, 5, 3)), None, fn, (6, 5, 3)


def case_batch_norm():
    model = build("batch_norm", (6, 5, 5))
    hand = nn.BatchNorm2d(6)
    with torch.no_grad():
        model.net_0_batch_norm.weight.uniform_(0.5, 2)
        model.net_0_batch_norm.bias.uniform_(-1, 1)
    hand.load_state_dict(model.net_0_batch_norm.state_dict())
    return model, hand, hand, (6, 5, 5)


def case_layer_norm():
    model = build("layer_norm", (6, 5, 5))
    norm = model.net_0_layer_norm
    with torch.no_grad():
        norm.weight.uniform_(0.5, 2)
        norm.bias.uniform_(-1, 1)

    def reference(x):
        y = F.layer_norm(x, x.shape[1:])  # over all but the batch dimension
        return y * norm.weight[:, None, None] + norm.bias[:, None, None]

    hand = nn.ParameterList([nn.Parameter(torch.ones(6)), nn.Parameter(torch.zeros(6))])
    return model, hand, reference, (6, 5, 5)


def case_conv2d_grouped_dilated():
    model = build("conv2d", (4, 9, 9), filters=6, size=3, dilation=2, groups=2, bias=False)
    hand = nn.Conv2d(4, 6, 3, dilation=2, groups=2, bias=False)
    hand.load_state_dict(model.net_0_conv2d.state_dict())

    def reference(x):  # TF "same" for the dilated extent 5: 2 on each side
        return F.conv2d(F.pad(x, (2, 2, 2, 2)), hand.weight, None, dilation=2, groups=2)

    return model, hand, reference, (4, 9, 9)


def case_depthwise_conv2d():
    model = build("depthwise_conv2d", (3, 8, 8), size=3, stride=2, multiplier=2)
    hand = nn.Conv2d(3, 6, 3, stride=2, groups=3)
    hand.load_state_dict(model.net_0_depthwise_conv2d.state_dict())
    def reference(x):
        return F.conv2d(F.pad(x, tf_pads(8, 8, 3, 2)), hand.weight, hand.bias, stride=2, groups=3)

    return model, hand, reference, (3, 8, 8)


def case_conv1d():
    model = build("conv1d", (9, 4), filters=5, size=3, stride=2)
    hand = nn.Conv1d(4, 5, 3, stride=2)
    hand.load_state_dict(model.net_0_conv1d.state_dict())

    def reference(x):  # tokens (B, N, D): convolve along N; "same" pads 1 before and after
        return F.conv1d(F.pad(x.transpose(1, 2), (1, 1)), hand.weight, hand.bias, stride=2).transpose(1, 2)

    return model, hand, reference, (9, 4)


def case_adaptive_avg_pool2d():
    fn = lambda x: F.adaptive_avg_pool2d(x, 3)  # noqa: E731
    return build("adaptive_avg_pool2d", (2, 7, 7), size=3), None, fn, (2, 7, 7)


def case_global_max_pool():
    fn = lambda x: F.adaptive_max_pool2d(x, 1).flatten(1)  # noqa: E731
    return build("global_max_pool", (6, 5, 3)), None, fn, (6, 5, 3)


def case_upsample():
    fn = nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False)
    return build("upsample", (2, 3, 4), scale=2, mode="bilinear"), None, fn, (2, 3, 4)


def case_softmax():
    return build("softmax", (4, 3, 3)), None, nn.Softmax2d(), (4, 3, 3)


def case_leaky_relu():
    return build("leaky_relu", (3, 5), slope=0.2), None, nn.LeakyReLU(0.2), (3, 5)


def _norm_case(kind: str, shape, hand: nn.Module, **attrs):
    def case():
        model = build(kind, shape, **attrs)
        norm = getattr(model, f"net_0_{kind}")
        with torch.no_grad():
            norm.weight.uniform_(0.5, 2)
            norm.bias.uniform_(-1, 1)
        hand.load_state_dict(norm.state_dict())
        return model, hand, hand, shape

    return case


def case_patch_embed():
    model = build("patch_embed", (3, 8, 8), size=4, dim=5)
    hand = nn.Conv2d(3, 5, 4, stride=4)
    hand.load_state_dict(model.net_0_patch_embed.state_dict())
    return model, hand, lambda x: hand(x).flatten(2).transpose(1, 2), (3, 8, 8)


def case_embedding():
    model = build("embedding", (6,), vocab=9, dim=4)
    hand = nn.Embedding(9, 4)
    hand.load_state_dict(model.net_0_embedding.state_dict())
    return model, hand, lambda x: hand(x.long()), (6,)


def case_position_embedding():
    model = build("position_embedding", (5, 4))
    hand = nn.ParameterList([nn.Parameter(model.net_0_position_embedding.weight.detach().clone())])
    return model, hand, lambda x: x + hand[0], (5, 4)


def case_class_token():
    model = build("class_token", (5, 4))
    hand = nn.ParameterList([nn.Parameter(model.net_0_class_token.weight.detach().clone())])
    return model, hand, lambda x: torch.cat([hand[0].expand(len(x), 1, 4), x], 1), (5, 4)


def case_multihead_attention():
    model = build("multihead_attention", (5, 8), heads=2)
    mine = model.net_0_multihead_attention
    hand = nn.MultiheadAttention(8, 2, batch_first=True)
    with torch.no_grad():
        hand.in_proj_weight.copy_(mine.qkv.weight)
        hand.in_proj_bias.copy_(mine.qkv.bias)
        hand.out_proj.weight.copy_(mine.proj.weight)
        hand.out_proj.bias.copy_(mine.proj.bias)
    return model, hand, lambda x: hand(x, x, x, need_weights=False)[0], (5, 8)


def case_token_mixing():
    model = build("token_mixing", (5, 4), hidden=6)
    hand = nn.Sequential(nn.Linear(5, 6), nn.GELU(), nn.Linear(6, 5))
    mine = model.net_0_token_mixing
    with torch.no_grad():
        for ours, theirs in ((mine.fc1, hand[0]), (mine.fc2, hand[2])):
            theirs.weight.copy_(ours.weight)
            theirs.bias.copy_(ours.bias)
    return model, hand, lambda x: hand(x.transpose(1, 2)).transpose(1, 2), (5, 4)


def case_token_pool():
    return build("token_pool", (5, 4), mode="class"), None, lambda x: x[:, 0], (5, 4)


def case_affine_tokens():
    model = build("affine", (5, 4), units=3)
    hand = nn.Linear(4, 3)
    hand.load_state_dict(model.net_0_affine.state_dict())
    return model, hand, hand, (5, 4)


def case_window_attention():
    """Unshifted windows without the position bias: nn.MultiheadAttention on each 2x2
    window of the 4x4 grid, the windows cut and put back by hand."""
    model = build("window_attention", (16, 8), heads=2, window=2, position_bias=False)
    mine = model.net_0_window_attention
    hand = nn.MultiheadAttention(8, 2, batch_first=True)
    with torch.no_grad():
        hand.in_proj_weight.copy_(mine.qkv.weight)
        hand.in_proj_bias.copy_(mine.qkv.bias)
        hand.out_proj.weight.copy_(mine.proj.weight)
        hand.out_proj.bias.copy_(mine.proj.bias)

    def reference(x):
        win = x.reshape(-1, 2, 2, 2, 2, 8).permute(0, 1, 3, 2, 4, 5).reshape(-1, 4, 8)
        out = hand(win, win, win, need_weights=False)[0]
        return out.reshape(-1, 2, 2, 2, 2, 8).permute(0, 1, 3, 2, 4, 5).reshape(-1, 16, 8)

    return model, hand, reference, (16, 8)


def case_patch_merge():
    model = build("patch_merge", (16, 3), dim=5)
    hand = nn.Sequential(nn.LayerNorm(12), nn.Linear(12, 5, bias=False))
    mine = model.net_0_patch_merge
    hand.load_state_dict({"0.weight": mine.norm.weight, "0.bias": mine.norm.bias,
                          "1.weight": mine.reduction.weight})

    def reference(x):  # Swin's order: (0, 0), (1, 0), (0, 1), (1, 1)
        g = x.reshape(-1, 4, 4, 3)
        parts = [g[:, 0::2, 0::2], g[:, 1::2, 0::2], g[:, 0::2, 1::2], g[:, 1::2, 1::2]]
        return hand(torch.cat(parts, -1).reshape(-1, 4, 12))

    return model, hand, reference, (16, 3)


def case_tokens_to_image():
    return (build("tokens_to_image", (6 * 6, 4)), None,
            lambda x: x.transpose(1, 2).reshape(-1, 4, 6, 6), (36, 4))


def case_resize():
    return (build("resize", (2, 8, 8), size=[5, 3]), None,
            lambda x: F.interpolate(x, size=(5, 3), mode="bilinear", align_corners=False), (2, 8, 8))


def case_channel_shuffle():
    return (build("channel_shuffle", (6, 2, 2), groups=2), None,
            lambda x: x[:, [0, 3, 1, 4, 2, 5]], (6, 2, 2))


def case_slice():
    return build("slice", (6, 2, 2), start=1, stop=4), None, lambda x: x[:, 1:4], (6, 2, 2)


def case_conv2d_transpose():
    """"valid" keeps torch's whole output: nn.ConvTranspose2d as it is."""
    model = build("conv2d_transpose", (3, 4, 4), filters=5, size=3, stride=2, padding="valid")
    hand = nn.ConvTranspose2d(3, 5, 3, stride=2)
    hand.load_state_dict(model.net_0_conv2d_transpose.state_dict())
    return model, hand, hand, (3, 4, 4)


def case_conv2d_transpose_same():
    """"same" doubles 4x4 to 8x8 with a 3x3 kernel: of torch's 9x9, TF keeps rows and
    columns 0 to 7 (3 - 2 = 1 cropped, after)."""
    model = build("conv2d_transpose", (3, 4, 4), filters=5, size=3, stride=2)
    hand = nn.ConvTranspose2d(3, 5, 3, stride=2)
    hand.load_state_dict(model.net_0_conv2d_transpose.state_dict())
    return model, hand, lambda x: hand(x)[:, :, :8, :8], (3, 4, 4)


def case_pixel_shuffle():
    return build("pixel_shuffle", (8, 2, 2), factor=2), None, nn.PixelShuffle(2), (8, 2, 2)


def _pool1d_case(kind: str, reference):
    """TF SAME over 7 tokens with a 3-wide window and stride 2: one position of padding
    on each side (the max pads with -inf; the average divides by the real positions)."""
    def case():
        def pooled(x):
            return reference(x.transpose(1, 2)).transpose(1, 2)

        return build(kind, (7, 4), size=3, stride=2), None, pooled, (7, 4)

    return case


CASES = {
    "conv2d": case_conv2d,
    "conv2d_transpose": case_conv2d_transpose,
    "conv2d_transpose same": case_conv2d_transpose_same,
    "pixel_shuffle": case_pixel_shuffle,
    "max_pool1d": _pool1d_case("max_pool1d", lambda x: F.max_pool1d(x, 3, 2, padding=1)),
    "avg_pool1d": _pool1d_case("avg_pool1d", lambda x: F.avg_pool1d(x, 3, 2, padding=1,
                                                                    count_include_pad=False)),
    "hardsigmoid": _act("hardsigmoid", nn.Hardsigmoid()),
    "conv2d valid": case_conv2d_valid,
    "max_pool2d": case_max_pool2d,
    "avg_pool2d": case_avg_pool2d,
    "affine": case_affine,
    "dropout": case_dropout,
    "relu": _act("relu", torch.relu),
    "gelu": _act("gelu", nn.GELU()),
    "tanh": _act("tanh", nn.Tanh()),
    "sigmoid": _act("sigmoid", nn.Sigmoid()),
    "identity": _act("identity", nn.Identity()),
    "zero": _act("zero", torch.zeros_like),
    "flatten": case_flatten,
    "global_avg_pool": case_global_avg_pool,
    "batch_norm": case_batch_norm,
    "layer_norm": case_layer_norm,
    "conv2d grouped dilated": case_conv2d_grouped_dilated,
    "depthwise_conv2d": case_depthwise_conv2d,
    "conv1d": case_conv1d,
    "adaptive_avg_pool2d": case_adaptive_avg_pool2d,
    "global_max_pool": case_global_max_pool,
    "upsample": case_upsample,
    "relu6": _act("relu6", nn.ReLU6()),
    "silu": _act("silu", nn.SiLU()),
    "hardswish": _act("hardswish", nn.Hardswish()),
    "softmax": case_softmax,
    "leaky_relu": case_leaky_relu,
    "group_norm": _norm_case("group_norm", (6, 4, 4), nn.GroupNorm(3, 6), groups=3),
    "instance_norm": _norm_case("instance_norm", (3, 4, 4), nn.InstanceNorm2d(3, affine=True)),
    "patch_embed": case_patch_embed,
    "embedding": case_embedding,
    "position_embedding": case_position_embedding,
    "class_token": case_class_token,
    "multihead_attention": case_multihead_attention,
    "token_mixing": case_token_mixing,
    "token_pool": case_token_pool,
    "affine tokens": case_affine_tokens,
    "window_attention": case_window_attention,
    "patch_merge": case_patch_merge,
    "tokens_to_image": case_tokens_to_image,
    "resize": case_resize,
    "channel_shuffle": case_channel_shuffle,
    "slice": case_slice,
}


def test_every_builtin_layer_has_a_case():
    covered = {name.split()[0] for name in CASES}
    assert covered == set(default_environment().layers)


@pytest.mark.parametrize("name", sorted(CASES))
def test_layer_matches_hand_written(name):
    model, hand, reference, shape = CASES[name]()
    x = torch.randint(0, 9, (3, *shape)) if name == "embedding" else torch.randn(3, *shape)
    torch.manual_seed(1)
    got = model(x)
    torch.manual_seed(1)
    close(got, reference(x))
    assert params(model) == (params(hand) if hand is not None else 0)
    assert tuple(got.shape[1:]) == model.output_shape


@pytest.mark.parametrize("name", sorted(CASES))
def test_parameter_formula_counts_what_torch_builds(name):
    model = CASES[name]()[0]
    [step] = model.plan.layer_steps()
    formula = step.ldef.param_count
    counted = formula(step.attrs, step.in_shape, step.out_shape) if formula else 0
    assert counted == params(model)


def test_dropout_keep_becomes_p_and_is_off_in_eval():
    model = build("dropout", (1000,), keep=0.9)
    assert "p=0.1" in model.forward_source
    x = torch.ones(4, 1000)
    kept = (model(x) != 0).float().mean().item()
    assert 0.85 < kept < 0.95
    model.eval()
    close(model(x), x)


@pytest.mark.parametrize(
    "shape, expected",
    [((7,), nn.BatchNorm1d), ((7, 4, 4), nn.BatchNorm2d), ((7, 3, 4, 4), nn.BatchNorm3d)],
)
def test_batch_norm_picks_kind_by_rank(shape, expected):
    model = build("batch_norm", shape)
    assert type(model.net_0_batch_norm) is expected
    x = torch.randn(5, *shape)
    hand = expected(7)
    close(model(x), hand(x))


def test_batch_norm_on_tokens_normalizes_each_feature():
    model = build("batch_norm", (9, 7))  # 9 tokens of 7 features
    assert type(model.net_0_batch_norm) is nn.BatchNorm1d
    x = torch.randn(5, 9, 7)
    hand = nn.BatchNorm1d(7)
    close(model(x), hand(x.transpose(1, 2)).transpose(1, 2))


def test_layer_norm_on_vectors_is_torch_layer_norm():
    model = build("layer_norm", (12,))
    assert type(model.net_0_layer_norm) is nn.LayerNorm
    x = torch.randn(4, 12)
    close(model(x), F.layer_norm(x, (12,)))


# -- "same" padding: TF's formula for kernels 1..7 and strides 1..3 -------------------------


@pytest.mark.parametrize("k", range(1, 8))
@pytest.mark.parametrize("s", [1, 2, 3])
def test_same_padding_conv_and_pools_match_tensorflow(k, s):
    torch.manual_seed(k * 10 + s)
    for h, w in [(8, 8), (9, 7), (5, 6)]:
        x = torch.randn(2, 2, h, w)
        out_hw = (math.ceil(h / s), math.ceil(w / s))
        conv = build("conv2d", (2, h, w), filters=3, size=k, stride=s)
        got = conv(x)
        assert tuple(got.shape[2:]) == out_hw == conv.output_shape[1:]
        close(got, ref_conv(x, conv.net_0_conv2d, k, s, "same"))
        for kind, ref in (("max_pool2d", ref_max_pool), ("avg_pool2d", ref_avg_pool)):
            pool = build(kind, (2, h, w), size=k, stride=s)
            got = pool(x)
            assert tuple(got.shape[2:]) == out_hw, (kind, k, s, h, w)
            close(got, ref(x, k, s, "same"))


@pytest.mark.parametrize("k, s", [(1, 1), (3, 1), (3, 2), (4, 3), (2, 2)])
def test_valid_padding_matches_floor_formula(k, s):
    x = torch.randn(2, 2, 9, 8)
    for kind, ref in (("max_pool2d", ref_max_pool), ("avg_pool2d", ref_avg_pool)):
        got = build(kind, (2, 9, 8), size=k, stride=s, padding="valid")(x)
        assert tuple(got.shape[2:]) == ((9 - k) // s + 1, (8 - k) // s + 1)
        close(got, ref(x, k, s, "valid"))


def test_symmetric_same_padding_uses_the_convs_own_padding():
    """Odd kernel, stride 1: no F.pad, so the same kernel runs as in hand-written code."""
    model = build("conv2d", (3, 8, 8), filters=4, size=5)
    assert model.net_0_conv2d.padding == (2, 2)
    assert "F.pad" not in model.forward_source
    strided = build("conv2d", (3, 8, 8), filters=4, size=3, stride=2)
    assert "F.pad(x, (0, 1, 0, 1))" in strided.forward_source


def test_same_padding_helper_is_tf_formula():
    for n in range(1, 20):
        for k in range(1, 8):
            for s in range(1, 4):
                out, before, after = same_padding(n, k, s)
                assert out == math.ceil(n / s)
                assert before + after == max((out - 1) * s + k - n, 0)
                assert after - before in (0, 1)


# -- initializers -------------------------------------------------------------------------


@pytest.mark.parametrize("gain", [1.0, 0.1])
def test_kaiming_is_normal_with_std_gain_sqrt_2_over_fan_in(gain):
    torch.manual_seed(0)
    model = build("conv2d", (64, 4, 4), filters=256, size=3, init=Init("kaiming", gain))
    w = model.net_0_conv2d.weight.detach()
    fan_in = 64 * 9
    assert abs(w.mean().item()) < 0.02 * gain * math.sqrt(2 / fan_in)
    assert w.std().item() == pytest.approx(gain * math.sqrt(2 / fan_in), rel=0.01)
    assert torch.count_nonzero(model.net_0_conv2d.bias) == 0
    # a normal has ~0.27% beyond 3 std; a uniform has none
    beyond = (w.abs() > 3 * gain * math.sqrt(2 / fan_in)).float().mean().item()
    assert 0.001 < beyond < 0.005


def test_xavier_is_uniform_with_bound_gain_sqrt_6_over_fans():
    torch.manual_seed(0)
    model = build("affine", (1024,), units=512, init=Init("xavier", 0.5))
    w = model.net_0_affine.weight.detach()
    bound = 0.5 * math.sqrt(6 / (1024 + 512))
    assert w.abs().max().item() <= bound
    assert w.abs().max().item() > 0.999 * bound
    assert w.var().item() == pytest.approx(bound**2 / 3, rel=0.01)
    assert torch.count_nonzero(model.net_0_affine.bias) == 0


def test_xavier_on_conv_counts_receptive_field_in_both_fans():
    torch.manual_seed(0)
    model = build("conv2d", (32, 4, 4), filters=64, size=5, init=Init("xavier", 1.0))
    bound = math.sqrt(6 / (32 * 25 + 64 * 25))
    w = model.net_0_conv2d.weight.detach()
    assert bound * 0.999 < w.abs().max().item() <= bound


def test_invsqrt_gaussian_is_normal_with_std_gain_over_sqrt_fan_in():
    torch.manual_seed(0)
    model = build("affine", (2048,), units=256, init=Init("invsqrt_gaussian", math.sqrt(2)))
    w = model.net_0_affine.weight.detach()
    assert w.std().item() == pytest.approx(math.sqrt(2) * math.sqrt(1 / 2048), rel=0.01)
    assert abs(w.mean().item()) < 0.001
    assert torch.count_nonzero(model.net_0_affine.bias) == 0
