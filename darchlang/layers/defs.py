"""Typed, documented signatures for layer primitives.

A `LayerDef` is what darchlang knows about a layer apart from any backend: its
parameters (checked when a program is built, so a negative filter count is an error at
its `.darch` line), its docs, and its shape rule. Built-in layers are added to an
`Environment` through the same `add_layer` that plugins use.
"""

from __future__ import annotations

import functools
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from darchlang.arch.graph import Init
from darchlang.text import describe, format_value


class _Required:
    def __repr__(self) -> str:
        return "REQUIRED"


REQUIRED: Any = _Required()


class ParamType(ABC):
    """A parameter's type; `check` returns an error message or None."""

    name = "value"

    @abstractmethod
    def check(self, value: Any) -> str | None: ...

    def admits(self, kinds: frozenset[type], lo: Any, hi: Any) -> bool:
        """Whether `check` passes every value of these kinds (`int`, `float`, `bool`, ...)
        that lies within [lo, hi] when a number: how a value over many choices, known
        only by its bounds, is proved right (False: it cannot tell)."""
        return False


def whole_float_hint(value: Any) -> str:
    """For a float with no fraction where an integer is wanted (`w / 2` is 32.0, and so
    is `64 * 0.5`), how to get the integer."""
    if isinstance(value, float) and value.is_integer():
        return (" (a float: `/`, or a float anywhere in the expression, makes one; divide "
                "integers with `//`, or make it an integer with `round(...)` or `int(...)`)")
    return ""


@dataclass(frozen=True)
class Int(ParamType):
    min: int | None = None
    max: int | None = None

    @property
    def name(self) -> str:  # type: ignore[override]
        if self.min == 1:
            return "positive integer"
        if self.min == 0:
            return "non-negative integer"
        return "integer"

    def check(self, value: Any) -> str | None:
        if isinstance(value, bool) or not isinstance(value, int):
            return f"expected a {self.name}, got {describe(value)}{whole_float_hint(value)}"
        if self.min is not None and value < self.min:
            return f"expected a {self.name}, got {value}"
        if self.max is not None and value > self.max:
            return f"expected an integer at most {self.max}, got {value}"
        return None

    def admits(self, kinds: frozenset[type], lo: Any, hi: Any) -> bool:
        return kinds == {int} and (self.min is None or lo >= self.min) \
            and (self.max is None or hi <= self.max)


@dataclass(frozen=True)
class IntPair(ParamType):
    """A positive integer, or a pair `[h, w]` of them (a window's height and width):
    `[1, 7]` then `[7, 1]` is NASNet's and Inception's factorised 7x7. The value stays
    as written, so an architecture prints it back the same way."""

    name = "positive integer or a pair [h, w] of them"

    def check(self, value: Any) -> str | None:
        if isinstance(value, list):
            if len(value) == 2 and all(Int(min=1).check(v) is None for v in value):
                return None
            return f"expected a {self.name}, got {format_value(value)}"
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            got = describe(value) + whole_float_hint(value) if not isinstance(value, int) else value
            return f"expected a {self.name}, got {got}"
        return None

    def admits(self, kinds: frozenset[type], lo: Any, hi: Any) -> bool:
        return kinds == {int} and lo >= 1


@dataclass(frozen=True)
class Float(ParamType):
    min: float | None = None
    max: float | None = None
    min_open: bool = False

    @property
    def name(self) -> str:  # type: ignore[override]
        if self.min is not None and self.max is not None:
            left = "(" if self.min_open else "["
            return f"number in {left}{self.min}, {self.max}]"
        if self.min is not None:
            return "positive number" if self.min_open and self.min == 0 else f"number >= {self.min}"
        return "number"

    def check(self, value: Any) -> str | None:
        if isinstance(value, bool) or not isinstance(value, int | float):
            return f"expected a {self.name}, got {describe(value)}"
        low_bad = self.min is not None and (value <= self.min if self.min_open else value < self.min)
        high_bad = self.max is not None and value > self.max
        if low_bad or high_bad:
            return f"expected a {self.name}, got {value}"
        return None

    def admits(self, kinds: frozenset[type], lo: Any, hi: Any) -> bool:
        low_ok = self.min is None or (lo > self.min if self.min_open else lo >= self.min)
        return bool(kinds) and kinds <= {int, float} and low_ok \
            and (self.max is None or hi <= self.max)


@dataclass(frozen=True)
class Enum(ParamType):
    values: tuple[str, ...]

    @property
    def name(self) -> str:  # type: ignore[override]
        return " or ".join(f'"{v}"' for v in self.values)

    def check(self, value: Any) -> str | None:
        if value not in self.values:
            return f"expected {self.name}, got {describe(value)}"
        return None


@dataclass(frozen=True)
class Bool(ParamType):
    name = "boolean"

    def check(self, value: Any) -> str | None:
        return None if isinstance(value, bool) else f"expected true or false, got {describe(value)}"

    def admits(self, kinds: frozenset[type], lo: Any, hi: Any) -> bool:
        return kinds == {bool}


@dataclass(frozen=True)
class InitType(ParamType):
    name = "initializer (kaiming, xavier or invsqrt_gaussian)"

    def check(self, value: Any) -> str | None:
        if not isinstance(value, Init):
            return f"expected an initializer such as kaiming(1.0), got {describe(value)}"
        return None


@dataclass(frozen=True)
class Param:
    """One parameter of a layer. A `quiet` one is left out of an architecture's text
    when the program does not give it, so a parameter added to an existing layer keeps
    the text (and the identity) of every architecture written before it."""

    name: str
    type: ParamType
    default: Any = REQUIRED
    doc: str = ""
    quiet: bool = False


Shape = tuple[int, ...]


Formula = Callable[[dict[str, Any], Shape, Shape], int]


@dataclass(frozen=True)
class LayerDef:
    """A layer primitive apart from any backend: signature, docs, shape rule, costs.

    `shape(attrs, in_shape) -> out_shape` works on shapes without the batch dimension
    (see `darchlang.layers.shapes` for layouts) and raises `ValueError` with a plain
    sentence when the input cannot work. `param_count(attrs, in_shape, out_shape)` and
    `macs(...)` give the number of trainable parameters and of multiply-adds of one
    example (0 when absent), so sizes and costs are known without building anything.
    How a layer becomes code is the backend's business: the torch backend keeps a
    lowering per layer name (`env.add_lowering("torch", name, TorchLowering(...))`).
    """

    name: str
    params: tuple[Param, ...]
    doc: str
    shape: Callable[[dict[str, Any], Shape], Shape] | None = None
    param_count: Formula | None = None
    macs: Formula | None = None
    origin: str = "darchlang"

    @functools.cached_property
    def binding(self) -> tuple[tuple[str, ...], int]:
        """The parameter names, and how many arguments a call must give (those before the
        first default; none when a required one follows a default), for `bind`. Kept:
        a program calls its layers thousands of times."""
        names = tuple(p.name for p in self.params)
        required = sum(1 for p in self.params if p.default is REQUIRED)
        order_ok = all(p.default is REQUIRED for p in self.params[:required])
        return names, required if order_ok else 0

    @functools.cached_property
    def quiet_defaults(self) -> dict[str, Any]:
        """The quiet parameters and their defaults, which the printer leaves out while a
        layer has them. Kept: a search prints every layer of every candidate."""
        return {p.name: p.default for p in self.params if p.quiet}

    def param(self, name: str) -> Param | None:
        for p in self.params:
            if p.name == name:
                return p
        return None

    def signature(self) -> str:
        parts = []
        for p in self.params:
            if p.default is REQUIRED:
                parts.append(f"{p.name}: {p.type.name}")
            else:
                parts.append(f"{p.name} = {format_value(p.default)}")
        return f"{self.name}({', '.join(parts)})"
