"""The built-in layer vocabulary: signatures, docs, shape rules and costs.

Each entry is added through the public `Environment.add_layer`, exactly as a plugin's
layers are. Nothing here knows a backend: how each layer becomes torch code is in
`darchlang.backends.torch.lowering`, keyed by the layer's name. Rules and formulas are
module-level functions (not closures), so layer definitions pickle by reference.

Parameter counts are trainable weights (normalization statistics are buffers, not
parameters); multiply-adds count the weighted layers (convolutions, affine maps,
attention), and normalizations, pools and activations count 0, the usual convention.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from darchlang.arch.graph import Init
from darchlang.layers.defs import (
    REQUIRED,
    Bool,
    Enum,
    Float,
    InitType,
    Int,
    IntPair,
    LayerDef,
    Param,
)
from darchlang.layers.shapes import (
    Attrs,
    Shape,
    along,
    channel_axis,
    features,
    layout,
    need,
    span_of,
    window,
    window_axis,
)

if TYPE_CHECKING:
    from darchlang.environment import Environment

POSITIVE = Int(min=1)
POSITIVE_OR_PAIR = IntPair()
PADDING = Enum(("same", "valid"))
BOOL = Bool()


# -- rules and formulas ---------------------------------------------------------------------


def same_shape(attrs: Attrs, shape: Shape) -> Shape:
    return shape


def _groups(attrs: Attrs, cin: int, cout: int) -> None:
    g = attrs["groups"]
    if cin % g:
        raise ValueError(f"its {g} groups do not divide the {cin} input channels")
    if cout % g:
        raise ValueError(f"its {g} groups do not divide its {cout} filters")


def conv2d_shape(attrs: Attrs, shape: Shape) -> Shape:
    c, _, _ = need(shape, "image")
    _groups(attrs, c, attrs["filters"])
    return (attrs["filters"], *window(attrs, shape))


def _taps(attrs: Attrs, shape: Shape) -> int:
    """Taps of a kernel: its length over tokens, height x width over an image."""
    if len(shape) == 2:
        return attrs["size"]
    return along(attrs, "size", 0) * along(attrs, "size", 1)


def conv_params(attrs: Attrs, shape: Shape, out: Shape) -> int:
    """Weights of a (grouped) convolution over `shape`'s channels, plus its biases."""
    cin = shape[-1] if len(shape) == 2 else shape[0]
    cout = out[-1] if len(out) == 2 else out[0]
    groups = attrs.get("groups", cin if "multiplier" in attrs else 1)
    return cin // groups * cout * _taps(attrs, shape) + (cout if attrs["bias"] else 0)


def conv_macs(attrs: Attrs, shape: Shape, out: Shape) -> int:
    cin = shape[-1] if len(shape) == 2 else shape[0]
    groups = attrs.get("groups", cin if "multiplier" in attrs else 1)
    return features(out) * cin // groups * _taps(attrs, shape)


def depthwise_shape(attrs: Attrs, shape: Shape) -> Shape:
    c, _, _ = need(shape, "image")
    return (c * attrs["multiplier"], *window(attrs, shape))


def conv1d_shape(attrs: Attrs, shape: Shape) -> Shape:
    n, d = need(shape, "tokens")
    _groups(attrs, d, attrs["filters"])
    return (window_axis(n, attrs), attrs["filters"])


def conv2d_transpose_axis(n: int, attrs: Attrs, axis: int) -> int:
    """Output size along one axis of a transposed convolution: n * stride for "same"
    (the size a strided "same" conv2d takes back to n), (n - 1) * stride + the
    kernel's extent for "valid" (every tap of every input position kept)."""
    s = along(attrs, "stride", axis)
    return n * s if attrs["padding"] == "same" else (n - 1) * s + span_of(attrs, axis)


def conv2d_transpose_shape(attrs: Attrs, shape: Shape) -> Shape:
    c, h, w = need(shape, "image")
    _groups(attrs, c, attrs["filters"])
    return (attrs["filters"], conv2d_transpose_axis(h, attrs, 0), conv2d_transpose_axis(w, attrs, 1))


def conv2d_transpose_macs(attrs: Attrs, shape: Shape, out: Shape) -> int:
    """Every input value meets a kernel of cout / groups x taps weights (taps that land
    in the cropped border are computed too, as torch computes them)."""
    return features(shape) * out[0] // attrs["groups"] * _taps(attrs, shape)


def pixel_shuffle_shape(attrs: Attrs, shape: Shape) -> Shape:
    c, h, w = need(shape, "image")
    r = attrs["factor"]
    if c % (r * r):
        raise ValueError(f"its factor {r} needs channels in multiples of {r * r}, not {c}")
    return (c // (r * r), h * r, w * r)


def pool_shape(attrs: Attrs, shape: Shape) -> Shape:
    return (shape[0], *window(attrs, shape))


def pool1d_shape(attrs: Attrs, shape: Shape) -> Shape:
    n, d = need(shape, "tokens")
    return (window_axis(n, attrs), d)


def adaptive_pool_shape(attrs: Attrs, shape: Shape) -> Shape:
    return (need(shape, "image")[0], attrs["size"], attrs["size"])


def upsample_shape(attrs: Attrs, shape: Shape) -> Shape:
    c, h, w = need(shape, "image")
    return (c, h * attrs["scale"], w * attrs["scale"])


def affine_shape(attrs: Attrs, shape: Shape) -> Shape:
    if layout(shape) == "tokens":
        return (shape[0], attrs["units"])
    return (attrs["units"],)


def _affine_in(shape: Shape) -> int:
    """An affine map reads a token's features, or all of a vector or an image."""
    return shape[1] if layout(shape) == "tokens" else features(shape)


def affine_params(attrs: Attrs, shape: Shape, out: Shape) -> int:
    return (_affine_in(shape) + 1) * attrs["units"]


def affine_macs(attrs: Attrs, shape: Shape, out: Shape) -> int:
    tokens = shape[0] if layout(shape) == "tokens" else 1
    return tokens * _affine_in(shape) * attrs["units"]


def flatten_shape(attrs: Attrs, shape: Shape) -> Shape:
    return (features(shape),)


def global_pool_shape(attrs: Attrs, shape: Shape) -> Shape:
    return (need(shape, "image")[0],)


def batch_norm_shape(attrs: Attrs, shape: Shape) -> Shape:
    return need(shape, "vector", "tokens", "image", "volume")


def norm_params(attrs: Attrs, shape: Shape, out: Shape) -> int:
    """A scale and a shift per channel (per feature of a vector or of a token)."""
    return 2 * (shape[-1] if len(shape) <= 2 else shape[0])


def layer_norm_shape(attrs: Attrs, shape: Shape) -> Shape:
    return need(shape, "vector", "tokens", "image")


def group_norm_shape(attrs: Attrs, shape: Shape) -> Shape:
    c = need(shape, "image", "tokens")[-1 if len(shape) == 2 else 0]
    if c % attrs["groups"]:
        raise ValueError(f"its {attrs['groups']} groups do not divide the {c} channels")
    return shape


def image_shape(attrs: Attrs, shape: Shape) -> Shape:
    return need(shape, "image")


def softmax_shape(attrs: Attrs, shape: Shape) -> Shape:
    return need(shape, "vector", "tokens", "image")


def patch_embed_shape(attrs: Attrs, shape: Shape) -> Shape:
    _, h, w = need(shape, "image")
    p = attrs["size"]
    if h % p or w % p:
        raise ValueError(f"its {p}x{p} patches do not tile the {h}x{w} image")
    return ((h // p) * (w // p), attrs["dim"])


def patch_embed_params(attrs: Attrs, shape: Shape, out: Shape) -> int:
    return (shape[0] * attrs["size"] ** 2 + 1) * attrs["dim"]


def patch_embed_macs(attrs: Attrs, shape: Shape, out: Shape) -> int:
    return out[0] * attrs["dim"] * shape[0] * attrs["size"] ** 2


def embedding_shape(attrs: Attrs, shape: Shape) -> Shape:
    (n,) = need(shape, "vector")
    return (n, attrs["dim"])


def embedding_params(attrs: Attrs, shape: Shape, out: Shape) -> int:
    return attrs["vocab"] * attrs["dim"]


def tokens_shape(attrs: Attrs, shape: Shape) -> Shape:
    return need(shape, "tokens")


def position_params(attrs: Attrs, shape: Shape, out: Shape) -> int:
    return shape[0] * shape[1]


def class_token_shape(attrs: Attrs, shape: Shape) -> Shape:
    n, d = need(shape, "tokens")
    return (n + 1, d)


def class_token_params(attrs: Attrs, shape: Shape, out: Shape) -> int:
    return shape[1]


def attention_width(attrs: Attrs, shape: Shape) -> int:
    """The width of queries, keys and values: heads x head_dim (head_dim 0: d / heads)."""
    heads, d = attrs["heads"], shape[1]
    if attrs["head_dim"]:
        return heads * attrs["head_dim"]
    if d % heads:
        raise ValueError(f"its {heads} heads do not divide the token width {d}")
    return d


def attention_shape(attrs: Attrs, shape: Shape) -> Shape:
    need(shape, "tokens")
    attention_width(attrs, shape)
    return shape


def attention_params(attrs: Attrs, shape: Shape, out: Shape) -> int:
    d, inner = shape[1], attention_width(attrs, shape)
    return 3 * inner * d + (3 * inner if attrs["bias"] else 0) + inner * d + d


def attention_macs(attrs: Attrs, shape: Shape, out: Shape) -> int:
    n, d = shape
    inner = attention_width(attrs, shape)
    return n * d * 3 * inner + 2 * n * n * inner + n * inner * d


def token_mixing_shape(attrs: Attrs, shape: Shape) -> Shape:
    """MLP-Mixer's token-mixing MLP as one layer rather than a `transpose` layer: the
    sequence stays (N, D) on both sides, so the planner never sees a (D, N) "sequence of D
    tokens" that `position_embedding`, `class_token` or `token_pool` would misread, and the
    token count comes from the shape instead of being repeated in the source."""
    return need(shape, "tokens")


def token_mixing_params(attrs: Attrs, shape: Shape, out: Shape) -> int:
    n, h = shape[0], attrs["hidden"]
    return (n + 1) * h + (h + 1) * n


def token_mixing_macs(attrs: Attrs, shape: Shape, out: Shape) -> int:
    n, d = shape
    return 2 * n * attrs["hidden"] * d


def token_pool_shape(attrs: Attrs, shape: Shape) -> Shape:
    return (need(shape, "tokens")[1],)


# -- windows over a grid of tokens, and channel steps (Swin, PiT, ShuffleNetV2) --------------


def grid_side(shape: Shape, kind: str = "tokens") -> int:
    """The side H of the square H x H grid that N tokens in row-major order form (as
    `patch_embed` lays out a square image); an error when N is not a square."""
    n, _ = need(shape, "tokens")
    side = math.isqrt(n)
    if side * side != n:
        raise ValueError(f"its {kind} must form a square grid, and {n} is not a square "
                         "(a class_token adds one)")
    return side


def window_attention_shape(attrs: Attrs, shape: Shape) -> Shape:
    side, (_, d) = grid_side(shape), shape
    w, s = attrs["window"], attrs["shift"]
    if side % w:
        raise ValueError(f"its {w}x{w} windows do not tile the {side}x{side} grid of tokens")
    if s >= w:
        raise ValueError(f"its shift {s} must be less than the window {w}")
    if d % attrs["heads"]:
        raise ValueError(f"its {attrs['heads']} heads do not divide the token width {d}")
    return shape


def window_attention_params(attrs: Attrs, shape: Shape, out: Shape) -> int:
    """qkv and output maps with biases, and Swin's relative position bias: a learned
    value per head for each of the (2w - 1)^2 offsets between two tokens of a window."""
    d, w = shape[1], attrs["window"]
    table = (2 * w - 1) ** 2 * attrs["heads"] if attrs["position_bias"] else 0
    return 4 * d * d + 4 * d + table


def window_attention_macs(attrs: Attrs, shape: Shape, out: Shape) -> int:
    """The maps, and each token's scores and weighted sum over the w x w tokens of its window."""
    n, d = shape
    return 4 * n * d * d + 2 * n * attrs["window"] ** 2 * d


def patch_merge_shape(attrs: Attrs, shape: Shape) -> Shape:
    side = grid_side(shape)
    if side % 2:
        raise ValueError(f"its 2x2 groups do not tile the {side}x{side} grid of tokens")
    return (shape[0] // 4, attrs["dim"])


def patch_merge_params(attrs: Attrs, shape: Shape, out: Shape) -> int:
    """A bias-free map of the group's 4D features to `dim`, after a layer_norm of 4D."""
    wide = 4 * shape[1]
    return wide * attrs["dim"] + (2 * wide if attrs["norm"] else 0)


def patch_merge_macs(attrs: Attrs, shape: Shape, out: Shape) -> int:
    return out[0] * 4 * shape[1] * attrs["dim"]


def tokens_to_image_shape(attrs: Attrs, shape: Shape) -> Shape:
    side = grid_side(shape)
    return (shape[1], side, side)


def resize_shape(attrs: Attrs, shape: Shape) -> Shape:
    c, _, _ = need(shape, "image")
    return (c, along(attrs, "size", 0), along(attrs, "size", 1))


def channel_shuffle_shape(attrs: Attrs, shape: Shape) -> Shape:
    c = need(shape, "image")[0]
    if c % attrs["groups"]:
        raise ValueError(f"its {attrs['groups']} groups do not divide the {c} channels")
    return shape


def slice_shape(attrs: Attrs, shape: Shape) -> Shape:
    need(shape, "vector", "tokens", "image")
    axis = channel_axis(shape)
    start, stop, c = attrs["start"], attrs["stop"], shape[axis]
    what = "channels" if axis == 0 and len(shape) == 3 else "features"
    if stop <= start:
        raise ValueError(f"its stop {stop} must be greater than its start {start}")
    if stop > c:
        raise ValueError(f"it stops at {stop}, past the {c} {what}")
    out = list(shape)
    out[axis] = stop - start
    return tuple(out)


# -- the table ------------------------------------------------------------------------------

SAME_OR_VALID = (
    '"same" pads as TensorFlow did (output ceil(n / stride)); "valid" pads nothing'
)


def _window_params(size_doc: str, image: bool = True) -> tuple[Param, ...]:
    """size, stride, padding; over an image size and stride may be pairs [h, w]."""
    kind = POSITIVE_OR_PAIR if image else POSITIVE
    return (
        Param("size", kind, REQUIRED, size_doc),
        Param("stride", kind, 1, "step of the kernel"),
        Param("padding", PADDING, "same", SAME_OR_VALID),
    )


def _conv_tail(groups: bool = True, image: bool = True) -> tuple[Param, ...]:
    """init, then the parameters conv2d gained later: quiet, so the architectures
    written before them keep their text."""
    tail = (
        Param("init", InitType(), Init("kaiming", 1.0), "weight initializer; biases start at zero"),
        Param("dilation", POSITIVE_OR_PAIR if image else POSITIVE, 1,
              "spacing between kernel taps (1: a plain kernel)", quiet=True),
    )
    if groups:
        tail += (Param("groups", POSITIVE, 1,
                       "split channels into this many groups, each convolved on its own", quiet=True),)
    return tail + (Param("bias", BOOL, True, "add a learned bias per output channel", quiet=True),)


def _pool(name: str, what: str) -> LayerDef:
    return LayerDef(
        name,
        (
            Param("size", POSITIVE_OR_PAIR, 2, "window height and width (or a pair [h, w])"),
            Param("stride", POSITIVE_OR_PAIR, 2, "step between windows"),
            Param("padding", PADDING, "same", '"same" keeps ceil(n / stride); "valid" drops edges'),
        ),
        f"2-D {what} pooling over a window (square, or [h, w]).",
        shape=pool_shape,
    )


def _pool1d(name: str, what: str) -> LayerDef:
    return LayerDef(
        name,
        (
            Param("size", POSITIVE, 2, "window length, in tokens"),
            Param("stride", POSITIVE, 2, "step between windows"),
            Param("padding", PADDING, "same", '"same" keeps ceil(n / stride); "valid" drops the end'),
        ),
        f"1-D {what} pooling along a sequence of tokens, each feature on its own (N to "
        "ceil(N / stride) tokens).",
        shape=pool1d_shape,
    )


def _plain(name: str, doc: str, shape=same_shape) -> LayerDef:
    return LayerDef(name, (), doc, shape=shape)


def builtin_layers() -> list[LayerDef]:
    return [
        LayerDef(
            "conv2d",
            (
                Param("filters", POSITIVE, REQUIRED, "number of output channels"),
                *_window_params("kernel height and width (or a pair [h, w])"),
                *_conv_tail(),
            ),
            "2-D convolution with a square kernel, or [h, w]; `groups` splits it into grouped "
            "convolutions.",
            shape=conv2d_shape, param_count=conv_params, macs=conv_macs,
        ),
        LayerDef(
            "depthwise_conv2d",
            (
                *_window_params("kernel height and width (or a pair [h, w])"),
                Param("multiplier", POSITIVE, 1, "output channels per input channel"),
                *_conv_tail(groups=False),
            ),
            "Depthwise 2-D convolution: each channel convolved on its own (groups = channels).",
            shape=depthwise_shape, param_count=conv_params, macs=conv_macs,
        ),
        LayerDef(
            "conv1d",
            (
                Param("filters", POSITIVE, REQUIRED, "number of output features per token"),
                *_window_params("kernel length, in tokens", image=False),
                *_conv_tail(image=False),
            ),
            "1-D convolution along a sequence of tokens, their features as channels.",
            shape=conv1d_shape, param_count=conv_params, macs=conv_macs,
        ),
        LayerDef(
            "conv2d_transpose",
            (
                Param("filters", POSITIVE, REQUIRED, "number of output channels"),
                Param("size", POSITIVE_OR_PAIR, REQUIRED, "kernel height and width (or a pair [h, w])"),
                Param("stride", POSITIVE_OR_PAIR, 1, "how many times larger the image becomes"),
                Param("padding", PADDING, "same",
                      '"same": n * stride (undoes a strided "same" conv2d, cropped as TensorFlow '
                      'does); "valid": (n - 1) * stride + size, nothing cropped'),
                *_conv_tail(),
            ),
            "Transposed 2-D convolution (a learned upsampling, as in U-Net and DCGAN): the "
            "gradient of the conv2d with the same settings.",
            shape=conv2d_transpose_shape, param_count=conv_params, macs=conv2d_transpose_macs,
        ),
        _pool("max_pool2d", "max"),
        _pool("avg_pool2d", "average"),
        _pool1d("max_pool1d", "max"),
        _pool1d("avg_pool1d", "average"),
        LayerDef("adaptive_avg_pool2d", (Param("size", POSITIVE, 1, "output height and width"),),
                 "Averages each channel over a size x size grid of regions (PyTorch's adaptive pooling).",
                 shape=adaptive_pool_shape),
        LayerDef("upsample", (
            Param("scale", POSITIVE, 2, "how many times larger the image becomes on each side"),
            Param("mode", Enum(("nearest", "bilinear")), "nearest", "how new pixels are filled"),
        ), "Enlarges an image by a whole factor.", shape=upsample_shape),
        LayerDef(
            "affine",
            (
                Param("units", POSITIVE, REQUIRED, "number of outputs"),
                Param("init", InitType(), Init("xavier", 1.0), "weight initializer; biases start at zero"),
            ),
            "Fully connected layer: on each token's features for tokens, else on the whole "
            "input, flattened first.",
            shape=affine_shape, param_count=affine_params, macs=affine_macs,
        ),
        LayerDef(
            "dropout",
            (Param("keep", Float(0.0, 1.0, min_open=True), REQUIRED, "probability of keeping a unit"),),
            "Dropout given by the keep probability, as in DeepArchitect (torch's p = 1 - keep).",
            shape=same_shape,
        ),
        _plain("relu", "Rectified linear unit."),
        _plain("relu6", "ReLU capped at 6, as in MobileNets."),
        LayerDef("leaky_relu", (Param("slope", Float(min=0.0), 0.01, "slope for negative inputs"),),
                 "Leaky rectified linear unit.", shape=same_shape),
        _plain("gelu", "Gaussian error linear unit."),
        _plain("silu", "Sigmoid linear unit x * sigmoid(x) (swish)."),
        _plain("hardswish", "Hard swish x * relu6(x + 3) / 6, as in MobileNetV3."),
        _plain("hardsigmoid", "Hard sigmoid relu6(x + 3) / 6: MobileNetV3's squeeze-and-excitation gate."),
        _plain("tanh", "Hyperbolic tangent."),
        _plain("sigmoid", "Logistic sigmoid."),
        _plain("softmax", "Softmax over channels (over features for vectors and tokens).",
               softmax_shape),
        _plain("identity", "Passes its input through unchanged."),
        _plain("zero", "Outputs zeros of its input's shape (a missing edge of a cell)."),
        LayerDef("flatten", (), "Flattens everything but the batch dimension.", shape=flatten_shape),
        LayerDef("global_avg_pool", (), "Averages each channel over height and width.",
                 shape=global_pool_shape),
        LayerDef("global_max_pool", (), "The largest value of each channel over height and width.",
                 shape=global_pool_shape),
        LayerDef("batch_norm", (), "Batch normalization over channels (features for vectors "
                 "and tokens).", shape=batch_norm_shape, param_count=norm_params),
        LayerDef("layer_norm", (), "Layer normalization: over each token's features, over a "
                 "vector, or over all of an image (with a scale and shift per channel).",
                 shape=layer_norm_shape, param_count=norm_params),
        LayerDef("group_norm", (Param("groups", POSITIVE, REQUIRED, "number of channel groups"),),
                 "Group normalization over groups of channels (of features, for tokens).",
                 shape=group_norm_shape, param_count=norm_params),
        LayerDef("instance_norm", (), "Instance normalization: each channel of each image on its "
                 "own, with a learned scale and shift.", shape=image_shape, param_count=norm_params),
        LayerDef("patch_embed", (
            Param("size", POSITIVE, REQUIRED, "patch height and width; must tile the image"),
            Param("dim", POSITIVE, REQUIRED, "features per token"),
        ), "Cuts an image into size x size patches, each mapped linearly to a token (ViT).",
            shape=patch_embed_shape, param_count=patch_embed_params, macs=patch_embed_macs),
        LayerDef("embedding", (
            Param("vocab", POSITIVE, REQUIRED, "number of distinct token ids"),
            Param("dim", POSITIVE, REQUIRED, "features per token"),
        ), "Looks up a learned vector per token id: a vector of N ids becomes N tokens.",
            shape=embedding_shape, param_count=embedding_params),
        LayerDef("position_embedding", (), "Adds a learned vector per position to the tokens.",
                 shape=tokens_shape, param_count=position_params),
        LayerDef("class_token", (), "Puts a learned token before the sequence (ViT's [class]).",
                 shape=class_token_shape, param_count=class_token_params),
        LayerDef("multihead_attention", (
            Param("heads", POSITIVE, REQUIRED, "number of attention heads"),
            Param("head_dim", Int(min=0), 0, "features per head; 0: the token width / heads"),
            Param("bias", BOOL, True, "biases on the query, key and value maps"),
        ), "Multi-head self-attention over the tokens (scaled dot-product), then a linear map "
            "back to the token width.",
            shape=attention_shape, param_count=attention_params, macs=attention_macs),
        LayerDef("token_mixing", (
            Param("hidden", POSITIVE, REQUIRED, "width of the MLP's hidden layer"),
        ), "MLP-Mixer's token-mixing MLP: affine, gelu, affine across the tokens, shared by "
            "every feature (Tolstikhin et al. 2021); the tokens keep their shape.",
            shape=token_mixing_shape, param_count=token_mixing_params, macs=token_mixing_macs),
        LayerDef("token_pool", (
            Param("mode", Enum(("mean", "class")), "mean",
                  '"mean" averages the tokens; "class" takes the first (a class_token)'),
        ), "Turns a sequence of tokens into a vector of their features.", shape=token_pool_shape),
        LayerDef("window_attention", (
            Param("heads", POSITIVE, REQUIRED, "number of attention heads; must divide the token width"),
            Param("window", POSITIVE, REQUIRED, "window height and width, in tokens; must divide the grid's side"),
            Param("shift", Int(min=0), 0, "cyclic shift of the grid before windowing (Swin's SW-MSA: "
                  "window // 2), masked so that tokens the shift brought together do not attend; "
                  "none where the window covers the grid (Swin's rule)"),
            Param("position_bias", BOOL, True, "Swin's learned relative position bias per head"),
        ), "Multi-head self-attention inside w x w windows of a square grid of tokens (Swin), "
            "then a linear map back to the token width.",
            shape=window_attention_shape, param_count=window_attention_params,
            macs=window_attention_macs),
        LayerDef("patch_merge", (
            Param("dim", POSITIVE, REQUIRED, "features per merged token"),
            Param("norm", BOOL, True, "layer-normalize the 4D features before the map, as Swin"),
        ), "Swin's patch merging: each 2x2 group of a square grid of tokens concatenated "
            "(N to N / 4 tokens of 4D), then a bias-free linear map to `dim`.",
            shape=patch_merge_shape, param_count=patch_merge_params, macs=patch_merge_macs),
        LayerDef("tokens_to_image", (), "A square grid of N = H x H tokens of D as a D x H x H "
                 "image: the inverse of patch_embed(size: 1).", shape=tokens_to_image_shape),
        LayerDef("resize", (
            Param("size", POSITIVE_OR_PAIR, REQUIRED, "output height and width (or a pair [h, w])"),
            Param("mode", Enum(("bilinear", "nearest")), "bilinear", "how pixels are computed"),
        ), "Resizes an image to size x size (or [h, w]), bilinear by default: a searchable "
            "input resolution.", shape=resize_shape),
        LayerDef("channel_shuffle", (
            Param("groups", POSITIVE, REQUIRED, "number of channel groups; must divide the channels"),
        ), "ShuffleNet's channel shuffle: channel g * (C / groups) + i moves to i * groups + g.",
            shape=channel_shuffle_shape),
        LayerDef("pixel_shuffle", (
            Param("factor", POSITIVE, REQUIRED, "how many times larger the image becomes on each side"),
        ), "Sub-pixel upsampling (Shi et al. 2016, ESPCN): C x r^2 channels of H x W become C "
            "channels of rH x rW, each r x r block from r^2 consecutive channels.",
            shape=pixel_shuffle_shape),
        LayerDef("slice", (
            Param("start", Int(min=0), REQUIRED, "first channel kept"),
            Param("stop", POSITIVE, REQUIRED, "one past the last channel kept"),
        ), "Channels start .. stop - 1 (features, for tokens and vectors): the axis `cat` "
            "joins, so slices undo a `cat`.", shape=slice_shape),
    ]


def register_layers(env: Environment) -> None:
    """Add the built-in layers to `env`."""
    for layer in builtin_layers():
        env.add_layer(layer)
