"""How each layer becomes PyTorch: the torch backend's lowering table, keyed by layer name.

A `TorchLowering` has up to three hooks, each given the layer's attributes (defaults
filled in) and its input shape without the batch dimension:

- `build(attrs, in_shape) -> nn.Module`: the module, initialized (None: no module);
- `emit(attrs, in_shape) -> str`: the same constructor as source, for `emit_python`;
- `call(attrs, in_shape, module, x) -> str`: the forward expression applying the layer
  to the variable `x` (`module` is `self.<name>` when `build` is set, else None, so a
  parameter-free layer is a functional call); without it the call is `module(x)`.

`build` and `emit` must describe the same module: the backend tests check that a model
built from the exported source with the same seed has identical weights. The shape
rule and costs are the layer's own (`LayerDef`); this table is all the backend adds.
The built-ins are added to every environment by `register_lowerings`; a plugin adds
its own with `env.add_lowering("torch", name, TorchLowering(...))`.

This module imports torch only inside `build` hooks, so building an environment (for
parsing, counting, sampling) stays fast.

Padding "same" is TensorFlow's SAME (see `darchlang.layers.shapes`). When the split is
even the layer's own `padding=` argument is used (the same kernel a hand-written model
would call); otherwise convolutions pad explicitly with `F.pad`, and pools use
`ceil_mode` (stride >= 2) or pad one more and crop (stride 1), which gives TF's values
without a copy.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from darchlang.layers.shapes import Attrs, Shape, along, channel_axis, features, pads, span_of

if TYPE_CHECKING:
    from darchlang.environment import Environment

BACKEND = "torch"


@dataclass(frozen=True)
class TorchLowering:
    """The torch hooks of one layer (see the module docstring)."""

    build: Callable[[Attrs, Shape], Any] | None = None
    emit: Callable[[Attrs, Shape], str] | None = None
    call: Callable[[Attrs, Shape, str | None, str], str] | None = None


def _init_call(init: Any) -> str:
    from darchlang.backends.torch.runtime import INITIALIZERS

    if init.kind not in INITIALIZERS:
        raise ValueError(f"unknown initializer `{init.kind}`")
    return f"{init.kind}_"


def _window_arg(value: Any) -> Any:
    """A window setting as torch takes it: an integer, or a pair [h, w] as a tuple."""
    return tuple(value) if isinstance(value, list) else value


# -- convolutions -----------------------------------------------------------------------


def _conv_spec(attrs: Attrs, shape: Shape) -> tuple[str, int, int, int]:
    """(torch class, in channels, out channels, groups) of conv2d, depthwise_conv2d or
    conv1d (which convolves tokens along the sequence, their features as channels)."""
    if len(shape) == 2:
        return "Conv1d", shape[1], attrs["filters"], attrs["groups"]
    if "multiplier" in attrs:
        return "Conv2d", shape[0], shape[0] * attrs["multiplier"], shape[0]
    return "Conv2d", shape[0], attrs["filters"], attrs["groups"]


def _conv_pads(attrs: Attrs, shape: Shape) -> tuple[tuple[int, int], ...]:
    """(before, after) per spatial axis: height and width, or the sequence."""
    return pads(attrs, shape[:1] if len(shape) == 2 else shape[1:])


def _conv_own(attrs: Attrs, shape: Shape) -> Any:
    """The conv's own symmetric padding, or None when F.pad must pad first."""
    axes = _conv_pads(attrs, shape)
    if any(before != after for before, after in axes):
        return None
    own = tuple(before for before, _ in axes)
    return own[0] if len(set(own)) == 1 else own


def _conv_kwargs(attrs: Attrs, shape: Shape) -> dict[str, Any]:
    _, _, _, groups = _conv_spec(attrs, shape)
    kwargs: dict[str, Any] = {}
    for key, value, default in (("stride", _window_arg(attrs["stride"]), 1),
                                ("padding", _conv_own(attrs, shape) or 0, 0),
                                ("dilation", _window_arg(attrs["dilation"]), 1), ("groups", groups, 1),
                                ("bias", attrs["bias"], True)):
        if value != default:
            kwargs[key] = value
    return kwargs


def conv_build(attrs: Attrs, shape: Shape) -> Any:
    from torch import nn

    from darchlang.backends.torch.runtime import INITIALIZERS

    cls, cin, cout, _ = _conv_spec(attrs, shape)
    init = attrs["init"]
    _init_call(init)
    conv = getattr(nn, cls)(cin, cout, _window_arg(attrs["size"]), **_conv_kwargs(attrs, shape))
    return INITIALIZERS[init.kind](conv, float(init.gain))


def conv_emit(attrs: Attrs, shape: Shape) -> str:
    cls, cin, cout, _ = _conv_spec(attrs, shape)
    args = [str(cin), str(cout), repr(_window_arg(attrs["size"]))]
    args += [f"{key}={value!r}" for key, value in _conv_kwargs(attrs, shape).items()]
    init = attrs["init"]
    return f"{_init_call(init)}(nn.{cls}({', '.join(args)}), {float(init.gain)!r})"


def conv_call(attrs: Attrs, shape: Shape, module: str | None, x: str) -> str:
    if len(shape) == 2:  # tokens: features to the channel axis and back
        (before, after), = _conv_pads(attrs, shape)
        inner = f"{x}.transpose(1, 2)"
        if _conv_own(attrs, shape) is None:
            inner = f"F.pad({inner}, ({before}, {after}))"
        return f"{module}({inner}).transpose(1, 2)"
    if _conv_own(attrs, shape) is not None:
        return f"{module}({x})"
    (top, bottom), (left, right) = _conv_pads(attrs, shape)
    return f"{module}(F.pad({x}, ({left}, {right}, {top}, {bottom})))"


# -- transposed convolution --------------------------------------------------------------


def _transpose_crops(attrs: Attrs, shape: Shape) -> list[tuple[int, int, int]]:
    """(torch padding, output_padding, one more cropped at the end) per axis.

    torch's full output along an axis is (n - 1) * s + extent; "same" keeps n * s of it,
    dropping what the strided conv2d it undoes padded: total // 2 before and the rest
    after (TF's split of the padding). torch's `padding` drops the same number at both
    ends, so an odd total drops one more at the end with a slice; where the stride is
    wider than the kernel, `output_padding` adds the missing positions instead."""
    out = []
    for axis in range(2):
        if attrs["padding"] != "same":
            out.append((0, 0, 0))
            continue
        total = span_of(attrs, axis) - along(attrs, "stride", axis)
        if total < 0:
            out.append((0, -total, 0))
        else:
            out.append((total // 2, 0, total % 2))
    return out


def _transpose_kwargs(attrs: Attrs, shape: Shape) -> dict[str, Any]:
    crops = _transpose_crops(attrs, shape)
    kwargs: dict[str, Any] = {}
    for key, value, default in (("stride", _window_arg(attrs["stride"]), 1),
                                ("padding", _pair_or_one([c[0] for c in crops]), 0),
                                ("output_padding", _pair_or_one([c[1] for c in crops]), 0),
                                ("dilation", _window_arg(attrs["dilation"]), 1),
                                ("groups", attrs["groups"], 1), ("bias", attrs["bias"], True)):
        if value != default:
            kwargs[key] = value
    return kwargs


def _pair_or_one(values: list[int]) -> Any:
    return values[0] if values[0] == values[1] else tuple(values)


def conv_transpose_build(attrs: Attrs, shape: Shape) -> Any:
    from torch import nn

    from darchlang.backends.torch.runtime import INITIALIZERS

    init = attrs["init"]
    _init_call(init)
    conv = nn.ConvTranspose2d(shape[0], attrs["filters"], _window_arg(attrs["size"]),
                              **_transpose_kwargs(attrs, shape))
    return INITIALIZERS[init.kind](conv, float(init.gain))


def conv_transpose_emit(attrs: Attrs, shape: Shape) -> str:
    args = [str(shape[0]), str(attrs["filters"]), repr(_window_arg(attrs["size"]))]
    args += [f"{key}={value!r}" for key, value in _transpose_kwargs(attrs, shape).items()]
    init = attrs["init"]
    return f"{_init_call(init)}(nn.ConvTranspose2d({', '.join(args)}), {float(init.gain)!r})"


def conv_transpose_call(attrs: Attrs, shape: Shape, module: str | None, x: str) -> str:
    (_, _, crop_h), (_, _, crop_w) = _transpose_crops(attrs, shape)
    if not (crop_h or crop_w):
        return f"{module}({x})"
    return f"{module}({x})[:, :, {':-1' if crop_h else ':'}, {':-1' if crop_w else ':'}]"


def pixel_shuffle_call(attrs: Attrs, shape: Shape, module: str | None, x: str) -> str:
    return f"F.pixel_shuffle({x}, {attrs['factor']})"


# -- pooling ----------------------------------------------------------------------------


def _sizes_arg(values: list[int]) -> str:
    """One setting per pooled axis as torch takes it: one integer when they agree."""
    return str(values[0]) if len(set(values)) == 1 else str(tuple(values))


def _pool_expr(fn: str, average: bool, attrs: Attrs, shape: Shape, x: str) -> str:
    """Each axis (an image's height and width, or a sequence) on its own: an even split
    is torch's own padding; one more after with a stride >= 2 is `ceil_mode`, which adds
    the last, clipped window (and changes nothing on an evenly split axis, whose windows
    fit exactly); one more after with stride 1 (an even kernel) pads k/2 on both sides
    and drops the first position."""
    axes = shape[:1] if len(shape) == 2 else shape[1:]
    sizes = [along(attrs, "size", i) for i in range(len(axes))]
    strides = [along(attrs, "stride", i) for i in range(len(axes))]
    padding, crop, ceil = [], [], False
    for (before, after), s in zip(pads(attrs, axes), strides, strict=True):
        uneven_at_one = before != after and s < 2
        ceil |= before != after and s >= 2
        padding.append(after if uneven_at_one else before)
        crop.append("1:" if uneven_at_one else ":")
    args = [x, _sizes_arg(sizes), _sizes_arg(strides)]
    if ceil:
        args.append("ceil_mode=True")
    if any(padding):
        args.insert(3, f"padding={_sizes_arg(padding)}")
        if average:
            args.append("count_include_pad=False")  # TF averages real pixels only
    cropped = f"[:, :, {', '.join(crop)}]" if "1:" in crop else ""
    return f"F.{fn}({', '.join(args)}){cropped}"


def max_pool2d_call(attrs: Attrs, shape: Shape, module: str | None, x: str) -> str:
    return _pool_expr("max_pool2d", False, attrs, shape, x)


def avg_pool2d_call(attrs: Attrs, shape: Shape, module: str | None, x: str) -> str:
    return _pool_expr("avg_pool2d", True, attrs, shape, x)


def max_pool1d_call(attrs: Attrs, shape: Shape, module: str | None, x: str) -> str:
    """Tokens: the features to the channel axis, pooled along the sequence, and back."""
    return f"{_pool_expr('max_pool1d', False, attrs, shape, f'{x}.transpose(1, 2)')}.transpose(1, 2)"


def avg_pool1d_call(attrs: Attrs, shape: Shape, module: str | None, x: str) -> str:
    return f"{_pool_expr('avg_pool1d', True, attrs, shape, f'{x}.transpose(1, 2)')}.transpose(1, 2)"


# -- affine -----------------------------------------------------------------------------


def affine_build(attrs: Attrs, shape: Shape) -> Any:
    from torch import nn

    from darchlang.backends.torch.runtime import INITIALIZERS

    init = attrs["init"]
    _init_call(init)
    linear = nn.Linear(_affine_in(shape), attrs["units"])
    return INITIALIZERS[init.kind](linear, float(init.gain))


def _affine_in(shape: Shape) -> int:
    """Tokens: each token's features (nn.Linear maps the last axis); else all, flattened."""
    return shape[1] if len(shape) == 2 else features(shape)


def affine_emit(attrs: Attrs, shape: Shape) -> str:
    init = attrs["init"]
    ctor = f"nn.Linear({_affine_in(shape)}, {attrs['units']})"
    return f"{_init_call(init)}({ctor}, {float(init.gain)!r})"


def affine_call(attrs: Attrs, shape: Shape, module: str | None, x: str) -> str:
    return f"{module}({x}.flatten(1))" if len(shape) > 2 else f"{module}({x})"


# -- parameter-free layers --------------------------------------------------------------


def dropout_p(keep: float) -> float:
    """torch's drop probability for DeepArchitect's keep probability (rounded for reading)."""
    return round(1.0 - keep, 12)


def dropout_call(attrs: Attrs, shape: Shape, module: str | None, x: str) -> str:
    return f"F.dropout({x}, p={dropout_p(attrs['keep'])!r}, training=self.training)"


# Hooks are module-level functions or instances of module-level classes (not closures)
# so a compiled model, whose plan refers to them, pickles.
class FunctionCall:
    """The forward of a parameter-free layer that is one function call, `F.relu(x)`."""

    def __init__(self, function: str):
        self.function = function

    def __call__(self, attrs: Attrs, shape: Shape, module: str | None, x: str) -> str:
        return f"{self.function}({x})"


def leaky_relu_call(attrs: Attrs, shape: Shape, module: str | None, x: str) -> str:
    return f"F.leaky_relu({x}, {float(attrs['slope'])!r})"


def softmax_call(attrs: Attrs, shape: Shape, module: str | None, x: str) -> str:
    return f"F.softmax({x}, {-1 if len(shape) <= 2 else 1})"


def identity_call(attrs: Attrs, shape: Shape, module: str | None, x: str) -> str:
    return x


def zero_call(attrs: Attrs, shape: Shape, module: str | None, x: str) -> str:
    return f"torch.zeros_like({x})"


def flatten_call(attrs: Attrs, shape: Shape, module: str | None, x: str) -> str:
    return f"{x}.flatten(1)" if len(shape) > 1 else x


def global_avg_pool_call(attrs: Attrs, shape: Shape, module: str | None, x: str) -> str:
    return f"{x}.mean((2, 3))"


def global_max_pool_call(attrs: Attrs, shape: Shape, module: str | None, x: str) -> str:
    return f"{x}.amax((2, 3))"


def adaptive_avg_pool2d_call(attrs: Attrs, shape: Shape, module: str | None, x: str) -> str:
    # Sizes are known here: where the regions are equal (the usual case) the adaptive pool
    # is a plain average pool, which every exporter handles.
    size, (_, h, w) = attrs["size"], shape
    if size == 1:
        return f"{x}.mean((2, 3), keepdim=True)"
    if h % size == 0 and w % size == 0:
        return f"F.avg_pool2d({x}, {_sizes_arg([h // size, w // size])})"
    return f"F.adaptive_avg_pool2d({x}, {size})"


def upsample_call(attrs: Attrs, shape: Shape, module: str | None, x: str) -> str:
    corners = ", align_corners=False" if attrs["mode"] == "bilinear" else ""
    size = (shape[1] * attrs["scale"], shape[2] * attrs["scale"])
    return f"F.interpolate({x}, size={size}, mode={attrs['mode']!r}{corners})"


# -- normalization ----------------------------------------------------------------------

_BATCH_NORMS = {1: "BatchNorm1d", 2: "BatchNorm1d", 3: "BatchNorm2d", 4: "BatchNorm3d"}


def _norm_width(shape: Shape) -> int:
    """The normalized axis: a vector's or a token's features, else the channels."""
    return shape[-1] if len(shape) <= 2 else shape[0]


def batch_norm_emit(attrs: Attrs, shape: Shape) -> str:
    return f"nn.{_BATCH_NORMS[len(shape)]}({_norm_width(shape)})"


def batch_norm_build(attrs: Attrs, shape: Shape) -> Any:
    from torch import nn

    return getattr(nn, _BATCH_NORMS[len(shape)])(_norm_width(shape))


def tokens_last_call(attrs: Attrs, shape: Shape, module: str | None, x: str) -> str:
    """A channels-first module on tokens: features to the channel axis and back."""
    if len(shape) == 2:
        return f"{module}({x}.transpose(1, 2)).transpose(1, 2)"
    return f"{module}({x})"


def layer_norm_emit(attrs: Attrs, shape: Shape) -> str:
    # Vectors and tokens: over the features. Images: over all of C, H, W with a scale
    # and shift per channel (GroupNorm with one group), so parameters do not grow with
    # the image size.
    return f"nn.LayerNorm({shape[-1]})" if len(shape) <= 2 else f"nn.GroupNorm(1, {shape[0]})"


def layer_norm_build(attrs: Attrs, shape: Shape) -> Any:
    from torch import nn

    return nn.LayerNorm(shape[-1]) if len(shape) <= 2 else nn.GroupNorm(1, shape[0])


def group_norm_emit(attrs: Attrs, shape: Shape) -> str:
    return f"nn.GroupNorm({attrs['groups']}, {_norm_width(shape)})"


def group_norm_build(attrs: Attrs, shape: Shape) -> Any:
    from torch import nn

    return nn.GroupNorm(attrs["groups"], _norm_width(shape))


def instance_norm_emit(attrs: Attrs, shape: Shape) -> str:
    return f"nn.InstanceNorm2d({shape[0]}, affine=True)"


def instance_norm_build(attrs: Attrs, shape: Shape) -> Any:
    from torch import nn

    return nn.InstanceNorm2d(shape[0], affine=True)


# -- tokens -----------------------------------------------------------------------------


def patch_embed_emit(attrs: Attrs, shape: Shape) -> str:
    p = attrs["size"]
    return f"nn.Conv2d({shape[0]}, {attrs['dim']}, {p}, stride={p})"


def patch_embed_build(attrs: Attrs, shape: Shape) -> Any:
    from torch import nn

    return nn.Conv2d(shape[0], attrs["dim"], attrs["size"], stride=attrs["size"])


def patch_embed_call(attrs: Attrs, shape: Shape, module: str | None, x: str) -> str:
    return f"{module}({x}).flatten(2).transpose(1, 2)"


def embedding_emit(attrs: Attrs, shape: Shape) -> str:
    return f"nn.Embedding({attrs['vocab']}, {attrs['dim']})"


def embedding_build(attrs: Attrs, shape: Shape) -> Any:
    from torch import nn

    return nn.Embedding(attrs["vocab"], attrs["dim"])


def embedding_call(attrs: Attrs, shape: Shape, module: str | None, x: str) -> str:
    return f"{module}({x}.long())"


def _runtime(name: str) -> Any:
    from darchlang.backends.torch import runtime

    return getattr(runtime, name)


def position_embedding_emit(attrs: Attrs, shape: Shape) -> str:
    return f"PositionEmbedding({shape[0]}, {shape[1]})"


def position_embedding_build(attrs: Attrs, shape: Shape) -> Any:
    return _runtime("PositionEmbedding")(shape[0], shape[1])


def class_token_emit(attrs: Attrs, shape: Shape) -> str:
    return f"ClassToken({shape[1]})"


def class_token_build(attrs: Attrs, shape: Shape) -> Any:
    return _runtime("ClassToken")(shape[1])


def _attention_args(attrs: Attrs, shape: Shape) -> tuple[int, int, int, bool]:
    d, heads = shape[1], attrs["heads"]
    return d, heads, attrs["head_dim"] or d // heads, attrs["bias"]


def attention_emit(attrs: Attrs, shape: Shape) -> str:
    d, heads, head_dim, bias = _attention_args(attrs, shape)
    return f"SelfAttention({d}, {heads}, {head_dim}" + ("" if bias else ", bias=False") + ")"


def attention_build(attrs: Attrs, shape: Shape) -> Any:
    d, heads, head_dim, bias = _attention_args(attrs, shape)
    return _runtime("SelfAttention")(d, heads, head_dim, bias=bias)


def token_mixing_emit(attrs: Attrs, shape: Shape) -> str:
    return f"TokenMixing({shape[0]}, {attrs['hidden']})"


def token_mixing_build(attrs: Attrs, shape: Shape) -> Any:
    return _runtime("TokenMixing")(shape[0], attrs["hidden"])


def token_pool_call(attrs: Attrs, shape: Shape, module: str | None, x: str) -> str:
    return f"{x}.mean(1)" if attrs["mode"] == "mean" else f"{x}[:, 0]"


# -- grids of tokens and channel steps ----------------------------------------------------


def _side(shape: Shape) -> int:
    return math.isqrt(shape[0])


def window_attention_emit(attrs: Attrs, shape: Shape) -> str:
    args = [shape[1], attrs["heads"], _side(shape), attrs["window"], attrs["shift"]]
    return (f"WindowAttention({', '.join(map(str, args))}"
            + ("" if attrs["position_bias"] else ", position_bias=False") + ")")


def window_attention_build(attrs: Attrs, shape: Shape) -> Any:
    return _runtime("WindowAttention")(shape[1], attrs["heads"], _side(shape), attrs["window"],
                                       attrs["shift"], position_bias=attrs["position_bias"])


def patch_merge_emit(attrs: Attrs, shape: Shape) -> str:
    return (f"PatchMerge({shape[1]}, {attrs['dim']}, {_side(shape)}"
            + ("" if attrs["norm"] else ", norm=False") + ")")


def patch_merge_build(attrs: Attrs, shape: Shape) -> Any:
    return _runtime("PatchMerge")(shape[1], attrs["dim"], _side(shape), norm=attrs["norm"])


def tokens_to_image_call(attrs: Attrs, shape: Shape, module: str | None, x: str) -> str:
    side = _side(shape)
    return f"{x}.transpose(1, 2).unflatten(2, ({side}, {side}))"


def resize_call(attrs: Attrs, shape: Shape, module: str | None, x: str) -> str:
    size = (along(attrs, "size", 0), along(attrs, "size", 1))
    if size == tuple(shape[1:]):
        return x
    corners = ", align_corners=False" if attrs["mode"] == "bilinear" else ""
    return f"F.interpolate({x}, size={size}, mode={attrs['mode']!r}{corners})"


def channel_shuffle_call(attrs: Attrs, shape: Shape, module: str | None, x: str) -> str:
    g = attrs["groups"]
    if g == 1:
        return x
    return f"{x}.unflatten(1, ({g}, {shape[0] // g})).transpose(1, 2).flatten(1, 2)"


def slice_call(attrs: Attrs, shape: Shape, module: str | None, x: str) -> str:
    axis = channel_axis(shape)
    cut = f"{attrs['start']}:{attrs['stop']}"
    return f"{x}[:, {cut}]" if axis == 0 else f"{x}[..., {cut}]"


# -- the table --------------------------------------------------------------------------

LOWERINGS: dict[str, TorchLowering] = {
    "conv2d": TorchLowering(conv_build, conv_emit, conv_call),
    "depthwise_conv2d": TorchLowering(conv_build, conv_emit, conv_call),
    "conv1d": TorchLowering(conv_build, conv_emit, conv_call),
    "conv2d_transpose": TorchLowering(conv_transpose_build, conv_transpose_emit, conv_transpose_call),
    "max_pool2d": TorchLowering(call=max_pool2d_call),
    "max_pool1d": TorchLowering(call=max_pool1d_call),
    "avg_pool1d": TorchLowering(call=avg_pool1d_call),
    "adaptive_avg_pool2d": TorchLowering(call=adaptive_avg_pool2d_call),
    "upsample": TorchLowering(call=upsample_call),
    "avg_pool2d": TorchLowering(call=avg_pool2d_call),
    "affine": TorchLowering(affine_build, affine_emit, affine_call),
    "dropout": TorchLowering(call=dropout_call),
    "relu": TorchLowering(call=FunctionCall("F.relu")),
    "relu6": TorchLowering(call=FunctionCall("F.relu6")),
    "leaky_relu": TorchLowering(call=leaky_relu_call),
    "gelu": TorchLowering(call=FunctionCall("F.gelu")),
    "silu": TorchLowering(call=FunctionCall("F.silu")),
    "hardswish": TorchLowering(call=FunctionCall("F.hardswish")),
    "hardsigmoid": TorchLowering(call=FunctionCall("F.hardsigmoid")),
    "softmax": TorchLowering(call=softmax_call),
    "tanh": TorchLowering(call=FunctionCall("torch.tanh")),
    "sigmoid": TorchLowering(call=FunctionCall("torch.sigmoid")),
    "identity": TorchLowering(call=identity_call),
    "zero": TorchLowering(call=zero_call),
    "flatten": TorchLowering(call=flatten_call),
    "global_avg_pool": TorchLowering(call=global_avg_pool_call),
    "global_max_pool": TorchLowering(call=global_max_pool_call),
    "batch_norm": TorchLowering(batch_norm_build, batch_norm_emit, tokens_last_call),
    "layer_norm": TorchLowering(layer_norm_build, layer_norm_emit),
    "group_norm": TorchLowering(group_norm_build, group_norm_emit, tokens_last_call),
    "instance_norm": TorchLowering(instance_norm_build, instance_norm_emit),
    "patch_embed": TorchLowering(patch_embed_build, patch_embed_emit, patch_embed_call),
    "embedding": TorchLowering(embedding_build, embedding_emit, embedding_call),
    "position_embedding": TorchLowering(position_embedding_build, position_embedding_emit),
    "class_token": TorchLowering(class_token_build, class_token_emit),
    "multihead_attention": TorchLowering(attention_build, attention_emit),
    "token_mixing": TorchLowering(token_mixing_build, token_mixing_emit),
    "token_pool": TorchLowering(call=token_pool_call),
    "window_attention": TorchLowering(window_attention_build, window_attention_emit),
    "patch_merge": TorchLowering(patch_merge_build, patch_merge_emit),
    "tokens_to_image": TorchLowering(call=tokens_to_image_call),
    "resize": TorchLowering(call=resize_call),
    "channel_shuffle": TorchLowering(call=channel_shuffle_call),
    "pixel_shuffle": TorchLowering(call=pixel_shuffle_call),
    "slice": TorchLowering(call=slice_call),
}


def register_lowerings(env: Environment) -> None:
    """Add the built-in layers' torch lowerings to `env`."""
    for name, lowering in LOWERINGS.items():
        env.add_lowering(BACKEND, name, lowering)
