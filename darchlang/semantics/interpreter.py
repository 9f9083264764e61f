"""AST to values: scopes, closures, calls, and the operators over choices.

Operators on plain values compute at once; on values that depend on choices they
build `Derived` nodes (dependent values, not new decisions). `if` on a plain boolean
evaluates one branch only, so recursion over numbers terminates; `if` on a choice
builds both branches into a `Cond` node.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from darchlang.arch.graph import CallSite, Init, Ref
from darchlang.errors import DarchError, DarchErrors, Related, Span, did_you_mean, raise_all
from darchlang.layers.defs import Bool
from darchlang.semantics import feasible, indexing
from darchlang.semantics.arithmetic import (
    LIMITS_HELP,
    OPERATORS,
    UNARY,
    Operation,
    compute,
    size,
    unholdable,
)
from darchlang.semantics.values import Arg, Builtin, Call, Closure, Namespace, Record, bind
from darchlang.space.nodes import (
    Choice,
    Cond,
    Const,
    Derived,
    Fail,
    GraphNode,
    LayerNode,
    ListNode,
    RepeatNode,
    ResidualNode,
    SeqNode,
    SNode,
)
from darchlang.syntax import ast
from darchlang.text import describe

if TYPE_CHECKING:
    from darchlang.environment import Environment
    from darchlang.semantics.tied import TieFrame

STEP_ITEMS = 25
"""Items of a list or string made (or compared) that cost one evaluation step."""


class Scope:
    """A chain of name tables; a lookup walks outwards."""

    __slots__ = ("names", "parent", "pending", "__weakref__")

    def __init__(self, parent: Scope | None = None):
        self.names: dict[str, Any] = {}
        self.pending: dict[str, Span] = {}
        self.parent = parent

    def lookup(self, name: str) -> Any:
        scope: Scope | None = self
        while scope is not None:
            if name in scope.names:
                return scope.names[name]
            scope = scope.parent
        raise KeyError(name)

    def visible(self) -> set[str]:
        out: set[str] = set()
        scope: Scope | None = self
        while scope is not None:
            out.update(scope.names)
            scope = scope.parent
        return out


_SPACES = frozenset((LayerNode, SeqNode, ResidualNode, RepeatNode, GraphNode))


def is_space(value: Any) -> bool:
    """True for sub-spaces of layers (as opposed to values such as numbers)."""
    t = type(value)
    if t in _SPACES:
        return True
    if t is Choice:  # a failing option is either kind: the others tell
        for option in value.options:
            if type(option) is not Fail:
                return is_space(option)
        return False
    if t is Cond:
        return is_space(value.orelse if type(value.then) is Fail else value.then)
    return False


class Interpreter:
    """Evaluates AST nodes; one instance per program load (it counts built nodes)."""

    def __init__(self, env: Environment):
        self.env = env
        self.limits = env.limits
        self.depth = 0
        self.nodes = 0
        self.steps = 0
        self.extents: dict[int, tuple[SNode, tuple[int, bool]]] = {}
        self.call_stack: list[str] = []
        self.trace: tuple[CallSite, ...] = ()
        """The darchlang function calls being evaluated, outermost first: each layer
        made keeps the trace of its making (`LayerNode.trace`, `arch.Layer.trace`)."""
        self.main_source: str | None = None
        from darchlang.semantics.graphs import GraphSupport

        self.graphs = GraphSupport(self)
        self.site: Span | None = None
        self.alternatives = 0
        """How deep evaluation is inside options of a choice or branches of an `if` over
        one, where `fail(...)` is an error only for the architectures that take it."""
        self.tie: TieFrame | None = None
        """The call of a `tied` function under way, whose choices its other calls share."""
        self.guards: tuple[tuple[SNode, bool], ...] = ()
        """The `if`s over choices around what is being evaluated (each condition and the
        branch taken), outermost first: a value over choices is checked only for the
        combinations they allow (`feasible`)."""
        self.values_made = 0
        """Values over choices made so far (`Derived`, `Cond`): one a function returns
        that was made during its call is labelled with the call (`made_by`)."""
        self.options_checked: dict[tuple[int, int], tuple[SNode, Any]] = {}
        """(choice, parameter type) pairs whose every option is known to be right."""
        self.checks = feasible.Checks()
        """The work spent checking values over choices, and their bounds."""

    # ---- building nodes with a size guard --------------------------------------------
    def where(self, span: Span | None) -> Span | None:
        """Where a node made now should point: the user's call into a library, or `span`."""
        return self.site or span

    def made(self, span: Span | None, n: int = 1) -> None:
        self.nodes += n
        if self.nodes > self.limits.nodes:
            raise self.too_large(span)

    def too_large(self, span: Span | None) -> DarchError:
        return DarchError(
            f"the space is too large to build: more than {self.limits.nodes:,} nodes",
            span,
            help="lower the largest repeat count, or use repeat_tied so copies share one body",
        )

    def spend(self, steps: int, span: Span | None) -> None:
        """Count work done; past `limits.steps` the program is stopped where it is."""
        self.steps += steps
        if self.steps > self.limits.steps:
            raise DarchError(
                f"the program does too much work: more than {self.limits.steps:,} steps",
                span,
                help="each expression evaluated, option of a choice and item of a `concat` is "
                "a step, and a function that calls itself twice per call doubles them; "
                + LIMITS_HELP,
            )

    def admit(self, value: Any, span: Span | None) -> Any:
        """A list or string made now: refused past `limits.value_size`, its making counted."""
        made = size(value, self.limits.value_size)
        if made > self.limits.value_size:
            kind = "string" if isinstance(value, str) else "list"
            raise DarchError(f"a {kind} of over {self.limits.value_size:,} items", span,
                             help=LIMITS_HELP)
        self.spend(made // STEP_ITEMS, span)
        return value

    def given(self, value: Any, span: Span | None, what: str) -> Any:
        """A value handed in from Python (a define): a boolean, a number darchlang can
        hold, a string or a list of those, within the limits; anything else is an error."""
        if isinstance(value, list):
            for item in value:
                self.given(item, span, what)
            return self.admit(value, span)
        if isinstance(value, str):
            return self.admit(value, span)
        if not isinstance(value, bool | int | float):
            raise DarchError(f"{what} must be a number, a string, a boolean or a list, "
                             f"got {describe(value)}", span)
        problem = unholdable(value, self.limits)
        if problem:
            raise DarchError(f"{what} is {problem}", span, help=LIMITS_HELP)
        return value

    def extent(self, node: SNode) -> tuple[int, bool]:
        """An upper bound on the size of the values a value node can take, and whether
        they may be lists or strings: what computing over it at sample time can cost."""
        t = type(node)
        if t is Derived and isinstance(node.fn, Operation):
            return node.fn.extent
        known = self.extents.get(id(node))
        if known is not None:
            return known[1]
        if t is Const:
            v = node.value
            out = (size(v, self.limits.value_size), isinstance(v, list | str))
        elif t is Choice or t is Cond:
            parts = [self.extent(o) for o in (node.options if t is Choice else (node.then, node.orelse))]
            out = (max(b for b, _ in parts), any(q for _, q in parts))
        elif t is ListNode:
            out = (min(sum(self.extent(i)[0] for i in node.items), self.limits.value_size), True)
        else:
            out = (1, False)
        self.extents[id(node)] = (node, out)  # holding the node keeps its id unique
        return out

    def to_node(self, value: Any, span: Span | None, what: str) -> SNode:
        """A value as a space node; functions and records are not values a space can hold."""
        if isinstance(value, SNode):
            return value
        if type(value) in _ATOMS or isinstance(value, _ATOMS):
            return Const(value)
        if isinstance(value, list):
            if any(isinstance(v, SNode) for v in value):
                return ListNode(tuple(self.to_node(v, span, what) for v in value))
            return Const(value)
        if isinstance(value, Closure | Builtin):
            raise DarchError(
                f"{what} cannot be a function (`{value.name}`)",
                span,
                help=f"call it: `{value.name}(...)`",
            )
        raise DarchError(f"{what} cannot be {describe(value)}", span)

    # ---- expressions ------------------------------------------------------------------
    def eval(self, node: ast.Node, scope: Scope) -> Any:
        self.steps += 1
        if self.steps > self.limits.steps:
            self.spend(0, getattr(node, "span", None))
        method = _EVAL.get(type(node))
        if method is None:
            raise DarchError(f"cannot evaluate {type(node).__name__}", getattr(node, "span", None))
        return method(self, node, scope)

    def _number(self, node: ast.Number, scope: Scope) -> Any:
        value = node.value
        if type(value) is int and value.bit_length() <= self.limits.int_bits:
            return value  # the common case, without the call of `unholdable`
        problem = unholdable(value, self.limits)
        if problem:
            raise DarchError(f"this number is {problem}", node.span, help=LIMITS_HELP)
        return node.value

    def _string(self, node: ast.String, scope: Scope) -> Any:
        return self.admit(node.value, node.span)

    def _bool(self, node: ast.Bool, scope: Scope) -> Any:
        return node.value

    def _name(self, node: ast.Name, scope: Scope) -> Any:
        name, inner = node.id, scope
        while inner is not None:  # `Scope.lookup`, inline: most nodes evaluated are names
            names = inner.names
            if name in names:
                return names[name]
            inner = inner.parent
        raise self.unknown_name(name, node.span, scope)

    def unknown_name(self, name: str, span: Span | None, scope: Scope) -> DarchError:
        root = scope
        while root.parent is not None and name not in root.pending:
            root = root.parent
        if name in root.pending:
            later = root.pending[name]
            return DarchError(
                f"`{name}` is used before it is defined",
                span,
                help=f"`{name}` is bound later, at line {later.line}; move this after it",
            )
        return DarchError(
            f"unknown name `{name}`",
            span,
            help=_PYTHON_WORDS.get(name) or did_you_mean(name, scope.visible())
            or "not defined here, in an import or in the standard library",
        )

    def _list(self, node: ast.ListExpr, scope: Scope) -> Any:
        """A list's items; each is evaluated even when one before it fails, so that
        independent mistakes (a `concat` of several bad layers) are reported together,
        unless a limit tripped: then nothing more is worth evaluating."""
        items, errors = [], []
        for item in node.items:
            try:
                items.append(self.eval(item, scope))
            except DarchError as err:
                if self.steps > self.limits.steps or self.nodes > self.limits.nodes:
                    raise
                errors.append(err)
        raise_all(errors)
        return self.admit(items, node.span)

    def _record(self, node: ast.Record, scope: Scope) -> Any:
        return Record({f.name: (self.eval(f.value, scope), f.span) for f in node.fields})

    def _binop(self, node: ast.BinOp, scope: Scope) -> Any:
        left = self.eval(node.left, scope)
        if node.op in ("and", "or") and not isinstance(left, SNode):
            if not isinstance(left, bool):
                raise DarchError(f"`{node.op}` needs true or false, got {describe(left)}", node.left.span)
            if (node.op == "and" and not left) or (node.op == "or" and left):
                return left
        right = self.eval(node.right, scope)
        return self.apply(OPERATORS[node.op], [left, right], node.op, node.span,
                          (node.left.span, node.right.span))

    def _unop(self, node: ast.UnaryOp, scope: Scope) -> Any:
        value = self.eval(node.operand, scope)
        return self.apply(UNARY[node.op], [value], node.op, node.span, (node.operand.span,))

    def apply(self, fn: Callable[..., Any], args: list[Any], label: str, span: Span | None,
              arg_spans: tuple = ()) -> Any:
        """Apply an operator now, or build a dependent value when an argument is a choice.

        Either way the operation goes through `arithmetic.compute`: now, or each time a
        walk computes the dependent value (its cost is counted now, from `extent`)."""
        spans = arg_spans or (span,) * len(args)
        if any(isinstance(a, SNode) for a in args):
            for a, s in zip(args, spans, strict=False):
                if isinstance(a, SNode) and is_space(a):
                    raise DarchError(f"`{label}` cannot be applied to layers", s)
            nodes = tuple(self.to_node(a, span, f"an operand of `{label}`") for a in args)
            parts = [self.extent(n) for n in nodes]
            seq = any(q for _, q in parts) and label in ("+", "*", "min", "max")
            cap = self.limits.value_size
            bound = (min(sum(b for b, _ in parts), cap) if label == "+" else
                     cap if label == "*" else max(b for b, _ in parts)) if seq else 1
            self.spend((sum(b for b, _ in parts) + bound) // STEP_ITEMS, span)
            self.made(span)
            derived = Derived(Operation(fn, label, span, self.limits, (bound, seq)), nodes, label,
                              span)
            self.values_made += 1
            derived.born = self.values_made
            return derived
        for a, s in zip(args, spans, strict=False):
            if isinstance(a, Closure | Builtin):
                raise DarchError(f"`{label}` cannot be applied to a function", s,
                                 help=f"call it: `{a.name}(...)`")
        result = compute(fn, args, label, span, self.limits)
        if isinstance(result, list | str):
            self.admit(result, span)
        elif any(isinstance(a, list | str) for a in args):  # comparing lists
            self.spend(sum(len(a) for a in args if isinstance(a, list | str)) // STEP_ITEMS, span)
        return result

    def _if(self, node: ast.If, scope: Scope) -> Any:
        cond = self.eval(node.cond, scope)
        if isinstance(cond, SNode):
            if is_space(cond):
                raise DarchError("an `if` condition cannot be a layer", node.cond.span)
            feasible.check_type(self, cond, _CONDITION, node.cond.span, "an `if` condition")
            self.alternatives += 1
            outer = self.guards
            try:
                self.guards = (*outer, (cond, True))
                then = self.eval(node.then, scope)
                self.guards = (*outer, (cond, False))
                orelse = self.eval(node.orelse, scope)
            finally:
                self.alternatives -= 1
                self.guards = outer
            if Fail not in (type(then), type(orelse)) and is_space(then) != is_space(orelse):
                raise DarchError("both branches of an `if` over a choice must be layers, "
                                 "or both values", node.span)
            self.made(node.span)
            made = Cond(cond, self.to_node(then, node.then.span, "a branch"),
                        self.to_node(orelse, node.orelse.span, "a branch"), node.span)
            self.values_made += 1
            made.born = self.values_made
            return made
        if not isinstance(cond, bool):
            raise DarchError(f"an `if` condition must be true or false, got {describe(cond)}",
                             node.cond.span)
        return self.eval(node.then if cond else node.orelse, scope)

    def _let(self, node: ast.Let, scope: Scope) -> Any:
        inner = Scope(scope)
        for b in node.bindings:
            if b.name in inner.names:
                raise DarchError(f"`{b.name}` is bound twice in this `let`", b.span)
            inner.names[b.name] = self.eval(b.value, inner)
        return self.eval(node.body, inner)

    def _attribute(self, node: ast.Attribute, scope: Scope) -> Any:
        namespace = self.eval(node.value, scope)
        if isinstance(namespace, dict):
            return indexing.field(namespace, node)
        if not isinstance(namespace, Namespace):
            raise DarchError(f"{describe(namespace)} has no fields to read with `.`",
                             node.dot_span or node.name_span,
                             help='`.` reads a field of a record (`{ k: 3 }`) or a name from a '
                             'file imported with `import "file" as name`')
        try:
            return namespace.names[node.name]
        except KeyError:
            raise DarchError(f"`{namespace.alias}` ({namespace.origin}) has no `{node.name}`",
                             node.name_span, help=did_you_mean(node.name, namespace.names)) from None

    def _index(self, node: ast.Index, scope: Scope) -> Any:
        xs = self.eval(node.value, scope)
        if isinstance(xs, Closure | Builtin):  # `concat[a]`, written without a space
            arg = ast.Arg(None, ast.ListExpr([node.index], span=node.bracket_span),
                          node.bracket_span)
            return self._call(ast.Call(node.value, [arg], "list", node.span), scope, xs)
        return indexing.item(self, xs, self.eval(node.index, scope), node)

    def _graph(self, node: ast.Graph, scope: Scope) -> Any:
        return self.graphs.block(node, scope)

    def _call(self, node: ast.Call, scope: Scope, func: Any = None) -> Any:
        """`node` called; `func`, when given, is its callee evaluated already."""
        if func is None:
            func = self.eval(node.func, scope)
        if isinstance(func, Builtin):
            if not func.alternatives:
                return func.fn(Call(func.name, self._builtin_args(func, node, scope), node.span, self))
            self.alternatives += 1
            try:
                args = self._builtin_args(func, node, scope)
            finally:
                self.alternatives -= 1
            return func.fn(Call(func.name, args, node.span, self))
        if isinstance(func, Closure):
            args = [Arg(a.name, self.eval(a.value, scope), a.value.span, None, a.span)
                    for a in node.args]
            return self.call_closure(func, args, node.span)
        if is_space(func):
            args = [Arg(a.name, self.eval(a.value, scope), a.value.span, None, a.span)
                    for a in node.args]
            return self.graphs.apply(func, args, node.span)
        raise DarchError(f"{describe(func)} is not a function", node.func.span,
                         help="only functions and layers can be called")

    def _builtin_args(self, func: Builtin, node: ast.Call, scope: Scope) -> list[Arg]:
        """A builtin's arguments, evaluated in order; lazy ones as thunks."""
        if not func.lazy:
            return [Arg(a.name, self.eval(a.value, scope), a.value.span, None, a.span)
                    for a in node.args]
        args = []
        position = 0
        for a in node.args:
            param = a.name if a.name is not None else (
                func.params[position] if position < len(func.params) else None)
            if a.name is None:
                position += 1
            if param in func.lazy:
                args.append(Arg(a.name, None, a.span, _thunk(self, a.value, scope), a.span))
            else:
                args.append(Arg(a.name, self.eval(a.value, scope), a.value.span, None, a.span))
        return args

    def call_closure(self, func: Closure, args: list[Arg], span: Span | None) -> Any:
        defn = func.defn
        params = tuple(p.name for p in defn.params)
        required = 0
        for p in defn.params:
            if p.default is None:
                required += 1
            else:
                break
        bound = bind(Call(defn.name, args, span, self), params, required)
        if self.depth >= self.limits.call_depth:
            raise DarchError(
                f"recursion too deep: `{defn.name}` was called {self.limits.call_depth} times "
                "without returning",
                span,
                help="make sure a recursive function reaches a case that does not call itself",
                notes=[f"calls: {' -> '.join(self.call_stack[-4:])} -> ..."],
            )
        local = Scope(func.scope)
        for p in defn.params:
            if p.name in bound:
                local.names[p.name] = bound[p.name].value
            elif p.default is not None:
                local.names[p.name] = self.eval(p.default, local)
            else:
                raise DarchError(f"`{defn.name}` is missing its argument `{p.name}`", span)
        self.depth += 1
        self.call_stack.append(defn.name)
        outer_trace = self.trace
        if span is not None:
            self.trace = (*outer_trace, CallSite(defn.name, span))
        outer_site = self.site
        entered = outer_site is None and defn.span is not None \
            and defn.span.source.name != self.main_source
        if entered:
            self.site = span
        made_before = self.values_made
        try:
            result = self.eval(defn.body, local)
            # a library's function (another file's: the prelude's `make_divisible`) made
            # this value: `show` writes the call, not the library's body
            if type(result) in _VALUES_OVER_CHOICES and result.born > made_before \
                    and result.made_by is None and defn.span is not None \
                    and defn.span.source.name != self.main_source:
                result.made_by = (defn.name, tuple((a.name, a.value) for a in args))
            return result
        except DarchError as err:
            if entered and span is not None:
                raise _at_call(err, defn.name, span, self.main_source) from None
            raise
        finally:
            self.depth -= 1
            self.call_stack.pop()
            self.trace = outer_trace
            self.site = outer_site


def _at_call(err: DarchError, function: str, call: Span, main: str | None) -> DarchError:
    """An error raised inside a library's function (or another file's), at the program's
    call into it, with the library's line as a related place: the user sees their own
    line first. Errors already in the program (an argument's) stay where they are."""
    def moved(e: DarchError) -> DarchError:
        if e.span is None or e.span.source.name == main:
            return e
        return dataclasses.replace(
            e, span=call, related=[Related(e.span, f"the error is here, in `{function}`"),
                                   *e.related])

    if isinstance(err, DarchErrors):
        return DarchErrors([moved(e) for e in err.errors])
    return moved(err)


# Python's spellings of darchlang's words, which no did-you-mean over names can offer
_PYTHON_WORDS = {
    "True": "darchlang writes booleans in lower case: `true`",
    "False": "darchlang writes booleans in lower case: `false`",
    "None": "darchlang has no None: leave the argument out to get its default",
}

_ATOMS = (bool, int, float, str, Init, Ref)  # values a Const holds as they are
_VALUES_OVER_CHOICES = (Derived, Cond)
_CONDITION = Bool()


def _thunk(interp: Interpreter, expr: ast.Node, scope: Scope) -> Callable[[], Any]:
    return lambda: interp.eval(expr, scope)


_EVAL: dict[type, Callable[[Interpreter, Any, Scope], Any]] = {
    ast.Number: Interpreter._number,
    ast.String: Interpreter._string,
    ast.Bool: Interpreter._bool,
    ast.Name: Interpreter._name,
    ast.ListExpr: Interpreter._list,
    ast.Record: Interpreter._record,
    ast.BinOp: Interpreter._binop,
    ast.UnaryOp: Interpreter._unop,
    ast.If: Interpreter._if,
    ast.Let: Interpreter._let,
    ast.Call: Interpreter._call,
    ast.Graph: Interpreter._graph,
    ast.Attribute: Interpreter._attribute,
    ast.Index: Interpreter._index,
}


