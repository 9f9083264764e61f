"""The built-in layer vocabulary: DeepArchitect's layers plus what modern nets expect.

Each entry is added through the public `Environment.add_layer`, exactly as a plugin's
layers are. The shape rules, torch builders and export hooks live in
`darchlang.backends.torch.ops` (which imports torch only when a module is built) and are
attached here, so every environment that holds the built-ins can compile them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from darchlang.arch.graph import Init
from darchlang.backends.torch.ops import attach
from darchlang.layers.defs import (
    REQUIRED,
    Enum,
    Float,
    InitType,
    Int,
    LayerDef,
    Param,
)

if TYPE_CHECKING:
    from darchlang.environment import Environment

POSITIVE = Int(min=1)
PADDING = Enum(("same", "valid"))


def _pool(name: str, what: str) -> LayerDef:
    return LayerDef(
        name,
        (
            Param("size", POSITIVE, 2, "window height and width"),
            Param("stride", POSITIVE, 2, "step between windows"),
            Param("padding", PADDING, "same", '"same" keeps ceil(n / stride); "valid" drops edges'),
        ),
        f"2-D {what} pooling over a square window.",
    )


def _plain(name: str, doc: str) -> LayerDef:
    return LayerDef(name, (), doc)


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
        ),
        LayerDef(
            "dropout",
            (Param("keep", Float(0.0, 1.0, min_open=True), REQUIRED, "probability of keeping a unit"),),
            "Dropout given by the keep probability, as in DeepArchitect (torch's p = 1 - keep).",
        ),
        _plain("relu", "Rectified linear unit."),
        _plain("gelu", "Gaussian error linear unit."),
        _plain("tanh", "Hyperbolic tangent."),
        _plain("sigmoid", "Logistic sigmoid."),
        _plain("identity", "Passes its input through unchanged."),
        _plain("zero", "Outputs zeros of its input's shape (a missing edge of a cell)."),
        _plain("flatten", "Flattens everything but the batch dimension."),
        _plain("global_avg_pool", "Averages each channel over height and width."),
        _plain("batch_norm", "Batch normalization over channels (1-D or 2-D by input rank)."),
        _plain("layer_norm", "Layer normalization over all but the batch dimension."),
    ]


def register_layers(env: Environment) -> None:
    """Add the built-in layers to `env`."""
    for layer in builtin_layers():
        env.add_layer(attach(layer))
