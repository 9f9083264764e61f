"""Primitives written in Python: layers, choices, combinators, initializers and math.

Everything here is reached by name from programs; `base_scope(env)` builds the
outermost scope, so an environment with extra layers gives a program extra primitives.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from darchlang.arch.graph import Init
from darchlang.errors import DarchError, Related, Span
from darchlang.layers.defs import (
    REQUIRED,
    Float,
    InitType,
    LayerDef,
    ParamType,
)
from darchlang.semantics import feasible, indexing
from darchlang.semantics.arithmetic import LIMITS_HELP, TO_INTEGER, brief, no_booleans
from darchlang.semantics.interpreter import Scope, is_space
from darchlang.semantics.tied import share, tied
from darchlang.semantics.values import Arg, Builtin, Call, bind, expect_int, expect_number
from darchlang.space.nodes import (
    Choice,
    Cond,
    Const,
    Derived,
    Fail,
    InitNode,
    LayerNode,
    ListNode,
    RecordNode,
    RepeatNode,
    ResidualNode,
    SeqNode,
    SNode,
)
from darchlang.space.size import amount
from darchlang.text import describe

if TYPE_CHECKING:
    from darchlang.environment import Environment
    from darchlang.semantics.interpreter import Interpreter

GAIN = Float(0.0, None, min_open=True)
INIT_KINDS = ("kaiming", "xavier", "invsqrt_gaussian")


# ---- static checks of arguments that may be choices ------------------------------------
def check_static(interp: Interpreter, node: SNode, ptype: ParamType, span: Span | None,
                 what: str) -> None:
    """Check every value a parameter can take where it is used: a constant or a choice
    of constants option by option, anything computed from choices by `feasible`,
    under the `if`s that enclose it."""
    if type(node) is Const:
        problem = ptype.check(node.value)
        if problem:
            raise DarchError(f"{what}: {problem}", span)
    elif feasible.plain(node) and not _guarded(interp, node):
        key = (id(node), id(ptype))
        if key not in interp.options_checked:  # a choice used at many places: once
            _check_options(node, ptype, span, what)
            interp.options_checked[key] = (node, ptype)  # held: the ids stay theirs
    else:
        feasible.check_type(interp, node, ptype, span, what)


def _guarded(interp: Interpreter, node: SNode) -> bool:
    """Whether an `if` around the value decides a choice it reads (so some of its
    options may be excluded where it is used)."""
    return bool(node.vars) and any(pred.vars & node.vars for pred, _ in interp.guards)


def _check_options(node: SNode, ptype: ParamType, span: Span | None, what: str) -> None:
    t = type(node)
    if t is Const:
        problem = ptype.check(node.value)
        if problem:
            raise DarchError(f"{what}: {problem}", span)
    elif t is Choice:
        for i, option in enumerate(node.options):
            _check_options(option, ptype, span, f"{what} (option {i + 1} of the choice)")
    elif t is InitNode:
        if not isinstance(ptype, InitType):
            raise DarchError(f"{what}: {ptype.check(Init(node.kind, 1.0))}", span)


def possible_values(node: SNode, limit: int = 10_000) -> set:
    """Every value a value node may take (a superset when choices are shared); lists
    come as tuples. Combinations that cannot be computed are left out; when none can
    be, the first one's DarchError is raised."""
    return _possible(node, limit, {})


def _possible(node: SNode, limit: int, memo: dict[int, set]) -> set:
    """`possible_values`, each part computed once (`memo`, by node id): a value threaded
    through a recursion reads the previous one twice, and as a tree its parts would be
    computed a number of times exponential in the depth."""
    known = memo.get(id(node))
    if known is not None:
        return known
    t = type(node)
    if t is Const:
        out = {_frozen(node.value)}
    elif t is Choice:
        out = set()
        for o in node.options:
            out |= _possible(o, limit, memo)
    elif t is Cond:
        out = _possible(node.then, limit, memo) | _possible(node.orelse, limit, memo)
    elif t is Derived:
        pools = [sorted(_possible(a, limit, memo), key=repr) for a in node.args]
        if math.prod(len(p) for p in pools) > limit:
            raise ValueError("too many combinations")
        out = set()
        failed: DarchError | None = None
        for combo in itertools.product(*pools):
            try:
                out.add(_frozen(node.fn(*(_thawed(v) for v in combo))))
            except DarchError as err:
                failed = failed or err
            except (ArithmeticError, TypeError, ValueError):
                continue
        if not out and failed is not None:
            raise failed
    else:
        raise ValueError("not a value")
    memo[id(node)] = out
    return out


def _frozen(value: Any) -> Any:
    return tuple(_frozen(v) for v in value) if isinstance(value, list) else value


def _thawed(value: Any) -> Any:
    return [_thawed(v) for v in value] if isinstance(value, tuple) else value


# ---- layers ---------------------------------------------------------------------------
def make_layer(layer: LayerDef, call: Call) -> LayerNode:
    names, required = layer.binding
    bound = bind(call, names, required)
    params = []
    for p in layer.params:
        arg = bound.get(p.name)
        if arg is None:
            if p.default is REQUIRED:
                raise DarchError(f"`{layer.name}` is missing its argument `{p.name}`", call.span,
                                 help=f"signature: {layer.signature()}")
            params.append((p.name, Const(p.default)))
            continue
        what = f"argument `{p.name}` of `{layer.name}`"
        if is_space(arg.value):
            raise DarchError(f"{what} cannot be a layer", arg.span)
        node = call.interp.to_node(arg.value, arg.span, what)
        check_static(call.interp, node, p.type, arg.span, what)
        params.append((p.name, node))
    call.interp.made(call.span)
    return LayerNode(layer, tuple(params), call.interp.where(call.span), call.interp.trace)


# ---- choices and combinators ----------------------------------------------------------
def one_of(call: Call) -> Choice:
    options = [a for a in call.args if a.name is None]
    name = None
    weights_arg: Arg | None = None
    for a in call.args:
        if a.name is None:
            continue
        if a.name == "weights":
            weights_arg = a
            continue
        if a.name != "name":
            raise DarchError(f"`one_of` has no parameter `{a.name}`", a.span,
                             help="options are positional; the keywords are `name` and `weights`")
        if not isinstance(a.value, str) or not a.value:
            raise DarchError(f"a choice's name must be a non-empty string, got {describe(a.value)}",
                             a.span)
        name = a.value
    if len(options) == 1 and isinstance(options[0].value, list):
        options = [Arg(None, v, options[0].span) for v in options[0].value]
    elif len(options) == 1 and isinstance(options[0].value, ListNode):
        options = [Arg(None, v, options[0].span) for v in options[0].value.items]
    if not options:
        raise DarchError("`one_of` needs at least one option", call.span,
                         help="list the options, as in `one_of(32, 64)` or `one_of([3, 5])`")
    kinds = {is_space(o.value) for o in options if type(o.value) is not Fail}
    if len(kinds) > 1:
        raise DarchError("`one_of` mixes layers and plain values", call.span,
                         help="a choice picks either among sub-spaces or among values")
    call.interp.spend(len(options), call.span)  # each option is a node, checked where used
    nodes = tuple(call.interp.to_node(o.value, o.span, "a choice option") for o in options)
    weights = _weights(weights_arg, len(nodes)) if weights_arg is not None else None
    call.interp.made(call.span)
    return share(call, Choice(nodes, call.interp.where(call.span), name, weights, call.interp.trace))


def _weights(arg: Arg, n: int) -> tuple[float, ...]:
    """`weights: [...]` of a choice, checked and normalised to sum to 1 (einspace's
    probabilistic grammar): fixed, finite, non-negative numbers, one per option."""
    values = arg.value
    if not isinstance(values, list):
        raise DarchError(f"`weights` must be a list of numbers, got {describe(values)}", arg.span,
                         help="write one fixed number per option, as in `weights: [0.7, 0.3]`")
    if len(values) != n:
        raise DarchError(f"`weights` has {len(values)} number{'s' if len(values) != 1 else ''} "
                         f"for {n} option{'s' if n != 1 else ''}", arg.span,
                         help="give one weight per option, in the same order")
    floats = []
    for i, w in enumerate(values):
        if isinstance(w, bool) or not isinstance(w, int | float):
            raise DarchError(f"weight {i + 1} must be a fixed number, got {describe(w)}", arg.span,
                             help="weights cannot depend on choices")
        try:
            f = float(w)
        except OverflowError:
            f = math.inf
        if not math.isfinite(f) or f < 0:
            raise DarchError(f"weight {i + 1} must be a finite number >= 0, got {w}", arg.span)
        floats.append(f)
    top = max(floats)
    if top == 0:
        raise DarchError("the weights are all zero", arg.span,
                         help="give at least one option a positive weight")
    scaled = [f / top for f in floats]  # dividing by the largest first cannot overflow
    total = math.fsum(scaled)
    return tuple(f / total for f in scaled)


def fail(call: Call) -> Fail:
    """`fail(message)`: the program's own error, at the outermost call of the program's
    functions that reached it (so a library's check points at the user's line), the
    calls between and the `fail` itself as related places. Under a choice it is an
    option that errs only when an architecture takes it (`Fail`)."""
    arg = bind(call, ("message",), 1)["message"]
    message = arg.value
    if not isinstance(message, str) and not (isinstance(message, SNode) and not is_space(message)):
        raise DarchError(f"`fail` takes a message, got {describe(message)}", arg.span,
                         help='write `fail("what is wrong and what to write instead")`')
    trace = call.interp.trace
    span = trace[0].span if trace else call.span
    related = [Related(site.span, f"`{outer.function}` calls `{site.function}` here")
               for outer, site in zip(trace, trace[1:], strict=False)]
    if trace and call.span is not None:
        related.append(Related(call.span, f"`fail` is called here, in `{trace[-1].function}`"))
    if call.interp.alternatives or isinstance(message, SNode):
        call.interp.made(call.span)
        return Fail(call.interp.to_node(message, arg.span, "a message"), span, tuple(related))
    raise DarchError(message, span, related=related)


def _space_items(call: Call, fname: str) -> list[Arg]:
    items = [a for a in call.args if a.name is None]
    for a in call.args:
        if a.name is not None:
            raise DarchError(f"`{fname}` takes no keyword arguments", a.span)
    if len(items) == 1 and isinstance(items[0].value, list):
        items = [Arg(None, v, items[0].span) for v in items[0].value]
    for i, a in enumerate(items):
        if not is_space(a.value):
            raise DarchError(
                f"`{fname}` takes layers or sub-spaces; item {i + 1} is {describe(a.value)}",
                a.span,
                help=_callable_help(a.value),
            )
    return items


def _callable_help(value: Any) -> str | None:
    name = getattr(value, "name", None)
    if name and callable(getattr(value, "fn", None)) or type(value).__name__ == "Closure":
        return f"call it: `{name}()`"
    return None


def concat(call: Call) -> SeqNode:
    items = _space_items(call, "concat")
    call.interp.spend(len(items), call.span)  # every pass over the space visits each item
    call.interp.made(call.span)
    return SeqNode(tuple(a.value for a in items), call.span)


def residual(call: Call) -> ResidualNode:
    bound = bind(call, ("body", "join"), 1)
    body = bound["body"]
    if not is_space(body.value):
        raise DarchError(f"`residual` wraps layers; got {describe(body.value)}", body.span)
    join: SNode = Const("pad")
    if "join" in bound:
        j = bound["join"]
        join = call.interp.to_node(j.value, j.span, "`join`")
        from darchlang.layers.defs import Enum

        check_static(call.interp, join, Enum(("pad", "project")), j.span,
                     "argument `join` of `residual`")
    call.interp.made(call.span)
    return ResidualNode(body.value, join, call.span)


def _repeat(call: Call, tied: bool) -> RepeatNode:
    fname = "repeat_tied" if tied else "repeat"
    bound = bind(call, ("body", "times"), 2)
    times_arg = bound["times"]
    interp = call.interp
    times = interp.to_node(times_arg.value, times_arg.span, "a repeat count")
    if is_space(times):
        raise DarchError("a repeat count cannot be a layer", times_arg.span)
    counts = _counts(interp, times, times_arg.span)
    most = max(counts) if counts else 0
    if most > interp.limits.repeat:
        raise DarchError(f"a repeat count of {amount(most)} is over the limit of "
                         f"{interp.limits.repeat:,}", times_arg.span, help=LIMITS_HELP)
    thunk = bound["body"].thunk
    assert thunk is not None
    copies = []
    outer = interp.guards
    for k in range(1 if tied else most):
        before = interp.nodes
        if times.vars:  # copy k is built into an architecture only when the count is > k
            interp.guards = (*outer, feasible.copy_guard(times, k, times_arg.span))
        try:
            body = thunk()
        finally:
            interp.guards = outer
        if not is_space(body):
            raise DarchError(f"`{fname}` repeats layers; got {describe(body)}", bound["body"].span)
        copies.append(body)
        interp.made(call.span)
        if k == 0 and interp.nodes + (interp.nodes - before) * (most - 1) > interp.limits.nodes:
            raise interp.too_large(call.span)  # the other copies would pass the limit
    return RepeatNode(tuple(copies), times, tied, call.span)


def _counts(interp: Interpreter, times: SNode, span: Span | None) -> list:
    """The counts a repeat can take where it is used, each a non-negative integer."""
    def test(count: Any) -> None:
        if isinstance(count, bool) or not isinstance(count, int) or count < 0:
            raise DarchError(f"a repeat count must be a non-negative integer, got {brief(count)}",
                             span)

    if type(times) is Const:
        test(times.value)
        return [times.value]
    counts = feasible.values(interp, times, test, span, "a repeat count")
    if counts is not None:
        return counts
    try:  # too many combinations to try: every value of its parts, a superset
        counts = sorted(possible_values(times, interp.limits.combinations), key=repr)
    except ValueError:
        raise DarchError("cannot tell the largest value of this repeat count", span,
                         help="use a choice of integers, as in `one_of(1, 2, 4)`") from None
    for c in counts:
        test(_thawed(c))
    return counts


def repeat(call: Call) -> RepeatNode:
    return _repeat(call, tied=False)


def repeat_tied(call: Call) -> RepeatNode:
    return _repeat(call, tied=True)


def hyperparams(call: Call) -> RecordNode:
    if len(call.args) == 1 and call.args[0].name is None and isinstance(call.args[0].value, dict):
        fields = [(k, v, s) for k, (v, s) in call.args[0].value.items()]
    else:
        fields = []
        for a in call.args:
            if a.name is None:
                raise DarchError("`hyperparams` takes named settings", a.span,
                                 help='write `hyperparams { optimizer: "adam", batch_size: 64 }`')
            fields.append((a.name, a.value, a.span))
    out = []
    for name, value, span in fields:
        if is_space(value):
            raise DarchError(f"setting `{name}` cannot be a layer", span)
        out.append((name, call.interp.to_node(value, span, f"setting `{name}`")))
    call.interp.made(call.span)
    return RecordNode(tuple(out), call.span)


def _initializer(kind: str) -> Callable[[Call], Any]:
    def make(call: Call) -> Any:
        bound = bind(call, ("gain",), 0)
        arg = bound.get("gain")
        if arg is None:
            return Init(kind, 1.0)
        if isinstance(arg.value, SNode):
            if is_space(arg.value):
                raise DarchError("a gain cannot be a layer", arg.span)
            check_static(call.interp, arg.value, GAIN, arg.span, f"the gain of `{kind}`")
            return InitNode(kind, arg.value)
        problem = GAIN.check(arg.value)
        if problem:
            raise DarchError(f"the gain of `{kind}`: {problem}", arg.span)
        return Init(kind, float(arg.value))

    return make


# ---- math -------------------------------------------------------------------------------
def _numeric(fname: str, fn: Callable[[float], float]) -> Callable[[Call], Any]:
    def apply(call: Call) -> Any:
        bound = bind(call, ("x",), 1)
        arg = bound["x"]
        if not isinstance(arg.value, SNode):
            expect_number(arg, f"the argument of `{fname}`")
        return call.interp.apply(fn, [arg.value], fname, arg.span, (arg.span,))

    return apply


def _range(call: Call) -> list[int]:
    bound = bind(call, ("start", "stop", "step"), 1)
    a = expect_int(bound["start"], "`range` start")
    if "stop" in bound:
        start, stop = a, expect_int(bound["stop"], "`range` stop")
    else:
        start, stop = 0, a
    step = expect_int(bound["step"], "`range` step") if "step" in bound else 1
    if step == 0:
        raise DarchError("`range` step cannot be zero", bound["step"].span)
    # Python's len(range) overflows past 2**63; the arithmetic does not
    length = max(0, (stop - start + step - (1 if step > 0 else -1)) // step)
    most = call.interp.limits.value_size
    if length > most:
        raise DarchError(f"`range` gives more than {most:,} values", call.span)
    return call.interp.admit(list(range(start, stop, step)), call.span)


def _spaced(fname: str) -> Callable[[Call], Any]:
    """NumPy's `linspace`/`logspace`; numpy is imported only by programs that use them."""

    def make(call: Call) -> list[float]:
        import numpy as np

        bound = bind(call, ("start", "stop", "num"), 3)
        start = _float(bound["start"], f"`{fname}` start")
        stop = _float(bound["stop"], f"`{fname}` stop")
        num = expect_int(bound["num"], f"`{fname}` num")
        most = call.interp.limits.value_size
        if not 1 <= num <= most:
            raise DarchError(f"`{fname}` needs between 1 and {most:,} values, got {brief(num)}",
                             bound["num"].span)
        with np.errstate(all="ignore"):
            values = [float(v) for v in getattr(np, fname)(start, stop, num)]
        if not all(math.isfinite(v) for v in values):
            raise DarchError(f"`{fname}` gives a non-finite number", call.span,
                             help="keep the values within the range of a float (about 1.8e308)")
        return call.interp.admit(values, call.span)

    return make


def _float(arg: Arg, what: str) -> float:
    """A number as a float for NumPy; an integer beyond a float's range is an error."""
    x = expect_number(arg, what)
    try:
        return float(x)
    except OverflowError:
        raise DarchError(f"{what} is too large for a float", arg.span,
                         help="keep numbers below about 1.8e308") from None


def _extreme(fname: str, pick: Callable[..., Any]) -> Callable[[Call], Any]:
    extreme = no_booleans(lambda *v: pick(v))  # one function: `feasible` keys on it

    def apply(call: Call) -> Any:
        values = [a.value for a in call.args]
        if len(values) == 1 and isinstance(values[0], list):
            values = values[0]
        if not values:
            raise DarchError(f"`{fname}` needs at least one value", call.span)
        return call.interp.apply(extreme, list(values), fname, call.span)

    return apply


def register_functions(env: Environment) -> None:
    """The built-in functions and combinators, added like a plugin's."""
    entries = [
        Builtin("one_of", one_of, (), "Pick one of the options (values or sub-spaces); "
                "`name:` names the choice, `weights:` biases random sampling.", variadic=True,
                alternatives=True),
        Builtin("fail", fail, ("message",), "An error with this message where it is reached "
                "(under a choice: when an architecture takes that option)."),
        Builtin("concat", concat, (), "Apply sub-spaces one after the other.", variadic=True),
        Builtin("residual", residual, ("body", "join"),
                'Add the body\'s output to its input; join "pad" (zero-pad) or "project" (1x1 conv).'),
        Builtin("repeat", repeat, ("body", "times"),
                "Stack `times` copies of body, each with its own choices.", lazy=frozenset({"body"})),
        Builtin("repeat_tied", repeat_tied, ("body", "times"),
                "Stack `times` copies of body that share every choice.", lazy=frozenset({"body"})),
        Builtin("tied", tied, ("function", "name"), "A function whose calls all share the "
                "choices made in its body (one cell at every width); `name:` names them."),
        Builtin("hyperparams", hyperparams, (), "The evaluator's settings, fixed or chosen.",
                variadic=True),
        Builtin("range", _range, ("start", "stop", "step"), "Integers from start up to stop (excluded)."),
        Builtin("len", indexing.length, ("xs",), "The number of items of a list (or "
                "characters of a string)."),
        Builtin("linspace", _spaced("linspace"), ("start", "stop", "num"),
                "num evenly spaced numbers from start to stop (included)."),
        Builtin("logspace", _spaced("logspace"), ("start", "stop", "num"),
                "num numbers from 10**start to 10**stop, evenly spaced in log scale."),
        Builtin("log10", _numeric("log10", math.log10), ("x",), "Base-10 logarithm."),
        Builtin("sqrt", _numeric("sqrt", math.sqrt), ("x",), "Square root."),
        *(Builtin(name, _numeric(name, fn), ("x",), doc)
          for name, (fn, doc) in TO_INTEGER.items()),
        Builtin("min", _extreme("min", min), (), "The smallest value.", variadic=True),
        Builtin("max", _extreme("max", max), (), "The largest value.", variadic=True),
    ]
    graphs = [
        Builtin("add", lambda call: call.interp.graphs.merge("add", call), (),
                "Inside a graph block: the sum of graph values (shapes must match).", variadic=True),
        Builtin("mul", lambda call: call.interp.graphs.merge("mul", call), (),
                "Inside a graph block: the elementwise product of graph values (or a value "
                "scaled by a per-channel Cx1x1 gate).", variadic=True),
        Builtin("cat", lambda call: call.interp.graphs.merge("cat", call), (),
                "Inside a graph block: graph values joined along channels.", variadic=True),
        Builtin("choose", lambda call: call.interp.graphs.choose(call), (),
                "Inside a graph block: a choice of k of the given graph values.", variadic=True),
    ]
    entries.extend(graphs)
    for kind, doc in zip(INIT_KINDS, (
        "normal weights, std = gain * sqrt(2 / fan_in)",
        "uniform weights in +-gain * sqrt(6 / (fan_in + fan_out))",
        "normal weights, std = gain * sqrt(1 / fan_in)",
    ), strict=True):
        entries.append(Builtin(kind, _initializer(kind), ("gain",), f"Initializer: {doc}."))
    for b in entries:
        env.add_function(b)


def base_scope(env: Environment) -> Scope:
    """The outermost scope: the environment's functions and layers."""
    scope = Scope()
    scope.names.update(env.functions)
    for layer in env.layers.values():
        scope.names[layer.name] = Builtin(layer.name, _layer_builtin(layer),
                                          tuple(p.name for p in layer.params), layer.doc,
                                          origin=layer.origin)
    return scope


def _layer_builtin(layer: LayerDef) -> Callable[[Call], LayerNode]:
    return lambda call: make_layer(layer, call)


__all__ = ["base_scope", "make_layer", "possible_values"]
