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

With `num_classes`, the network's output must be one score per class: a classifier
whose last layer has the wrong width would train for nothing and fail at its first
batch. `fixed_output_error` tells, before a search starts, when every architecture
it samples has the same wrong output (a constant like `param num_classes = 3`), so
the search refuses at once, at the layer's line, rather than candidate by candidate.
"""

from __future__ import annotations

import re
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


OUTPUT_SAMPLES = 16  # architectures drawn to tell a fixed wrong output before a search


def output_error(plan: Any, num_classes: int, dataset: str, class_param: Any = None
                 ) -> DarchError | None:
    """The error of a planned network that does not end in one score for each of the
    dataset's `num_classes` classes (None when it does), at the layer that makes the
    output; `class_param` is the program's `num_classes` param, when it has one (the
    help names it when it is the one that is wrong)."""
    from darchlang.layers.shapes import shape_text

    if tuple(plan.output_shape) == (num_classes,):
        return None
    last = next((s for s in reversed(plan.steps) if s.span is not None), None)
    fix = (f"set param num_classes = {num_classes}"
           if class_param is not None and class_param != num_classes else
           f"end the network with a layer of {num_classes} units, e.g. "
           f"affine(units: {num_classes})")
    return DarchError(
        f"the network's output is {shape_text(plan.output_shape)} per example; "
        f"`{dataset}` needs {num_classes}: one score for each of its classes",
        last.span if last is not None else None,
        help=f"the dataset has {num_classes} classes; {fix}")


@dataclass
class Preflight:
    """Says why a candidate cannot be trained (a one-line reason), or None when it can.

    With an `input_shape`, the architecture is planned for it and a shape that cannot
    work is the reason, located (`space.darch:4:5: `conv2d` cannot take ...`); the
    constraints `max_params` and `max_macs` are checked on its costs. `limits_for`
    gives one architecture's own constraints instead (the classifier reads them from
    its settings: the `train` block under the command line's flags), and a training
    setting it cannot read is a reason too. With `num_classes`, an output that is not
    one score per class of `dataset` is a reason (`class_param`: the program's
    `num_classes` param, for the help). Verdicts are kept by identity, so a searcher
    that proposes an invalid architecture again costs nothing.
    """

    input_shape: Shape | None
    max_params: int | None = None
    max_macs: int | None = None
    limits_for: Callable[[Architecture], Limits] | None = None
    env: Any = None
    num_classes: int | None = None
    dataset: str = "the dataset"
    class_param: Any = None
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
            wrong = self._output_error(plan)
            if wrong is not None:
                return located(wrong)
            if max_params is None and max_macs is None:
                return None
            costs = plan_costs(plan)
        except DarchError as err:
            return located(err)
        if max_params is not None and costs.params > max_params:
            return over("max_params", costs.params, max_params)
        if max_macs is not None and costs.macs > max_macs:
            return over("max_macs", costs.macs, max_macs)
        return None

    def _output_error(self, plan: Any) -> DarchError | None:
        if self.num_classes is None:
            return None
        return output_error(plan, self.num_classes, self.dataset, self.class_param)

    def fixed_output_error(self, space: Any, samples: int = OUTPUT_SAMPLES
                           ) -> DarchError | None:
        """The output error every one of `samples` drawn architectures has, when they
        all have the same one (the width is a constant, not a choice): a search would
        only find its candidates invalid one by one. None when any of them plans to
        the right output, or cannot be planned at all (that is a per-candidate
        reason)."""
        from darchlang.backends.torch.plan import plan_network

        if self.num_classes is None or self.input_shape is None:
            return None
        first: DarchError | None = None
        shapes = set()
        for seed in range(samples):
            arch = space.sample(seed)
            if arch.network is None:
                return None
            try:
                plan = plan_network(arch, self.input_shape, self.env, reserved=())
            except DarchError:
                return None
            wrong = self._output_error(plan)
            if wrong is None:
                return None
            shapes.add(tuple(plan.output_shape))
            first = first or wrong
        if first is not None and len(shapes) == 1 and samples > 1:
            first.notes.append(f"all {samples} architectures drawn from the space have it")
        return first if len(shapes) == 1 else None


_UNITS = {"max_params": "parameters", "max_macs": "multiply-adds per example"}
_OVER = re.compile(r"has ([\d,]+) (parameters|multiply-adds per example), over "
                   r"(max_params|max_macs) ([\d,]+)")


def over(constraint: str, value: int, limit: int) -> str:
    """The reason of a candidate over a constraint (`constraint_of` reads it back)."""
    return f"has {value:,} {_UNITS[constraint]}, over {constraint} {limit:,}"


def constraint_of(reason: str | None) -> tuple[str, int, int] | None:
    """(constraint, value, limit) of a reason `over` wrote; None for another reason."""
    found = _OVER.fullmatch(reason or "")
    if found is None:
        return None
    return found[3], int(found[1].replace(",", "")), int(found[4].replace(",", ""))


def located(err: DarchError) -> str:
    """`FILE:LINE:COL: message` of an error, on one line."""
    message = " ".join(err.message.split())
    return f"{err.span.where}: {message}" if err.span is not None else message
