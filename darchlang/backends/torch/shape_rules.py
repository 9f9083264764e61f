"""The torch backend's shape rules as plain functions, for whole-space shape checking
(`darchlang.space.shapes`); they are the same rules the compiler plans with."""

from __future__ import annotations

from typing import Any

from darchlang.errors import DarchError
from darchlang.layers.defs import REQUIRED
from darchlang.space.shapes import Shape, ShapeRules


def _layer(ldef: Any, attrs: dict[str, Any], shape: Shape) -> Shape:
    from darchlang.backends.torch.ops import shape_text

    if ldef.shape is None or (ldef.build is None and ldef.call is None):
        raise ValueError(f"`{ldef.name}` has no PyTorch implementation")
    full = {p.name: attrs.get(p.name, p.default) for p in ldef.params
            if p.name in attrs or p.default is not REQUIRED}
    try:
        out = tuple(ldef.shape(full, shape))
    except ValueError:
        raise
    except Exception as exc:  # a bug in a user's rule is a failure to report, not a crash
        raise ValueError(f"its shape rule raised {type(exc).__name__}: {exc}") from None
    if not out or any(d < 1 for d in out):
        raise ValueError(f"it would turn {shape_text(shape)} into an empty output")
    return out


def _residual(x: Shape, y: Shape, join: str) -> Shape:
    from darchlang.backends.torch.plan import join_layout

    try:
        return join_layout(x, y, join, None)[3]
    except DarchError as err:
        raise ValueError(err.message) from None


def _merge(kind: str, shapes: list[Shape]) -> Shape:
    from darchlang.backends.torch.plan import merge_shape

    try:
        return merge_shape(kind, tuple(shapes), None)
    except DarchError as err:
        raise ValueError(err.message) from None


def _plan(arch: Any, shape: Shape) -> Any:
    from darchlang.backends.torch.plan import plan_network

    return plan_network(arch, shape)


def torch_shape_rules() -> ShapeRules:
    return ShapeRules(layer=_layer, residual=_residual, merge=_merge, plan=_plan)
