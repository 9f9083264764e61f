"""The torch backend's shape rules as plain functions, for whole-space shape checking
(`darchlang.space.shapes`): the layers' own rules, plus what compiling with torch
needs (a lowering for every layer), planned by the compiler's own planner. Nothing
here imports torch."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from darchlang.backends.torch.lowering import BACKEND
from darchlang.environment import Environment, default_environment
from darchlang.errors import DarchError
from darchlang.layers.defs import REQUIRED
from darchlang.layers.shapes import Shape, crops, join_layout, merge_shape, shape_text
from darchlang.space.shapes import ShapeRules


def torch_shape_rules(env: Environment | None = None) -> ShapeRules:
    """Shape rules that hold exactly when `compile` (in `env`) would succeed."""
    env = env or default_environment()

    def layer(ldef: Any, attrs: dict[str, Any], shape: Shape) -> Shape:
        if ldef.shape is None or env.lowering(BACKEND, ldef.name) is None:
            raise ValueError(f"`{ldef.name}` has no PyTorch lowering")
        try:
            out = tuple(ldef.shape(_full(ldef, attrs), shape))
        except ValueError:
            raise
        except Exception as exc:  # a bug in a user's rule is a failure to report, not a crash
            raise ValueError(f"its shape rule raised {type(exc).__name__}: {exc}") from None
        if not out or any(d < 1 for d in out):
            raise ValueError(f"it would turn {shape_text(shape)} into an empty output")
        return out

    def plan(arch: Any, shape: Shape) -> Any:
        from darchlang.backends.torch.plan import plan_network

        return plan_network(arch, shape, env, reserved=())

    return ShapeRules(layer=layer, residual=_residual, merge=_merge, plan=plan,
                      crops=lambda ldef, attrs, x, y: crops(_full(ldef, attrs), x, y),
                      params=_params)


def _params(plan: Any) -> Iterator[tuple[str, int]]:
    """Each planned layer's path in the space and parameters, where its formula says
    (a tied repeat's copies each under the body's path)."""
    for step in plan.layer_steps():
        formula = step.ldef.param_count
        if formula is None:
            continue
        try:
            yield step.layer.path, int(formula(step.attrs, step.in_shape, step.out_shape))
        except (ArithmeticError, TypeError, ValueError, KeyError):
            continue


def _full(ldef: Any, attrs: dict[str, Any]) -> dict[str, Any]:
    """A layer's arguments with its defaults filled in, as the planner sees them."""
    return {p.name: attrs.get(p.name, p.default) for p in ldef.params
            if p.name in attrs or p.default is not REQUIRED}


def _residual(x: Shape, y: Shape, join: str) -> Shape:
    try:
        return join_layout(x, y, join, None)[3]
    except DarchError as err:
        raise ValueError(err.message) from None


def _merge(kind: str, shapes: list[Shape]) -> Shape:
    try:
        return merge_shape(kind, tuple(shapes), None)
    except DarchError as err:
        raise ValueError(err.message) from None
