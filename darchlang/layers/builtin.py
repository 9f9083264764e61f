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

from typing import TYPE_CHECKING

from darchlang.arch.graph import Init
from darchlang.layers.defs import (
    REQUIRED,
    Enum,
    Float,
    InitType,
    Int,
    LayerDef,
    Param,
)
from darchlang.layers.shapes import Attrs, Shape, features, need, window

if TYPE_CHECKING:
    from darchlang.environment import Environment

POSITIVE = Int(min=1)
PADDING = Enum(("same", "valid"))


# -- rules and formulas ---------------------------------------------------------------------


def same_shape(attrs: Attrs, shape: Shape) -> Shape:
    return shape


def conv2d_shape(attrs: Attrs, shape: Shape) -> Shape:
    return (attrs["filters"], *window(attrs, shape))


def conv2d_params(attrs: Attrs, shape: Shape, out: Shape) -> int:
    return shape[0] * attrs["filters"] * attrs["size"] ** 2 + attrs["filters"]


def conv2d_macs(attrs: Attrs, shape: Shape, out: Shape) -> int:
    return out[0] * out[1] * out[2] * shape[0] * attrs["size"] ** 2


def pool_shape(attrs: Attrs, shape: Shape) -> Shape:
    return (shape[0], *window(attrs, shape))


def affine_shape(attrs: Attrs, shape: Shape) -> Shape:
    return (attrs["units"],)


def affine_params(attrs: Attrs, shape: Shape, out: Shape) -> int:
    return (features(shape) + 1) * attrs["units"]


def affine_macs(attrs: Attrs, shape: Shape, out: Shape) -> int:
    return features(shape) * attrs["units"]


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


# -- the table ------------------------------------------------------------------------------


def _pool(name: str, what: str) -> LayerDef:
    return LayerDef(
        name,
        (
            Param("size", POSITIVE, 2, "window height and width"),
            Param("stride", POSITIVE, 2, "step between windows"),
            Param("padding", PADDING, "same", '"same" keeps ceil(n / stride); "valid" drops edges'),
        ),
        f"2-D {what} pooling over a square window.",
        shape=pool_shape,
    )


def _plain(name: str, doc: str) -> LayerDef:
    return LayerDef(name, (), doc, shape=same_shape)


def builtin_layers() -> list[LayerDef]:
    return [
        LayerDef(
            "conv2d",
            (
                Param("filters", POSITIVE, REQUIRED, "number of output channels"),
                Param("size", POSITIVE, REQUIRED, "kernel height and width"),
                Param("stride", POSITIVE, 1, "step of the kernel"),
                Param(
                    "padding",
                    PADDING,
                    "same",
                    '"same" pads as TensorFlow did (output ceil(n / stride)); "valid" pads nothing',
                ),
                Param("init", InitType(), Init("kaiming", 1.0), "weight initializer; biases start at zero"),
            ),
            "2-D convolution with a square kernel.",
            shape=conv2d_shape, param_count=conv2d_params, macs=conv2d_macs,
        ),
        _pool("max_pool2d", "max"),
        _pool("avg_pool2d", "average"),
        LayerDef(
            "affine",
            (
                Param("units", POSITIVE, REQUIRED, "number of outputs"),
                Param("init", InitType(), Init("xavier", 1.0), "weight initializer; biases start at zero"),
            ),
            "Fully connected layer; flattens its input first.",
            shape=affine_shape, param_count=affine_params, macs=affine_macs,
        ),
        LayerDef(
            "dropout",
            (Param("keep", Float(0.0, 1.0, min_open=True), REQUIRED, "probability of keeping a unit"),),
            "Dropout given by the keep probability, as in DeepArchitect (torch's p = 1 - keep).",
            shape=same_shape,
        ),
        _plain("relu", "Rectified linear unit."),
        _plain("gelu", "Gaussian error linear unit."),
        _plain("tanh", "Hyperbolic tangent."),
        _plain("sigmoid", "Logistic sigmoid."),
        _plain("identity", "Passes its input through unchanged."),
        _plain("zero", "Outputs zeros of its input's shape (a missing edge of a cell)."),
        LayerDef("flatten", (), "Flattens everything but the batch dimension.", shape=flatten_shape),
        LayerDef("global_avg_pool", (), "Averages each channel over height and width.",
                 shape=global_pool_shape),
        LayerDef("batch_norm", (), "Batch normalization over channels (features for vectors "
                 "and tokens).", shape=batch_norm_shape, param_count=norm_params),
        LayerDef("layer_norm", (), "Layer normalization over all but the batch dimension.",
                 shape=layer_norm_shape, param_count=norm_params),
    ]


def register_layers(env: Environment) -> None:
    """Add the built-in layers to `env`."""
    for layer in builtin_layers():
        env.add_layer(layer)
