"""Operators and math functions over plain values, through one guarded door.

A result darchlang cannot afford (a string of billions of characters, an integer of
millions of digits) is refused *before* it is computed; one it cannot hold (a complex
number, infinity, an integer too long to print) is refused after. The interpreter
applies an operator on plain values with `compute` at once; a value derived from
choices holds an `Operation`, which runs the same `compute`, with the span of its
expression, when a walk picks the choices (sample, replay, print, search). So every
arithmetic path, eager or lazy, ends in a `FILE:LINE:COL` error, never a traceback.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable
from typing import Any

from darchlang.environment import Limits
from darchlang.errors import DarchError, Span
from darchlang.space.size import amount
from darchlang.text import describe

LIMITS_HELP = "the limits are listed in the language reference under \"Limits and errors\""


def _truth(v: Any) -> bool:
    if not isinstance(v, bool):
        raise TypeError(f"expected true or false, got {describe(v)}")
    return v


def _and(a: Any, b: Any) -> bool:
    return _truth(a) and _truth(b)


def _or(a: Any, b: Any) -> bool:
    return _truth(a) or _truth(b)


def _not(a: Any) -> bool:
    return not _truth(a)


NOT_A_NUMBER = "expected numbers: true and false are not numbers (write `if b then 1 else 0`)"


def no_booleans(fn: Callable[..., Any]) -> Callable[..., Any]:
    """`fn` refusing true and false (a TypeError): Python counts them as 1 and 0, so
    `true + 1` would be 2 and `max(true, 3)` 3, a slip darchlang reports instead."""

    def apply(*args: Any) -> Any:
        for a in args:
            if a.__class__ is bool:
                raise TypeError(NOT_A_NUMBER)
        return fn(*args)

    return apply


def _equal(a: Any, b: Any) -> bool:
    """`==`: a boolean equals only a boolean (`true == 1` is false, as 1 is no boolean)."""
    if (a.__class__ is bool) != (b.__class__ is bool):
        return False
    return a == b


def _unequal(a: Any, b: Any) -> bool:
    return not _equal(a, b)


OPERATORS: dict[str, Callable[..., Any]] = {
    "+": no_booleans(operator.add),
    "-": no_booleans(operator.sub),
    "*": no_booleans(operator.mul),
    "/": no_booleans(operator.truediv),
    "//": no_booleans(operator.floordiv),
    "%": no_booleans(operator.mod),
    "**": no_booleans(operator.pow),
    "==": _equal,
    "!=": _unequal,
    "<": no_booleans(operator.lt),
    "<=": no_booleans(operator.le),
    ">": no_booleans(operator.gt),
    ">=": no_booleans(operator.ge),
    "and": _and,
    "or": _or,
}
"""Each binary operator by its label."""

UNARY: dict[str, Callable[[Any], Any]] = {"-": no_booleans(operator.neg), "not": _not}


def _to_integer(fn: Callable[[float], int]) -> Callable[[Any], int]:
    """`fn` for a number (an integer is its own value), a TypeError for anything else:
    `round(true)` is not 1 in darchlang, as `true + 1` is not 2."""

    def apply(x: Any) -> int:
        if isinstance(x, bool) or not isinstance(x, int | float):
            raise TypeError(f"expected a number, got {describe(x)}")
        if isinstance(x, float) and not math.isfinite(x):
            raise ValueError("not a finite number")  # darchlang holds none; a guard
        return fn(x)

    return apply


TO_INTEGER: dict[str, tuple[Callable[[Any], int], str]] = {
    "round": (_to_integer(round), "The nearest integer; a half goes to the even one, as "
              "Python's round and NumPy's (round(2.5) is 2, round(3.5) is 4)."),
    "floor": (_to_integer(math.floor), "The largest integer not above x (floor(-1.5) is -2)."),
    "ceil": (_to_integer(math.ceil), "The smallest integer not below x (ceil(1.2) is 2)."),
    "int": (_to_integer(math.trunc), "x without its fraction, towards zero, as Python's "
            "int (int(-1.5) is -1)."),
}
"""Number to integer, by name, with its documentation: what makes a width from a
multiplier (`round(24 * m)`, `make_divisible` in the prelude). Each is applied through
`compute`, now or when a walk picks the choices it reads, like every math function."""


def size(value: Any, cap: int) -> int:
    """Items of a list (nested lists counted through) or characters of a string, 1 for
    anything else; counting stops once past `cap`, so it costs at most `cap` steps."""
    if isinstance(value, str):
        return max(1, len(value))
    if not isinstance(value, list):
        return 1
    total = 0
    stack = [value]
    while stack and total <= cap:
        items = stack.pop()
        total += max(1, len(items))
        kinds = set(map(type, items))  # at C speed: most lists hold only numbers
        if list not in kinds and str not in kinds:
            continue
        for item in items:
            if isinstance(item, list):
                stack.append(item)
                total -= 1  # counted as the items inside it
            elif isinstance(item, str) and len(item) > 1:
                total += len(item) - 1
    return total


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _sized(like: list | str, made: int, limits: Limits) -> str:
    """`a string of 131,072 characters (over the limit of 100,000)`, or a list's items."""
    kind, unit = ("string", "characters") if isinstance(like, str) else ("list", "items")
    return f"a {kind} of {amount(made)} {unit} (over the limit of {limits.value_size:,})"


def _too_big(label: str, args: list[Any], limits: Limits) -> str | None:
    """What an operation would make that is over a limit, found before making it."""
    if len(args) != 2:
        return None
    a, b = args
    if label == "*":
        for seq, n in ((a, b), (b, a)):
            if isinstance(seq, list | str) and _is_int(n):
                made = size(seq, limits.value_size) * n
                if made > limits.value_size:
                    return f"`*` would make {_sized(seq, made, limits)}"
        if _is_int(a) and _is_int(b) and a and b \
                and a.bit_length() + b.bit_length() - 1 > limits.int_bits:
            return f"`*` would make an integer of over {limits.int_bits} bits"
    if label == "+" and isinstance(a, list | str) and type(a) is type(b):
        made = size(a, limits.value_size) + size(b, limits.value_size)
        if made > limits.value_size:
            return f"`+` would make {_sized(a, made, limits)}"
    if label == "**" and _is_int(a) and _is_int(b) and abs(a) > 1 and b > 0 \
            and (abs(a).bit_length() - 1) * b + 1 > limits.int_bits:
        return f"`**` would make an integer of over {limits.int_bits} bits"
    return None


def brief(value: Any) -> str:
    """`describe`, with the length of a long list."""
    if isinstance(value, list) and len(value) > 8:
        return f"a list of {len(value):,} items"
    return describe(value)


def unholdable(value: Any, limits: Limits) -> str | None:
    """Why a computed number is not a darchlang value (None when it is one)."""
    if isinstance(value, complex):
        return "a complex number"
    if isinstance(value, float) and not math.isfinite(value):
        return "a non-finite number"
    if _is_int(value) and value.bit_length() > limits.int_bits:
        return f"an integer of over {limits.int_bits} bits"
    return None


def compute(fn: Callable[..., Any], args: list[Any], label: str, span: Span | None,
            limits: Limits) -> Any:
    """`fn(*args)` for plain values, or a DarchError at `span` saying what went wrong."""
    too_big = _too_big(label, args, limits)
    if too_big:
        raise DarchError(too_big, span, help=LIMITS_HELP)
    try:
        result = fn(*args)
    except ZeroDivisionError:
        raise DarchError("division by zero", span) from None
    except OverflowError:
        raise DarchError(f"`{label}` gives a number too large for a float", span,
                         help="keep numbers below about 1.8e308") from None
    except ValueError:
        given = ", ".join(brief(a) for a in args)
        raise DarchError(f"`{label}` is not defined for {given}", span) from None
    except TypeError as exc:
        kinds = " and ".join(brief(a) for a in args)
        raise DarchError(f"`{label}` cannot be applied to {kinds}", span,
                         notes=[str(exc)] if str(exc).startswith("expected") else []) from None
    problem = unholdable(result, limits)
    if problem:
        given = " and ".join(brief(a) for a in args)
        raise DarchError(f"`{label}` of {given} gives {problem}", span,
                         help=_HELP.get(type(result)))
    return result


_HELP = {complex: "a negative number to a fractional power has no real value",
         float: "keep numbers below about 1.8e308"}


class Operation:
    """An operator applied later, to the values a walk picks: what a `Derived` node
    computes. `extent` bounds the size of its result (see `Interpreter.extent`)."""

    __slots__ = ("fn", "label", "span", "limits", "extent")

    def __init__(self, fn: Callable[..., Any], label: str, span: Span | None, limits: Limits,
                 extent: tuple[int, bool]):
        self.fn, self.label, self.span, self.limits, self.extent = fn, label, span, limits, extent

    def __call__(self, *args: Any) -> Any:
        return compute(self.fn, list(args), self.label, self.span, self.limits)
