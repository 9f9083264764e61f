"""Layer primitives apart from any backend: typed signatures, docs and shape rules."""

from darchlang.layers.defs import (
    REQUIRED,
    Bool,
    Enum,
    Float,
    InitType,
    Int,
    LayerDef,
    Param,
)

__all__ = [
    "REQUIRED",
    "Bool",
    "Enum",
    "Float",
    "InitType",
    "Int",
    "LayerDef",
    "Param",
]
