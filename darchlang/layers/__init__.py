"""Layer primitives: one registration API shared by the built-ins and by plugins."""

from darchlang.layers.registry import (
    REQUIRED,
    Bool,
    Enum,
    Float,
    InitType,
    Int,
    LayerDef,
    Param,
    Registry,
    default_registry,
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
    "Registry",
    "default_registry",
]
