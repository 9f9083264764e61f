"""Shapes and layouts, apart from any backend: what a layer's shape rule works with.

A shape is a tuple of positive sizes without the batch dimension. Its layout is read
off its rank, one layout per rank, so shapes stay plain tuples (hashable, comparable,
and the same in the compiler's planner and the whole-space shape checker):

    rank 1   vector   (D)          features
    rank 2   tokens   (N, D)       a sequence of N tokens of D features each
    rank 3   image    (C, H, W)    channels first
    rank 4   volume   (C, D, H, W) channels first (batch_norm and elementwise layers only)

A shape rule that cannot take its input raises `ValueError` with a plain sentence;
`need(shape, "image")` raises the `WrongLayout` kind, which the planner writes as
"`conv2d` needs an image; this is a sequence of 16 tokens of 64".

Padding "same" is TensorFlow's SAME, which the DeepArchitect models used: the output has
ceil(n / stride) positions; "valid" pads nothing and needs the window to fit.
"""

from __future__ import annotations

import re
from typing import Any

from darchlang.errors import DarchError, Span

Shape = tuple[int, ...]
Attrs = dict[str, Any]

LAYOUTS = {1: "vector", 2: "tokens", 3: "image", 4: "volume"}
_A = {"vector": "a vector", "tokens": "a sequence of tokens", "image": "an image",
      "volume": "a volume"}


class WrongLayout(ValueError):
    """A layer was given a layout it cannot take; `wanted` is what it needs, in words."""

    def __init__(self, wanted: str, shape: Shape):
        super().__init__(f"it needs {wanted}; this is {describe_shape(shape)}")
        self.wanted = wanted


def layout(shape: Shape) -> str:
    """"vector", "tokens", "image" or "volume"."""
    return LAYOUTS.get(len(shape), f"rank-{len(shape)}")


def need(shape: Shape, *layouts: str) -> Shape:
    """`shape` itself if its layout is one of `layouts`, else a `WrongLayout` error."""
    if layout(shape) not in layouts:
        names = [_A[name] for name in layouts]
        wanted = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " or " + names[-1]
        raise WrongLayout(wanted, shape)
    return shape


def shape_text(shape: Shape) -> str:
    """A shape as the CLI writes it: `3x32x32`, or `512` for a vector."""
    return "x".join(str(d) for d in shape)


def describe_shape(shape: Shape) -> str:
    """How an input reads in an error: `a vector of 512 features`, `a 3x32x32 input`."""
    kind = layout(shape)
    if kind == "vector":
        return f"a vector of {shape[0]} features"
    if kind == "tokens":
        return f"a sequence of {shape[0]} tokens of {shape[1]}"
    return f"a {shape_text(shape)} input"


def features(shape: Shape) -> int:
    """The number of values in one example of this shape."""
    n = 1
    for d in shape:
        n *= d
    return n


# -- windows: convolutions and pools --------------------------------------------------------


def same_padding(n: int, k: int, s: int) -> tuple[int, int, int]:
    """TF SAME along one axis: (output size, padding before, padding after)."""
    out = -(-n // s)
    total = max((out - 1) * s + k - n, 0)
    return out, total // 2, total - total // 2


def along(attrs: Attrs, name: str, axis: int = 0) -> int:
    """A window setting (`size`, `stride`, `dilation`) along one axis: an integer holds
    for both axes, a pair `[h, w]` gives height (axis 0) and width (axis 1)."""
    value = attrs.get(name, 1)
    return value[axis] if isinstance(value, list | tuple) else value


def span_of(attrs: Attrs, axis: int = 0) -> int:
    """The extent of a (possibly dilated) window along an axis: dilation * (size - 1) + 1."""
    return along(attrs, "dilation", axis) * (along(attrs, "size", axis) - 1) + 1


def window_axis(n: int, attrs: Attrs, axis: int = 0) -> int:
    """Output size along one axis of a windowed layer (conv or pool) of `n` positions."""
    k, s = span_of(attrs, axis), along(attrs, "stride", axis)
    if attrs["padding"] == "same":
        return -(-n // s)
    if k > n:
        raise ValueError(f"its {k}-wide window does not fit {n} positions with padding \"valid\"")
    return (n - k) // s + 1


def window(attrs: Attrs, shape: Shape) -> tuple[int, int]:
    """Output height and width of a window (conv or pool) over an image."""
    _, h, w = need(shape, "image")
    kh, kw = span_of(attrs, 0), span_of(attrs, 1)
    if attrs["padding"] != "same" and (kh > h or kw > w):
        raise ValueError(f'its {kh}x{kw} window does not fit the {h}x{w} image with padding "valid"')
    return window_axis(h, attrs, 0), window_axis(w, attrs, 1)


def pads(attrs: Attrs, sizes: tuple[int, ...]) -> tuple[tuple[int, int], ...]:
    """(before, after) padding per axis of a windowed layer; zeros for "valid". TF's
    SAME pads each axis on its own, so a 1x7 kernel pads 3 columns each side, no rows."""
    if attrs["padding"] != "same":
        return tuple((0, 0) for _ in sizes)
    return tuple(same_padding(n, span_of(attrs, i), along(attrs, "stride", i))[1:]
                 for i, n in enumerate(sizes))


# -- merges and residual joins --------------------------------------------------------------


def channel_axis(shape: Shape) -> int:
    """The axis `cat` joins and `slice` cuts: an image's (or a volume's) channels, a
    token's or a vector's features."""
    return len(shape) - 1 if layout(shape) in ("tokens", "vector") else 0


def merge_shape(kind: str, shapes: tuple[Shape, ...], span: Span | None) -> Shape:
    """The output of merging graph values: `add` and `mul` need one shape (`mul` also
    takes a per-channel gate, Cx1x1, to scale an image, as squeeze-excitation does);
    `cat` joins channels (an image's first axis, a token's or a vector's features)."""
    listed = ", ".join(shape_text(s) for s in shapes)
    if kind == "mul":
        full = {s for s in shapes if not _gate(s)} or set(shapes)
        if len(full) == 1 and all(s[0] == next(iter(full))[0] for s in shapes):
            return next(iter(full))
    if kind in ("add", "mul"):
        if len(set(shapes)) != 1:
            raise DarchError(
                f"`{kind}` needs inputs of one shape, got {listed}",
                span,
                help="make the branches agree in channels and size, e.g. with a 1x1 conv2d"
                + (" (a Cx1x1 gate scales a CxHxW image)" if kind == "mul" else ""),
            )
        return shapes[0]
    if kind == "cat":
        axis = channel_axis(shapes[0])
        rest = {(len(s), s[:axis] + s[axis + 1:]) for s in shapes}
        if len(rest) != 1:
            what = "features" if axis else "channels"
            raise DarchError(f"`cat` joins {what} and needs the other sizes equal, got {listed}", span)
        out = list(shapes[0])
        out[axis] = sum(s[axis] for s in shapes)
        return tuple(out)
    raise DarchError(f"unknown merge `{kind}`", span)


def _gate(shape: Shape) -> bool:
    return len(shape) == 3 and shape[1:] == (1, 1)


def join_layout(x: Shape, y: Shape, kind: str, span: Span | None
                ) -> tuple[tuple[int, ...], int, int, Shape]:
    """How a residual joins input `x` and body output `y`: the shortcut's stride, the
    zero channels added to each side (for "pad"), and the output shape.

    An image body may downsample by a whole stride s (n -> ceil(n / s), as a strided
    "same" convolution does); any other change of size is an error, as is a change of
    layout. Tokens must keep their number; features (channels) may change."""
    if len(x) != len(y) or layout(x) not in ("vector", "tokens", "image"):
        raise DarchError(
            f"cannot join a residual: its body turns {_words(x)} into {_words(y)}",
            span,
            help="a residual body must keep the layout (image to image, tokens to tokens, "
            "or vector to vector)",
        )
    if layout(x) == "tokens":
        if x[0] != y[0]:
            raise DarchError(
                f"cannot join a residual: its body turns {_words(x)} into {_words(y)}",
                span, help="a residual body over tokens must keep their number",
            )
        if kind == "pad":
            return (), max(y[1] - x[1], 0), max(x[1] - y[1], 0), (x[0], max(x[1], y[1]))
        return (), 0, 0, y
    stride = []
    for n, m in zip(x[1:], y[1:], strict=True):
        s = -(-n // m)
        if m > n or -(-n // s) != m:
            raise DarchError(
                f"cannot join a residual: its body turns {_words(x)} into {_words(y)}, "
                f"and {m} is not {n} downsampled by a whole stride",
                span,
                help='use padding: "same" inside the body so it keeps or divides the image size',
            )
        stride.append(s)
    strides = tuple(stride) if any(s != 1 for s in stride) else ()
    if kind == "pad":
        return strides, max(y[0] - x[0], 0), max(x[0] - y[0], 0), (max(x[0], y[0]), *y[1:])
    return strides, 0, 0, y


def crops(attrs: Attrs, in_shape: Shape, out_shape: Shape) -> bool:
    """Whether a layer (with its defaults filled in) crops its input: a "valid" window
    wider than one position that changes the spatial size. Inside a residual body that
    changes the size, such a layer is refused, since the body's pixels then do not line
    up with the strided shortcut's (a 3x3 "valid" conv takes 4x4 to 2x2, which only
    looks like stride 2); both the planner and the whole-space check ask this."""
    return (attrs.get("padding") == "valid" and "size" in attrs
            and max(span_of(attrs, 0), span_of(attrs, 1)) > 1 and in_shape[1:] != out_shape[1:])


def _words(shape: Shape) -> str:
    if layout(shape) == "vector":
        return f"{shape[0]} features"
    if layout(shape) == "tokens":
        return f"{shape[0]} tokens of {shape[1]}"
    return shape_text(shape)


# -- input shapes ---------------------------------------------------------------------------


def check_input_shape(shape: Any) -> Shape:
    """A tuple of positive ints (channels x height x width, tokens x features, or features)."""
    try:
        dims = tuple(shape)
    except TypeError:
        dims = ()
    if not dims or any(isinstance(d, bool) or not isinstance(d, int) or d < 1 for d in dims):
        raise DarchError(
            f"an input shape is a list of positive sizes, got {shape!r}",
            help="give channels x height x width (3x32x32), tokens x features (16x64) "
            "or a feature count (784)",
        )
    return dims


def parse_shape(text: str) -> Shape:
    """`3x32x32` (or `3,32,32`, `784`) as a shape tuple; a DarchError otherwise."""
    # one separator between sizes: `3xx32` or `3x32x` is a typo, not a 2-d shape
    cleaned = text.strip().lower()
    parts = re.split(r"\s*[x,]\s*|\s+", cleaned)
    if not all(re.fullmatch(r"-?[0-9]+", p) for p in parts):
        raise DarchError(
            f"cannot read the input shape `{text}`",
            help="write channels x height x width, for example 3x32x32, or a feature count",
        )
    dims = tuple(int(p) for p in parts)
    wrong = next((k for k, d in enumerate(dims) if d < 1), None)
    if wrong is not None:
        names = _DIMENSIONS.get(len(dims), ())
        name = f" ({names[wrong]})" if wrong < len(names) else ""
        raise DarchError(
            f"dimension {wrong + 1}{name} of the input shape `{text}` is {dims[wrong]}: "
            "every size must be at least 1",
            help="write positive sizes without the batch: channels x height x width (3x32x32), "
                 "tokens x features (16x64) or a feature count (784)",
        )
    return dims


_DIMENSIONS = {1: ("features",), 2: ("tokens", "features"), 3: ("channels", "height", "width"),
               4: ("channels", "depth", "height", "width")}
"""What each dimension of a shape of each rank is, in the order of `LAYOUTS`."""
