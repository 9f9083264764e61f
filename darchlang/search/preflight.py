"""Preflight: whether a candidate can be trained at all, decided before it trains.

An architecture whose shapes cannot be planned for the input would fail the moment
it is built; one over a `max_params` or `max_macs` constraint must not train. Both
are known from the architecture and the input shape alone: the torch backend's
planner works on shapes without importing torch, and each layer definition carries
formulas for its trainable parameters and multiply-adds (`LayerDef.param_count`,
`LayerDef.macs`). A check costs well under a millisecond for small networks, so the
session runs it on every new candidate; a refused one is journaled `invalid` with
its reason, told to the searcher as a failure, and does not use the budget (see
`darchlang.search.session`).

    check = Preflight((1, 8, 8), max_params=10_000)
    check(arch)   # None, or "has 12,345 parameters, over max_params 10,000"
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from darchlang.arch.graph import Architecture
from darchlang.errors import DarchError
from darchlang.layers.shapes import features

Shape = tuple[int, ...]
Limits = tuple[int | None, int | None]  # (max_params, max_macs); None: no cap


@dataclass(frozen=True)
class Costs:
    """An architecture's size for one input shape: trainable parameters and
    multiply-adds per example, from the layers' formulas (a layer without a formula
    counts 0, so a plugin layer that has weights but no formula is not counted)."""

    params: int
    macs: int


def plan_costs(plan: Any) -> Costs:
    """The costs of a torch-free plan (`darchlang.backends.torch.plan.plan_network`):
    each layer's formulas, plus each residual's bias-free projection, when it has one
    (a 1x1 convolution, or a linear map, from the shortcut's channels to the body's)."""
    from darchlang.backends.torch.plan import JoinStep, LayerStep

    params = macs = 0
    for step in plan.steps:
        if isinstance(step, LayerStep):
            params += _formula(step, "param_count", "parameter formula")
            macs += _formula(step, "macs", "multiply-add formula")
        elif isinstance(step, JoinStep) and step.project is not None:
            x, y = step.in_shape, step.body_shape
            fan_in, fan_out = (x[-1], y[-1]) if len(x) == 2 else (x[0], y[0])
            params += fan_in * fan_out
            macs += features(y) * fan_in
    return Costs(params, macs)


def _formula(step: Any, which: str, what: str) -> int:
    """One layer's count by its definition's formula (0 without one); a formula that
    raises (a plugin's bug) is a `DarchError` at the layer, naming the formula."""
    from darchlang.backends.torch.plan import hook_error

    formula = getattr(step.ldef, which)
    if formula is None:
        return 0
    try:
        return int(formula(step.attrs, step.in_shape, step.out_shape))
    except Exception as exc:
        raise hook_error(step.ldef, what, exc, step.span) from None


def architecture_costs(arch: Architecture, input_shape: Shape, env: Any = None) -> Costs:
    """Plan `arch` for `input_shape` (no torch) and count its costs; a `DarchError` at
    the layer's line when its shapes cannot work."""
    from darchlang.backends.torch.plan import plan_network

    return plan_costs(plan_network(arch, input_shape, env, reserved=()))


@dataclass
class Preflight:
    """Says why a candidate cannot be trained (a one-line reason), or None when it can.

    With an `input_shape`, the architecture is planned for it and a shape that cannot
    work is the reason, located (`space.darch:4:5: `conv2d` cannot take ...`); the
    constraints `max_params` and `max_macs` are checked on its costs. `limits_for`
    gives one architecture's own constraints instead (the classifier reads them from
    its settings: the `train` block under the command line's flags), and a training
    setting it cannot read is a reason too. Verdicts are kept by identity, so a
    searcher that proposes an invalid architecture again costs nothing.
    """

    input_shape: Shape | None
    max_params: int | None = None
    max_macs: int | None = None
    limits_for: Callable[[Architecture], Limits] | None = None
    env: Any = None
    _verdicts: dict[str, str | None] = field(default_factory=dict, init=False, repr=False)

    def __call__(self, arch: Architecture) -> str | None:
        identity = arch.identity
        if identity not in self._verdicts:
            self._verdicts[identity] = self._check(arch)
        return self._verdicts[identity]

    def _check(self, arch: Architecture) -> str | None:
        from darchlang.backends.torch.plan import plan_network

        try:
            max_params, max_macs = (self.limits_for(arch) if self.limits_for is not None
                                    else (self.max_params, self.max_macs))
            if self.input_shape is None or arch.network is None:
                return None
            plan = plan_network(arch, self.input_shape, self.env, reserved=())
            if max_params is None and max_macs is None:
                return None
            costs = plan_costs(plan)
        except DarchError as err:
            return located(err)
        if max_params is not None and costs.params > max_params:
            return f"has {costs.params:,} parameters, over max_params {max_params:,}"
        if max_macs is not None and costs.macs > max_macs:
            return f"has {costs.macs:,} multiply-adds per example, over max_macs {max_macs:,}"
        return None


def located(err: DarchError) -> str:
    """`FILE:LINE:COL: message` of an error, on one line."""
    message = " ".join(err.message.split())
    return f"{err.span.where}: {message}" if err.span is not None else message
