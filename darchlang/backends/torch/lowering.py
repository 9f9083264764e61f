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

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from darchlang.layers.shapes import Attrs, Shape, features, pads

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


def _pad_arg(ph: int, pw: int) -> str:
    return str(ph) if ph == pw else f"({ph}, {pw})"


def _image_pads(attrs: Attrs, shape: Shape) -> tuple[int, int, int, int]:
    """(top, bottom, left, right) padding of a windowed layer over an image."""
    (top, bottom), (left, right) = pads(attrs, shape[1:])
    return top, bottom, left, right


# -- conv2d -----------------------------------------------------------------------------


def _conv_args(attrs: Attrs, shape: Shape) -> tuple[int, int, int, int, Any]:
    """Conv2d's positional args and its own padding (0 when F.pad does the padding)."""
    top, bottom, left, right = _image_pads(attrs, shape)
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
    _init_call(init)
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
    top, bottom, left, right = _image_pads(attrs, shape)
    if top == bottom and left == right:
        return f"{module}({x})"
    return f"{module}(F.pad({x}, ({left}, {right}, {top}, {bottom})))"


# -- pooling ----------------------------------------------------------------------------


def _pool_expr(fn: str, average: bool, attrs: Attrs, shape: Shape, x: str) -> str:
    k, s = attrs["size"], attrs["stride"]
    top, bottom, left, right = _image_pads(attrs, shape)
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


def affine_build(attrs: Attrs, shape: Shape) -> Any:
    from torch import nn

    from darchlang.backends.torch.runtime import INITIALIZERS

    init = attrs["init"]
    _init_call(init)
    linear = nn.Linear(features(shape), attrs["units"])
    return INITIALIZERS[init.kind](linear, float(init.gain))


def affine_emit(attrs: Attrs, shape: Shape) -> str:
    init = attrs["init"]
    ctor = f"nn.Linear({features(shape)}, {attrs['units']})"
    return f"{_init_call(init)}({ctor}, {float(init.gain)!r})"


def affine_call(attrs: Attrs, shape: Shape, module: str | None, x: str) -> str:
    return f"{module}({x}.flatten(1))" if len(shape) > 1 else f"{module}({x})"


# -- parameter-free layers --------------------------------------------------------------


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


def flatten_call(attrs: Attrs, shape: Shape, module: str | None, x: str) -> str:
    return f"{x}.flatten(1)" if len(shape) > 1 else x


def global_avg_pool_call(attrs: Attrs, shape: Shape, module: str | None, x: str) -> str:
    return f"{x}.mean((2, 3))"


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


# -- the table --------------------------------------------------------------------------

LOWERINGS: dict[str, TorchLowering] = {
    "conv2d": TorchLowering(conv2d_build, conv2d_emit, conv2d_call),
    "max_pool2d": TorchLowering(call=max_pool2d_call),
    "avg_pool2d": TorchLowering(call=avg_pool2d_call),
    "affine": TorchLowering(affine_build, affine_emit, affine_call),
    "dropout": TorchLowering(call=dropout_call),
    "relu": TorchLowering(call=relu_call),
    "gelu": TorchLowering(call=gelu_call),
    "tanh": TorchLowering(call=tanh_call),
    "sigmoid": TorchLowering(call=sigmoid_call),
    "identity": TorchLowering(call=identity_call),
    "zero": TorchLowering(call=zero_call),
    "flatten": TorchLowering(call=flatten_call),
    "global_avg_pool": TorchLowering(call=global_avg_pool_call),
    "batch_norm": TorchLowering(batch_norm_build, batch_norm_emit, tokens_last_call),
    "layer_norm": TorchLowering(layer_norm_build, layer_norm_emit),
}


def register_lowerings(env: Environment) -> None:
    """Add the built-in layers' torch lowerings to `env`."""
    for name, lowering in LOWERINGS.items():
        env.add_lowering(BACKEND, name, lowering)
