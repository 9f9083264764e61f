"""PyTorch semantics of the built-in layers: shape rules, builders, forward source, costs.

Each built-in gets up to five hooks (see `LayerDef`): `shape` (pure Python, so shape
inference needs no tensors), `build` (the `nn.Module`, initialized), `emit` (the same
constructor as source, for standalone export), `call` (the forward expression) and
`macs`. `build` and `emit` must describe the same module: the backend tests check that
a model built from the exported source with the same seed has identical weights.

This module imports torch only inside `build` hooks, so loading the layer registry (for
parsing, counting, sampling) stays fast.

Padding "same" is TensorFlow's SAME, which the DeepArchitect models used: the output
has ceil(n / stride) positions and the total padding max((out - 1) * stride + k - n, 0)
is split with the odd pixel after (bottom/right). When the split is even the layer's
own `padding=` argument is used (the same kernel a hand-written model would call);
otherwise convolutions pad explicitly with `F.pad`, and pools use `ceil_mode` (stride
>= 2) or pad one more and crop (stride 1), which gives TF's values without a copy.
"""

from __future__ import annotations

from typing import Any

from darchlang.layers.defs import LayerDef

Shape = tuple[int, ...]
Attrs = dict[str, Any]


def shape_text(shape: Shape) -> str:
    """A shape as the CLI writes it: `3x32x32`, or `512` for a vector."""
    return "x".join(str(d) for d in shape)


def same_padding(n: int, k: int, s: int) -> tuple[int, int, int]:
    """TF SAME along one axis: (output size, padding before, padding after)."""
    out = -(-n // s)
    total = max((out - 1) * s + k - n, 0)
    return out, total // 2, total - total // 2


def describe_shape(shape: Shape) -> str:
    """How an input reads in an error: `a vector of 512 features`, `a 3x32x32 input`."""
    if len(shape) == 1:
        return f"a vector of {shape[0]} features"
    return f"a {shape_text(shape)} input"


def _need_image(shape: Shape) -> tuple[int, int, int]:
    if len(shape) != 3:
        raise ValueError("it needs an image (channels x height x width)")
    return shape  # type: ignore[return-value]


def _window(attrs: Attrs, shape: Shape) -> tuple[int, int]:
    """Output height and width of a square window (conv or pool) over an image."""
    _, h, w = _need_image(shape)
    k, s = attrs["size"], attrs["stride"]
    if attrs["padding"] == "same":
        return -(-h // s), -(-w // s)
    if k > h or k > w:
        raise ValueError(f'its {k}x{k} window does not fit the {h}x{w} image with padding "valid"')
    return (h - k) // s + 1, (w - k) // s + 1


def _pads(attrs: Attrs, shape: Shape) -> tuple[int, int, int, int]:
    """(top, bottom, left, right) padding of a windowed layer; zeros for "valid"."""
    if attrs["padding"] != "same":
        return 0, 0, 0, 0
    _, h, w = shape
    k, s = attrs["size"], attrs["stride"]
    _, top, bottom = same_padding(h, k, s)
    _, left, right = same_padding(w, k, s)
    return top, bottom, left, right


def _pad_arg(ph: int, pw: int) -> str:
    return str(ph) if ph == pw else f"({ph}, {pw})"


def _init_call(init: Any) -> str:
    from darchlang.backends.torch.runtime import INITIALIZERS

    if init.kind not in INITIALIZERS:
        raise ValueError(f"unknown initializer `{init.kind}`")
    return f"{init.kind}_"


# -- conv2d -----------------------------------------------------------------------------


def conv2d_shape(attrs: Attrs, shape: Shape) -> Shape:
    _init_call(attrs["init"])
    return (attrs["filters"], *_window(attrs, shape))


def _conv_args(attrs: Attrs, shape: Shape) -> tuple[int, int, int, int, Any]:
    """Conv2d's positional args and its own padding (0 when F.pad does the padding)."""
    top, bottom, left, right = _pads(attrs, shape)
    own: Any = 0
    if top == bottom and left == right:
        own = top if top == left else (top, left)
    return shape[0], attrs["filters"], attrs["size"], attrs["stride"], own


def conv2d_build(attrs: Attrs, shape: Shape) -> Any:
    from torch import nn

    from darchlang.backends.torch.runtime import INITIALIZERS

    cin, cout, k, s, own = _conv_args(attrs, shape)
    conv = nn.Conv2d(cin, cout, k, stride=s, padding=own)
    init = attrs["init"]
    return INITIALIZERS[init.kind](conv, float(init.gain))


def conv2d_emit(attrs: Attrs, shape: Shape) -> str:
    cin, cout, k, s, own = _conv_args(attrs, shape)
    args = [str(cin), str(cout), str(k)]
    if s != 1:
        args.append(f"stride={s}")
    if own != 0:
        args.append(f"padding={own}")
    init = attrs["init"]
    return f"{_init_call(init)}(nn.Conv2d({', '.join(args)}), {float(init.gain)!r})"


def conv2d_call(attrs: Attrs, shape: Shape, module: str | None, x: str) -> str:
    top, bottom, left, right = _pads(attrs, shape)
    if top == bottom and left == right:
        return f"{module}({x})"
    return f"{module}(F.pad({x}, ({left}, {right}, {top}, {bottom})))"


def conv2d_macs(attrs: Attrs, shape: Shape, out: Shape) -> int:
    return out[0] * out[1] * out[2] * shape[0] * attrs["size"] ** 2


# -- pooling ----------------------------------------------------------------------------


def pool_shape(attrs: Attrs, shape: Shape) -> Shape:
    out_h, out_w = _window(attrs, shape)
    return shape[0], out_h, out_w


def _pool_expr(fn: str, average: bool, attrs: Attrs, shape: Shape, x: str) -> str:
    k, s = attrs["size"], attrs["stride"]
    top, bottom, left, right = _pads(attrs, shape)
    args = [x, str(k), str(s)]
    crop = ""
    if top == bottom and left == right:
        pad_h, pad_w = top, left
    elif s >= 2:
        # One extra row/column after: ceil_mode adds the last, clipped window.
        pad_h, pad_w = top, left
        args.append("ceil_mode=True")
    else:
        # Stride 1, even kernel: pad k/2 on both sides, drop the first row and column.
        pad_h, pad_w = bottom, right
        crop = "[:, :, 1:, 1:]"
    if pad_h or pad_w:
        args.insert(3, f"padding={_pad_arg(pad_h, pad_w)}")
        if average:
            args.append("count_include_pad=False")  # TF averages real pixels only
    return f"F.{fn}({', '.join(args)}){crop}"


def max_pool2d_call(attrs: Attrs, shape: Shape, module: str | None, x: str) -> str:
    return _pool_expr("max_pool2d", False, attrs, shape, x)


def avg_pool2d_call(attrs: Attrs, shape: Shape, module: str | None, x: str) -> str:
    return _pool_expr("avg_pool2d", True, attrs, shape, x)


# -- affine -----------------------------------------------------------------------------


def _features(shape: Shape) -> int:
    n = 1
    for d in shape:
        n *= d
    return n


def affine_shape(attrs: Attrs, shape: Shape) -> Shape:
    _init_call(attrs["init"])
    return (attrs["units"],)


def affine_build(attrs: Attrs, shape: Shape) -> Any:
    from torch import nn

    from darchlang.backends.torch.runtime import INITIALIZERS

    init = attrs["init"]
    linear = nn.Linear(_features(shape), attrs["units"])
    return INITIALIZERS[init.kind](linear, float(init.gain))


def affine_emit(attrs: Attrs, shape: Shape) -> str:
    init = attrs["init"]
    ctor = f"nn.Linear({_features(shape)}, {attrs['units']})"
    return f"{_init_call(init)}({ctor}, {float(init.gain)!r})"


def affine_call(attrs: Attrs, shape: Shape, module: str | None, x: str) -> str:
    return f"{module}({x}.flatten(1))" if len(shape) > 1 else f"{module}({x})"


def affine_macs(attrs: Attrs, shape: Shape, out: Shape) -> int:
    return _features(shape) * attrs["units"]


# -- parameter-free layers --------------------------------------------------------------


def same_shape(attrs: Attrs, shape: Shape) -> Shape:
    return shape


def dropout_p(keep: float) -> float:
    """torch's drop probability for DeepArchitect's keep probability (rounded for reading)."""
    return round(1.0 - keep, 12)


def dropout_call(attrs: Attrs, shape: Shape, module: str | None, x: str) -> str:
    return f"F.dropout({x}, p={dropout_p(attrs['keep'])!r}, training=self.training)"


# Hooks are module-level functions (not closures) so a compiled model, whose plan
# refers to them, pickles.
def relu_call(attrs: Attrs, shape: Shape, module: str | None, x: str) -> str:
    return f"F.relu({x})"


def gelu_call(attrs: Attrs, shape: Shape, module: str | None, x: str) -> str:
    return f"F.gelu({x})"


def tanh_call(attrs: Attrs, shape: Shape, module: str | None, x: str) -> str:
    return f"torch.tanh({x})"


def sigmoid_call(attrs: Attrs, shape: Shape, module: str | None, x: str) -> str:
    return f"torch.sigmoid({x})"


def identity_call(attrs: Attrs, shape: Shape, module: str | None, x: str) -> str:
    return x


def zero_call(attrs: Attrs, shape: Shape, module: str | None, x: str) -> str:
    return f"torch.zeros_like({x})"


def flatten_shape(attrs: Attrs, shape: Shape) -> Shape:
    return (_features(shape),)


def flatten_call(attrs: Attrs, shape: Shape, module: str | None, x: str) -> str:
    return f"{x}.flatten(1)" if len(shape) > 1 else x


def global_avg_pool_shape(attrs: Attrs, shape: Shape) -> Shape:
    if len(shape) < 2:
        raise ValueError("it averages over height and width, and this input has none")
    return (shape[0],)


def global_avg_pool_call(attrs: Attrs, shape: Shape, module: str | None, x: str) -> str:
    dims = tuple(range(2, len(shape) + 1))
    return f"{x}.mean({dims[0] if len(dims) == 1 else dims})"


# -- normalization ----------------------------------------------------------------------

_BATCH_NORMS = {1: "BatchNorm1d", 2: "BatchNorm1d", 3: "BatchNorm2d", 4: "BatchNorm3d"}


def batch_norm_shape(attrs: Attrs, shape: Shape) -> Shape:
    if len(shape) not in _BATCH_NORMS:
        raise ValueError("it takes features, sequences, images or volumes (rank 1 to 4)")
    return shape


def batch_norm_emit(attrs: Attrs, shape: Shape) -> str:
    return f"nn.{_BATCH_NORMS[len(shape)]}({shape[0]})"


def batch_norm_build(attrs: Attrs, shape: Shape) -> Any:
    from torch import nn

    return getattr(nn, _BATCH_NORMS[len(shape)])(shape[0])


def layer_norm_emit(attrs: Attrs, shape: Shape) -> str:
    # Over all but the batch dimension; for images the learned scale and shift are per
    # channel (GroupNorm with one group), so parameters do not grow with the image size.
    return f"nn.LayerNorm({shape[0]})" if len(shape) == 1 else f"nn.GroupNorm(1, {shape[0]})"


def layer_norm_build(attrs: Attrs, shape: Shape) -> Any:
    from torch import nn

    return nn.LayerNorm(shape[0]) if len(shape) == 1 else nn.GroupNorm(1, shape[0])


# -- wiring -----------------------------------------------------------------------------

HOOKS: dict[str, dict[str, Any]] = {
    "conv2d": dict(
        shape=conv2d_shape, build=conv2d_build, emit=conv2d_emit, call=conv2d_call, macs=conv2d_macs
    ),
    "max_pool2d": dict(shape=pool_shape, call=max_pool2d_call),
    "avg_pool2d": dict(shape=pool_shape, call=avg_pool2d_call),
    "affine": dict(
        shape=affine_shape, build=affine_build, emit=affine_emit, call=affine_call, macs=affine_macs
    ),
    "dropout": dict(shape=same_shape, call=dropout_call),
    "relu": dict(shape=same_shape, call=relu_call),
    "gelu": dict(shape=same_shape, call=gelu_call),
    "tanh": dict(shape=same_shape, call=tanh_call),
    "sigmoid": dict(shape=same_shape, call=sigmoid_call),
    "identity": dict(shape=same_shape, call=identity_call),
    "zero": dict(shape=same_shape, call=zero_call),
    "flatten": dict(shape=flatten_shape, call=flatten_call),
    "global_avg_pool": dict(shape=global_avg_pool_shape, call=global_avg_pool_call),
    "batch_norm": dict(shape=batch_norm_shape, build=batch_norm_build, emit=batch_norm_emit),
    "layer_norm": dict(shape=same_shape, build=layer_norm_build, emit=layer_norm_emit),
}


def attach(layer: LayerDef) -> LayerDef:
    """Give a built-in its torch hooks (a layer without an entry is left as it is)."""
    for hook, fn in HOOKS.get(layer.name, {}).items():
        setattr(layer, hook, fn)
    return layer
