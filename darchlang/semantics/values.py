"""Runtime values of the interpreter besides numbers, strings, lists and space nodes."""

from __future__ import annotations

import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from darchlang.errors import DarchError, Span, did_you_mean
from darchlang.syntax import ast
from darchlang.text import describe

if TYPE_CHECKING:
    from darchlang.semantics.interpreter import Interpreter, Scope


@dataclass
class Closure:
    """A `def`: its parameters, body and the scope it was defined in.

    A module's scope holds its functions and each function its scope: a reference
    cycle, which only Python's cyclic collector frees, so every loaded program would
    stay in memory until a collection, and the collection's pass over it lands inside
    some later, unrelated piece of work. Once loading ends the `Program` owns its
    modules' scopes and `loosen` makes each function's link to its scope weak: a program
    no longer used is freed at once, by reference counting."""

    defn: ast.Def
    _scope: Scope | weakref.ref[Scope]
    type_label = "function"

    @property
    def name(self) -> str:
        return self.defn.name

    @property
    def scope(self) -> Scope:
        scope = self._scope
        if type(scope) is not weakref.ref:
            return scope  # type: ignore[return-value]
        held = scope()
        if held is None:
            raise DarchError(f"`{self.name}` belongs to a program that is no longer loaded",
                             self.defn.name_span or self.defn.span,
                             help="keep the `Program` its value came from while using it")
        return held

    def loosen(self) -> None:
        """Refer to the defining scope weakly: its owner (the program) keeps it."""
        if type(self._scope) is not weakref.ref:
            self._scope = weakref.ref(self._scope)


class Record(dict):
    """A record value, `{ k: 3 }`: each field's value with the span it is written at.
    Two records are equal when their fields' values are (where they are written is not
    part of the value)."""

    __slots__ = ()
    type_label = "record"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, dict):
            return NotImplemented
        return self.keys() == other.keys() and all(self[k][0] == other[k][0] for k in self)

    def __ne__(self, other: object) -> bool:
        equal = self.__eq__(other)
        return equal if equal is NotImplemented else not equal

    __hash__ = None  # type: ignore[assignment]


@dataclass
class Namespace:
    """The public names of a file imported `as` an alias: `darts.cell` is `cell` there."""

    alias: str
    origin: str
    names: dict[str, Any]
    type_label = "namespace"


@dataclass(slots=True)
class Arg:
    """An evaluated call argument; `thunk` is set instead of `value` for lazy parameters."""

    name: str | None
    value: Any
    span: Span | None
    thunk: Callable[[], Any] | None = None
    written: Span | None = None
    """The whole argument as written (`filters: 16`), where `span` is its value's."""

    @property
    def name_span(self) -> Span | None:
        """Where its name is written (`filters` in `filters: 16`): what a mistake in the
        name points at; the value's place when the name's is not known."""
        w = self.written
        if w is None or self.name is None:
            return self.span
        return Span(w.source, w.line, w.col, w.line, w.col + len(self.name))


def _no_parameter_help(name: str, call: Call, params: tuple[str, ...]) -> str:
    """What to write instead of an argument `call` has no parameter for: the spelling
    meant, or for an activation (Keras' `activation="relu"`) a layer after it."""
    if name.casefold() in ("activation", "act", "activation_fn"):
        for param in params:  # a function's own `act`
            if len(param) >= 3 and name.casefold().startswith(param.casefold()):
                return f"did you mean `{param}`?"
        return (f"`{call.name}` takes no activation: follow it with one in a `concat`, as in "
                f"`concat [{call.name}(...), relu()]`")
    return did_you_mean(name, params) or (
        f"its parameters are: {', '.join(params)}" if params else f"`{call.name}` takes no arguments")


@dataclass(slots=True)
class Call:
    """Everything a builtin needs to check its arguments and report errors in place."""

    name: str
    args: list[Arg]
    span: Span | None
    interp: Interpreter


@dataclass
class Builtin:
    """A primitive written in Python; `lazy` parameters arrive unevaluated (as thunks)."""

    name: str
    fn: Callable[[Call], Any]
    params: tuple[str, ...]
    doc: str = ""
    lazy: frozenset[str] = field(default_factory=frozenset)
    variadic: bool = False
    alternatives: bool = False  # its arguments are options, of which one is taken
    origin: str = "darchlang"
    type_label = "function"


def bind(call: Call, params: tuple[str, ...], required: int, variadic: bool = False) -> dict[str, Arg]:
    """Match positional and keyword arguments to parameter names, with clear errors.

    With `variadic`, extra positional arguments are collected under `*`.
    """
    bound: dict[str, Arg] = {}
    extra: list[Arg] = []
    position = 0
    for arg in call.args:
        if arg.name is None:
            if position < len(params) and not (variadic and position >= required):
                bound[params[position]] = arg
                position += 1
            elif variadic:
                extra.append(arg)
            else:
                given = len([a for a in call.args if a.name is None])
                most = (f"takes at most {len(params)} argument{'s' if len(params) != 1 else ''}"
                        if params else "takes no arguments")
                raise DarchError(
                    f"`{call.name}` {most}, got {given}",
                    arg.span,
                    help=f"signature: {call.name}({', '.join(params)})",
                )
        else:
            if arg.name not in params:
                raise DarchError(
                    f"`{call.name}` has no parameter `{arg.name}`",
                    arg.name_span,
                    help=_no_parameter_help(arg.name, call, params),
                )
            if arg.name in bound:
                raise DarchError(f"argument `{arg.name}` is given twice", arg.name_span)
            bound[arg.name] = arg
    for name in params[:required]:
        if name not in bound:
            raise DarchError(
                f"`{call.name}` is missing its argument `{name}`",
                call.span,
                help=f"signature: {call.name}({', '.join(params)})",
            )
    if variadic:
        bound["*"] = Arg("*", extra, call.span)
    return bound


def expect_number(arg: Arg, what: str) -> float:
    v = arg.value
    if isinstance(v, bool) or not isinstance(v, int | float):
        raise DarchError(f"{what} must be a number, got {describe(v)}", arg.span)
    return v


def expect_int(arg: Arg, what: str) -> int:
    v = arg.value
    if isinstance(v, bool) or not isinstance(v, int):
        raise DarchError(f"{what} must be an integer, got {describe(v)}", arg.span)
    return v

