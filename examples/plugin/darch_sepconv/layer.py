"""A depthwise-separable convolution as a darchlang layer primitive, and its torch lowering.

The `LayerDef` is backend-neutral (signature, shape rule, parameter count); how it
becomes torch code is the `TorchLowering`, added beside it by `register`.
"""

from __future__ import annotations

from darchlang.backends.torch.lowering import TorchLowering
from darchlang.extend import REQUIRED, Int, LayerDef, Param

POSITIVE = Int(min=1)


def sepconv_shape(attrs: dict, shape: tuple[int, ...]) -> tuple[int, ...]:
    """Channels become `filters`; height and width shrink by the stride ("same" padding)."""
    if len(shape) != 3:
        raise ValueError(f"it needs an image (channels x height x width), got {len(shape)} dims")
    if attrs["size"] % 2 == 0:
        raise ValueError(f"its kernel size must be odd, got {attrs['size']}")
    _, h, w = shape
    s = attrs["stride"]
    return (attrs["filters"], -(-h // s), -(-w // s))


def sepconv_params(attrs: dict, shape: tuple[int, ...], out: tuple[int, ...]) -> int:
    """Depthwise k x k weights and biases per channel, then the 1x1 pointwise conv."""
    c, k, f = shape[0], attrs["size"], attrs["filters"]
    return c * k * k + c + c * f + f


def sepconv_build(attrs: dict, shape: tuple[int, ...]):
    from torch import nn

    c, k = shape[0], attrs["size"]
    return nn.Sequential(
        nn.Conv2d(c, c, k, stride=attrs["stride"], padding=k // 2, groups=c),
        nn.Conv2d(c, attrs["filters"], 1),
    )


def sepconv_emit(attrs: dict, shape: tuple[int, ...]) -> str:
    c, k = shape[0], attrs["size"]
    return (f"nn.Sequential(nn.Conv2d({c}, {c}, {k}, stride={attrs['stride']}, "
            f"padding={k // 2}, groups={c}), nn.Conv2d({c}, {attrs['filters']}, 1))")


SEPCONV2D = LayerDef(
    "sepconv2d",
    (
        Param("filters", POSITIVE, REQUIRED, "number of output channels"),
        Param("size", POSITIVE, REQUIRED, "depthwise kernel size (odd)"),
        Param("stride", POSITIVE, 1, "step of the depthwise kernel"),
    ),
    "Depthwise-separable convolution: a per-channel conv, then a 1x1 conv.",
    shape=sepconv_shape,
    param_count=sepconv_params,
)

SEPCONV2D_TORCH = TorchLowering(build=sepconv_build, emit=sepconv_emit)
