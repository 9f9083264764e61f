"""The initializers, written so their source can be copied into standalone exports.

Compiled models call these functions, and `emit_python` copies their source verbatim
into the file it writes, so a model built from the export with the same torch seed gets
exactly the compiled model's weights. Keep this module free of darchlang imports: it
must run with only torch (and `math`) available.

Fans follow the usual convention: a weight of shape (out, in, *kernel) has
fan_in = in * prod(kernel) and fan_out = out * prod(kernel).
"""

import math

from torch import nn


def kaiming_(layer: nn.Module, gain: float) -> nn.Module:
    """He init: weight ~ Normal(0, std = gain * sqrt(2 / fan_in)); bias zero."""
    weight = layer.weight
    fan_in = weight.shape[1] * weight[0, 0].numel()
    nn.init.normal_(weight, 0.0, gain * math.sqrt(2.0 / fan_in))
    if getattr(layer, "bias", None) is not None:
        nn.init.zeros_(layer.bias)
    return layer


def xavier_(layer: nn.Module, gain: float) -> nn.Module:
    """Glorot init: weight ~ Uniform(-a, a), a = gain * sqrt(6 / (fan_in + fan_out)); bias zero."""
    weight = layer.weight
    receptive = weight[0, 0].numel()
    fan_in, fan_out = weight.shape[1] * receptive, weight.shape[0] * receptive
    bound = gain * math.sqrt(6.0 / (fan_in + fan_out))
    nn.init.uniform_(weight, -bound, bound)
    if getattr(layer, "bias", None) is not None:
        nn.init.zeros_(layer.bias)
    return layer


def invsqrt_gaussian_(layer: nn.Module, gain: float) -> nn.Module:
    """Scaled Gaussian: weight ~ Normal(0, std = gain * sqrt(1 / fan_in)); bias zero."""
    weight = layer.weight
    fan_in = weight.shape[1] * weight[0, 0].numel()
    nn.init.normal_(weight, 0.0, gain * math.sqrt(1.0 / fan_in))
    if getattr(layer, "bias", None) is not None:
        nn.init.zeros_(layer.bias)
    return layer


INITIALIZERS = {
    "kaiming": kaiming_,
    "xavier": xavier_,
    "invsqrt_gaussian": invsqrt_gaussian_,
}
