"""The public API for extending darchlang from Python: layers, functions, evaluators,
searchers, datasets.

Built-in primitives are added through exactly these names, so a plugin's layer
is counted, sampled, shown, formatted, completed, compiled, shape-checked and exported
like a built-in one.

    from darchlang.extend import LayerDef, Param, Int, REQUIRED, default_environment

    env = default_environment().copy()          # one session only
    env.add_layer(LayerDef("swish", (), "x * sigmoid(x)", shape=...))
    program = darchlang.load_string(text, env=env)
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from darchlang.arch.graph import Init
from darchlang.environment import (
    Environment,
    PluginInfo,
    builtin_environment,
    default_environment,
)
from darchlang.errors import DarchError, Span
from darchlang.layers.defs import (
    REQUIRED,
    Bool,
    Enum,
    Float,
    InitType,
    Int,
    LayerDef,
    Param,
    ParamType,
)
from darchlang.semantics.interpreter import is_space
from darchlang.semantics.values import Arg, Call, bind
from darchlang.semantics.values import Builtin as Function
from darchlang.space.nodes import (
    Choice,
    Const,
    LayerNode,
    RepeatNode,
    ResidualNode,
    SeqNode,
    SNode,
)


def function(
    name: str,
    params: Iterable[str] = (),
    doc: str = "",
    lazy: Iterable[str] = (),
    variadic: bool = False,
) -> Callable[[Callable[[Call], Any]], Function]:
    """Make a Python function callable from programs (a function or a combinator).

    The decorated function receives a `Call` (its arguments with their spans, and the
    interpreter) and returns a value: a number, a list, or a sub-space built from the
    space nodes exported here. Parameters named in `lazy` arrive as thunks
    (`arg.thunk()` builds a fresh copy each time), as `repeat` uses them.
    """

    def wrap(fn: Callable[[Call], Any]) -> Function:
        return Function(name, fn, tuple(params), doc or (fn.__doc__ or "").strip(),
                        frozenset(lazy), variadic)

    return wrap


__all__ = [
    "REQUIRED", "Arg", "Bool", "Call", "Choice", "Const", "DarchError", "Enum", "Environment",
    "Float", "Function", "Init", "InitType", "Int", "LayerDef", "LayerNode", "Param", "ParamType",
    "PluginInfo", "RepeatNode", "ResidualNode", "SNode", "SeqNode", "Span", "bind",
    "builtin_environment", "default_environment", "function", "is_space", "layer",
]


def layer(call: Call, name: str, **params: Any) -> LayerNode:
    """A layer node made inside a Python function, checked as if the program called it."""
    from darchlang.semantics.builtins import make_layer

    ldef = call.interp.env.layers.get(name)
    if ldef is None:
        raise DarchError(f"unknown layer `{name}`", call.span)
    args = [Arg(k, v, call.span) for k, v in params.items()]
    return make_layer(ldef, Call(name, args, call.span, call.interp))
