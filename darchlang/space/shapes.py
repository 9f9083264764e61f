"""Whole-space shape checking: does every architecture of a space compile?

Small spaces are enumerated and every architecture is planned. Large ones are checked
by propagating *sets* of shapes through the space, one choice's options at a time: a
layer is checked for every input shape that can reach it and every value each of its
parameters can take. Shapes depend on few choices, so these sets stay small.

Each shape carries a *witness*: the options that led to it. The sets treat the uses
of a shared choice as if they were independent, so a failure may need one choice to
take two options at once; its witness then marks that choice as a conflict. Such a
failure is not trusted: the analysis runs again, conditioning on the conflicting
choices as counting does, where they are shared: at the lowest node whose parts
share one (for a `concat`, only the run of items from its first use to its last), the
node is analysed once per option with the choice fixed, and the results are joined.
Conditioning stays local, so independent parts of a network do not multiply, and it
repeats until a failure without conflicts is found or nothing fails. The result is
exact: a proof that every architecture compiles, or a concrete architecture that
does not, replayed and planned by the backend to confirm it.

A residual body may change the image size by striding alone: a "valid" window that
crops the image (a 3x3 "valid" conv takes 4x4 to 2x2) makes the same shape as stride 2
but its pixels do not line up with the shortcut's, so the planner refuses it. Shapes
alone cannot tell the two apart, so inside a residual each state also says whether a
layer since the body began cropped; a body that changes the shape after a crop fails.
In a graph block the flag flows with the values: every step of an architecture's block
reaches its output, so a crop anywhere in the block reaches it too.

In a graph block a step whose shapes break holds its failure instead of raising it,
since the input choices may leave the step unused: the failure counts only where it
reaches the block's output, and its witness then holds the input choices that put the
step in use.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from darchlang.arch.graph import Architecture, Init
from darchlang.environment import Limits
from darchlang.errors import DarchError, Span
from darchlang.space.nodes import (
    Choice,
    Cond,
    Const,
    Derived,
    Fail,
    GraphNode,
    InitNode,
    LayerNode,
    ListNode,
    RepeatNode,
    ResidualNode,
    SeqNode,
    SNode,
    ref_indices,
)
from darchlang.space.size import Largest, amount
from darchlang.space.space import Space
from darchlang.space.visitor import Visitor

Shape = tuple[int, ...]
Witness = dict[int, int]  # choice uid -> option index: one way to reach a state
# a state is (a shape, or a tuple of shapes for a block of several inputs; whether a
# layer cropped since the innermost residual body began) -> Witness
States = dict[tuple[Any, bool], Any]
CONFLICT = -1  # in a witness: the paths merged there took different options of this choice
ENUMERATE_UP_TO = 2000
MAX_COMBINATIONS = 20_000
# The work of one run before the check gives up (said, never a hang): each trips in
# half a second; the stdlib's spaces need at most 16,000 checks and 310,000 combinations.
MAX_CHECKS = 100_000  # layer checks
MAX_VALUES = 500_000  # combinations of argument values tried for values over choices


@dataclass
class ShapeRules:
    """The backend's shape rules, as plain functions (they raise ValueError)."""

    layer: Callable[[Any, dict[str, Any], Shape], Shape]
    residual: Callable[[Shape, Shape, str], Shape]
    merge: Callable[[str, list[Shape]], Shape]
    plan: Callable[[Architecture, Shape], Any]  # raises DarchError when shapes break
    crops: Callable[[Any, dict[str, Any], Shape, Shape], bool]  # a "valid" window that crops


@dataclass
class ShapeReport:
    """The outcome: proved for all, or a concrete failing architecture."""

    ok: bool
    method: str  # "enumerated" or "analysed"
    count: int
    checks: int = 0
    failure: DarchError | None = None
    architecture: Architecture | None = None
    spurious: bool = False  # no verdict: the analysis ran out of its budget
    notes: list[str] = field(default_factory=list)
    analyses: int = 1  # runs of the analysis: one, and one more per round of conditioning
    max_layers: int = 0  # layers of the largest architecture (an upper bound)
    max_params: int | None = None  # an upper bound of parameters, where layers know theirs

    def summary(self, input_text: str) -> str:
        if self.ok:
            one = self.count == 1
            if self.method == "enumerated":
                how = "it was planned" if one else "every one of them was planned"
            else:
                rounds = (f", {self.analyses} rounds conditioning on shared choices"
                          if self.analyses > 1 else "")
                how = (f"proved by shape analysis over each choice's options "
                       f"({_plural(self.checks, 'layer check')}{rounds}), without enumerating")
            every = "the one architecture compiles" if one else \
                f"all {self.count:,} architectures compile"
            return f"{every} for input {input_text}: {how}" + self.sizes()
        return "shape check failed"

    def sizes(self) -> str:
        """The second line of a proof: how large the largest architecture can be."""
        if self.max_params is None:
            return ""
        which = "it has" if self.count == 1 else "the largest has at most"
        return (f"\n{which} {_plural(self.max_layers, 'layer')} and "
                f"{_plural(self.max_params, 'parameter')}")


def _plural(n: int, noun: str) -> str:
    return f"{n:,} {noun}{'' if n == 1 else 's'}"


class _Failure(Exception):
    def __init__(self, message: str, span: Span | None, witness: Witness):
        super().__init__(message)
        self.message, self.span, self.witness = message, span, witness


def _merge(a: Witness, b: Witness) -> Witness:
    """Both witnesses in one; a choice they disagree on becomes a CONFLICT."""
    if not b or a is b:
        return a
    if not a:
        return b
    out = dict(a)
    for k, v in b.items():
        have = out.get(k)
        if have is None:
            out[k] = v
        elif have != v:
            out[k] = CONFLICT
    return out


def _keep(out: States, key: Any, w: Witness) -> None:
    """Record a way to reach `key`, preferring a witness without conflicts."""
    have = out.get(key)
    if have is None or (CONFLICT in have.values() and CONFLICT not in w.values()):
        out[key] = w


class _Values(Visitor):
    """Every value a value node can take, each with a witness (memoised per node)."""

    def __init__(self, fixed: Witness):
        self.fixed = fixed
        self.memo: dict[tuple, list[tuple[Any, Witness]]] = {}
        self.tried = 0  # combinations of argument values, against MAX_VALUES

    def key(self, node: SNode) -> tuple:
        """A memo key: the node and the fixed options of the choices inside it."""
        fixed = self.fixed
        if not fixed or node.vars.isdisjoint(fixed):
            return (id(node),)
        return (id(node), *sorted((u, fixed[u]) for u in node.vars.intersection(fixed)))

    def values(self, node: SNode) -> list[tuple[Any, Witness]]:
        key = self.key(node)
        got = self.memo.get(key)
        if got is None:
            got = self.visit(node)
            self.memo[key] = got
        return got

    def visit_Const(self, node: Const) -> list[tuple[Any, Witness]]:
        return [(node.value, {})]

    def visit_Choice(self, node: Choice) -> list[tuple[Any, Witness]]:
        out = []
        for i in _options(node, self.fixed):
            out.extend((v, _merge({node.uid: i}, w)) for v, w in self.values(node.options[i]))
        return out

    def visit_Derived(self, node: Derived) -> list[tuple[Any, Witness]]:
        out = []
        pools = [self.values(a) for a in node.args]
        self.tried += min(math.prod(len(p) for p in pools), MAX_COMBINATIONS)
        if self.tried > MAX_VALUES:
            raise _Budget
        for combo in _combinations(pools):
            try:
                out.append((node.fn(*[v for v, _ in combo]), _merge_all(combo)))
            except (ArithmeticError, TypeError, ValueError, DarchError):
                continue
        return _dedupe(out)

    def visit_Cond(self, node: Cond) -> list[tuple[Any, Witness]]:
        out = []
        for pred, pw in self.values(node.pred):
            branch = node.then if pred else node.orelse
            out.extend((v, _merge(pw, w)) for v, w in self.values(branch))
        return _dedupe(out)

    def visit_InitNode(self, node: InitNode) -> list[tuple[Any, Witness]]:
        return [(Init(node.kind, g), w) for g, w in self.values(node.gain)]

    def visit_ListNode(self, node: ListNode) -> list[tuple[Any, Witness]]:
        return [([v for v, _ in combo], _merge_all(combo))
                for combo in _combinations([self.values(a) for a in node.items])]

    def visit_Fail(self, node: Fail) -> list[tuple[Any, Witness]]:
        raise _Failure("`fail`", node.span, dict(self.fixed))  # the walk says the message

    def generic_visit(self, node: Any, *args: Any) -> Any:
        raise TypeError(f"not a value node: {type(node).__name__}")


def _options(node: Choice, fixed: Witness) -> range | tuple[int]:
    index = fixed.get(node.uid)
    return range(len(node.options)) if index is None else (index,)


def _combinations(pools: list[list[tuple[Any, Witness]]]):
    return itertools.islice(itertools.product(*pools), MAX_COMBINATIONS)


def _merge_all(combo) -> Witness:
    w: Witness = {}
    for _, cw in combo:
        w = _merge(w, cw)
    return w


def _dedupe(pairs: list[tuple[Any, Witness]]) -> list[tuple[Any, Witness]]:
    seen: dict[str, tuple[Any, Witness]] = {}
    for v, w in pairs:
        key = repr(v)
        have = seen.get(key)
        if have is None or (CONFLICT in have[1].values() and CONFLICT not in w.values()):
            seen[key] = (v, w)
    return list(seen.values())


class _Plan:
    """Where to condition on each choice of `uids`: the lowest nodes whose parts share
    it (a tied repeat shares its body between copies; the options of a choice, and the
    two branches of an `if`, exclude each other and share nothing). In a `concat` only
    the items from the first use to the last are conditioned on."""

    def __init__(self, root: SNode, uids: set[int]):
        self.at: dict[int, set[int]] = {}
        spans: dict[int, list[tuple[int, int, set[int]]]] = {}
        self.nodes: dict[int, SNode] = {}
        for u in sorted(uids):
            self._place(root, u, set(), spans)
        self.ranges: dict[int, list[tuple[int, int, frozenset[int]]]] = {}
        for key, found in spans.items():
            merged: list[tuple[int, int, set[int]]] = []
            for lo, hi, us in sorted(found):
                if merged and lo <= merged[-1][1]:
                    plo, phi, pus = merged[-1]
                    merged[-1] = (plo, max(phi, hi), pus | us)
                else:
                    merged.append((lo, hi, set(us)))
            self.ranges[key] = [(lo, hi, frozenset(us)) for lo, hi, us in merged]

    def _place(self, node: SNode, u: int, seen: set[int], spans) -> None:
        if id(node) in seen or u not in node.vars:
            return
        seen.add(id(node))
        t = type(node)
        if t is RepeatNode and node.tied:
            parts: tuple[SNode, ...] = (node.times, node.copies[0])
            shared = u in node.copies[0].vars or u in node.times.vars and u in parts[1].vars
        else:
            parts = node.parts()
            holders = [i for i, p in enumerate(parts) if u in p.vars]
            exclusive = t is Choice or (t is Cond and 0 not in holders)
            shared = len(holders) > 1 and not exclusive
        if not shared:
            for p in parts:
                self._place(p, u, seen, spans)
        elif t is SeqNode:
            holders = [i for i, p in enumerate(node.items) if u in p.vars]
            spans.setdefault(id(node), []).append((holders[0], holders[-1], {u}))
        else:
            self.at.setdefault(id(node), set()).add(u)


class _Budget(Exception):
    """The analysis has done as many checks as it may."""


class _Analysis(Visitor):
    """One run over the sub-spaces: input states in, output states out. Where the
    plan says so, a node is run once per option of its conditioned choices."""

    def __init__(self, rules: ShapeRules, plan: _Plan, choices: dict[int, Any]):
        self.rules = rules
        self.plan = plan
        self.choices = choices
        self.vals = _Values({})
        self.values = self.vals.values
        self.checks = 0
        self.params: dict[int, int] = {}  # id of a layer -> its most parameters seen
        self.combos: dict[tuple, list[tuple[dict[str, Any], Witness]]] = {}
        self.results: dict[tuple, Any] = {}  # a layer rule's (output shape, crops), or its error
        self.inside = 0  # residual bodies around the node being run: crops count only there
        self.memo: dict[tuple, States] = {}  # see run_one

    @property
    def fixed(self) -> Witness:
        return self.vals.fixed

    def count_params(self, node: LayerNode, attrs: dict[str, Any], shape: Shape,
                     out: Shape) -> None:
        """Keep the most parameters `node` has for any input shape and arguments seen."""
        formula = node.layer.param_count
        if formula is None:
            return
        try:
            n = int(formula(attrs, shape, out))
        except (ArithmeticError, TypeError, ValueError, KeyError):
            return
        if n > self.params.get(id(node), -1):
            self.params[id(node)] = n

    def check(self) -> None:
        self.checks += 1
        if self.checks > MAX_CHECKS:
            raise _Budget

    def run(self, node: SNode, states: States) -> States:
        if type(node) in _MEMOISED:
            out: States = {}
            for key, w in states.items():
                for s, sw in self.run_one(node, key, w).items():
                    _keep(out, s, sw)
            return out
        return self.unmemoised(node, states)

    def unmemoised(self, node: SNode, states: States) -> States:
        uids = self.plan.at.get(id(node))
        if uids:
            return self.conditioned(uids, lambda: self.visit(node, states))
        return self.visit(node, states)

    def run_one(self, node: SNode, key: Any, w: Witness) -> States:
        """A composite node from one input state, remembered: what it gives from that
        state (with the choices it fixes) is the same wherever it is used, so a cell
        applied to the same shapes again, or a part that conditioning runs again under
        options it does not depend on, is looked up. What is remembered is the node's
        own witness; the input's is merged in afterwards (merging is associative), and
        a failure inside carries both."""
        memo = (self.vals.key(node), key, self.inside > 0)
        got = self.memo.get(memo)
        if got is None:
            try:
                got = self.unmemoised(node, {key: {}})
            except _Failure as fail:
                raise _Failure(fail.message, fail.span, _merge(w, fail.witness)) from None
            self.memo[memo] = got
        if not w:
            return got
        return {s: _merge(w, sw) for s, sw in got.items()}

    def conditioned(self, uids: Any, fn: Callable[[], States]) -> States:
        """The union of `fn()` over every combination of options of `uids`."""
        free = [u for u in sorted(uids) if u not in self.vals.fixed]
        if not free:
            return fn()
        saved = self.vals.fixed
        out: States = {}
        try:
            for combo in itertools.product(*[range(len(self.choices[u].options)) for u in free]):
                self.vals.fixed = {**saved, **dict(zip(free, combo, strict=True))}
                for s, w in fn().items():
                    _keep(out, s, w)
        finally:
            self.vals.fixed = saved
        return out

    def generic_visit(self, node: Any, *args: Any) -> Any:
        raise TypeError(f"not a sub-space: {type(node).__name__}")

    def visit_Fail(self, node: Fail, states: States) -> States:
        """An architecture that takes a `fail(...)` does not compile: the walk that
        concretises the failure raises the program's own error."""
        raise _Failure("`fail`", node.span, next(iter(states.values()), {}))

    def visit_SeqNode(self, node: SeqNode, states: States) -> States:
        items = node.items
        i = 0
        for lo, hi, uids in self.plan.ranges.get(id(node), ()):
            for item in items[i:lo]:
                states = self.run(item, states)
            states = self.conditioned(uids, lambda s=states, lo=lo, hi=hi: self.items(
                items[lo:hi + 1], s))
            i = hi + 1
        return self.items(items[i:], states)

    def items(self, items: tuple[SNode, ...], states: States) -> States:
        for item in items:
            states = self.run(item, states)
        return states

    def visit_Choice(self, node: Choice, states: States) -> States:
        out: States = {}
        for i in _options(node, self.fixed):
            tagged = {s: _merge(w, {node.uid: i}) for s, w in states.items()}
            for s, w in self.run(node.options[i], tagged).items():
                _keep(out, s, w)
        return out

    def visit_Cond(self, node: Cond, states: States) -> States:
        out: States = {}
        for pred, pw in self.values(node.pred):
            branch = node.then if pred else node.orelse
            tagged = {s: _merge(w, pw) for s, w in states.items()}
            for s, w in self.run(branch, tagged).items():
                _keep(out, s, w)
        return out

    def visit_LayerNode(self, node: LayerNode, states: States) -> States:
        """Each input shape with each combination of argument values; a rule's result
        is kept per (layer, fixed options, shape, combination), since conditioning
        runs the same layers again and again."""
        key = self.vals.key(node)
        combos = self.combos.get(key)
        if combos is None:
            names = [n for n, _ in node.params]
            combos = [({n: v for n, (v, _) in zip(names, combo, strict=True)}, _merge_all(combo))
                      for combo in _combinations([self.values(p) for _, p in node.params])]
            self.combos[key] = combos
        out: States = {}
        inside = self.inside > 0
        for (shape, cropped), w in states.items():
            if shape and isinstance(shape[0], tuple):
                raise _Failure(f"`{node.layer.name}` takes one input, got {len(shape)}",
                               node.span, w)
            for i, (attrs, pw) in enumerate(combos):
                cw = _merge(w, pw)
                self.check()
                result = self.results.get((key, shape, i))
                if result is None:
                    try:
                        got = tuple(self.rules.layer(node.layer, attrs, shape))
                        self.count_params(node, attrs, shape, got)
                        result = [got, None]  # whether it crops: asked inside residuals only
                    except ValueError as exc:
                        result = f"`{node.layer.name}`: {exc}"
                    self.results[(key, shape, i)] = result
                if type(result) is str:
                    raise _Failure(result, node.span, cw)
                if inside and result[1] is None:
                    result[1] = self.rules.crops(node.layer, attrs, shape, result[0])
                _keep(out, (result[0], cropped or (inside and result[1])), cw)
        return out

    def visit_ResidualNode(self, node: ResidualNode, states: States) -> States:
        out: States = {}
        joins = self.values(node.join)
        for (shape, cropped), w in states.items():
            self.inside += 1
            try:
                body = self.run(node.body, {(shape, False): w})
            finally:
                self.inside -= 1
            for (body_shape, body_cropped), bw in body.items():
                for join, jw in joins:
                    self.check()
                    cw = _merge(bw, jw)
                    try:
                        result = self.rules.residual(shape, body_shape, join)
                    except ValueError as exc:
                        raise _Failure(str(exc), node.span, cw) from None
                    if body_cropped and body_shape != shape:
                        raise _Failure("cannot join a residual: a \"valid\" window in its body "
                                       "crops the image", node.span, cw)
                    _keep(out, (result, (cropped or body_cropped) and self.inside > 0), cw)
        return out

    def visit_RepeatNode(self, node: RepeatNode, states: States) -> States:
        """Copies are run once, in order, and the states after each count a repeat can
        take are gathered; a tied body that maps the shapes onto themselves is a fixed
        point, after which more copies change nothing."""
        out: States = {}
        current, done, still = states, 0, False
        for times, tw in sorted(self.values(node.times), key=lambda p: p[0]):
            try:
                while done < times and not still:
                    body = node.copies[0] if node.tied else node.copies[done]
                    after = self.run(body, current)
                    still = node.tied and after.keys() == current.keys()
                    current, done = after, done + 1
            except _Failure as fail:
                raise _Failure(fail.message, fail.span, _merge(fail.witness, tw)) from None
            for s, w in current.items():
                _keep(out, s, _merge(w, tw))
        return out

    def visit_GraphNode(self, node: GraphNode, states: States) -> States:
        """Each input state runs through the block on its own, so that values made from
        one input are never combined with values made from another."""
        out: States = {}
        for key, w in states.items():
            for s, sw in self.graph(node, key, w).items():
                _keep(out, s, sw)
        return out

    def graph(self, node: GraphNode, key: Any, w: Witness) -> States:
        """Each value of the block gets its set of shapes; a step whose shapes break
        holds its failure (as `_BROKEN`) until it reaches the output."""
        n = len(node.inputs)
        shape, cropped = key
        if n == 1:
            values: list[States] = [{key: w}]
        elif len(shape) == n and all(isinstance(k, tuple) for k in shape):
            values = [{(k, cropped): w} for k in shape]
        else:
            raise _Failure(f"a graph with {n} inputs cannot take one input", node.span, w)
        for st in node.steps:
            result: States = {}
            args = [[(ref_indices(v), aw) for v, aw in self.values(a)] for a in st.args]
            for combo in itertools.product(*args):
                idx = [i for ids, _ in combo for i in ids]
                aw = _merge_all(combo)
                for shapes in itertools.product(*[list(values[i].items()) for i in idx]):
                    sw = aw
                    for s, vw in shapes:
                        sw = _merge(sw, vw.witness if s is _BROKEN else vw)
                    try:
                        broken = [vw for s, vw in shapes if s is _BROKEN]
                        if broken:
                            raise _Failure(broken[0].message, broken[0].span, sw)
                        self.step(st, [s for s, _ in shapes], sw, result)
                    except _Failure as fail:
                        have = result.get(_BROKEN)
                        if have is None or (CONFLICT in have.witness.values()
                                            and CONFLICT not in fail.witness.values()):
                            result[_BROKEN] = fail
            values.append(result)
        out: States = {}
        for v, ow in self.values(node.output):
            for s, sw in values[ref_indices(v)[0]].items():
                if s is _BROKEN:
                    raise _Failure(sw.message, sw.span, _merge(sw.witness, ow))
                _keep(out, s, _merge(sw, ow))
        return out

    def step(self, st: Any, in_shapes: list[Any], sw: Witness, result: States) -> None:
        """One step of a graph for one combination of input states."""
        cropped = any(c for _, c in in_shapes)
        shapes = [s for s, _ in in_shapes]
        if st.kind == "apply":
            key = in_shapes[0] if len(in_shapes) == 1 else (tuple(shapes), cropped)
            for s, w in self.run(st.op, {key: sw}).items():
                _keep(result, s, w)
            return
        self.check()
        try:
            merged = self.rules.merge(st.kind, shapes)
        except ValueError as exc:
            raise _Failure(f"`{st.kind}`: {exc}", st.span, sw) from None
        _keep(result, (merged, cropped), sw)


_MEMOISED = (GraphNode, SeqNode, RepeatNode, ResidualNode)
_BROKEN = object()  # in a graph value's states: the value cannot be computed (a _Failure)


def check_shapes(space: Space, input_shape: Shape, rules: ShapeRules,
                 enumerate_up_to: int = ENUMERATE_UP_TO) -> ShapeReport:
    """Prove that every architecture of `space` compiles for `input_shape`, or find one
    that does not; a proof also bounds the largest architecture's parameters, and one
    past `Limits.parameters` is a failure."""
    count = space.count()
    if space.network is None:
        return ShapeReport(True, "analysed", count)
    if count <= enumerate_up_to:
        for arch in space.enumerate():
            try:
                rules.plan(arch, input_shape)
            except DarchError as err:
                return ShapeReport(False, "enumerated", count, failure=err, architecture=arch)
        report = ShapeReport(True, "enumerated", count, checks=count)
        params = _prove(space, tuple(input_shape), rules, count)[1]  # for the bound alone
    else:
        report, params = _prove(space, tuple(input_shape), rules, count)
    if report.ok and params is not None:
        _bound(space, report, params)
    return report


def _bound(space: Space, report: ShapeReport, params: dict[int, int]) -> None:
    """Fill in the largest architecture's sizes; over the limit, the proof fails."""
    limit = (space.limits or Limits()).parameters
    report.max_layers = space.max_layers
    report.max_params = Largest(lambda layer: params.get(id(layer), 0)).layers(space.network)
    if report.max_params > limit:
        report.ok = False
        report.failure = DarchError(
            f"architectures of this space are too large: up to {amount(report.max_params)} "
            f"parameters, more than the limit of {limit:,}", getattr(space.network, "span", None),
            help="lower the widths or the repeat counts")


def _prove(space: Space, input_shape: Shape, rules: ShapeRules,
           count: int) -> tuple[ShapeReport, dict[int, int] | None]:
    """Run the analysis, conditioning on the choices that a failure needs to take two
    options at once, until a failure without conflicts or a proof. The work budget
    holds for all the rounds together."""
    condition: set[int] = set()
    checks = tried = analyses = 0
    while True:
        analyses += 1
        run = _Analysis(rules, _Plan(space.network, condition), space.by_uid)
        run.checks, run.vals.tried = checks, tried
        try:
            run.run(space.network, {(input_shape, False): {}})
        except _Budget:
            return _undecided(count, run.checks, analyses,
                              f"it took more than {MAX_CHECKS:,} layer checks or "
                              f"{MAX_VALUES:,} combinations of values"), None
        except _Failure as fail:
            checks, tried = run.checks, run.vals.tried
            conflicts = {u for u, v in fail.witness.items() if v == CONFLICT}
            if not conflicts:
                return _concretise(space, input_shape, rules, fail, count, checks,
                                   analyses), None
            if conflicts <= condition:
                return _undecided(count, checks, analyses,
                                  "conditioning on the shared choices did not settle it"), None
            condition |= conflicts
            continue
        return ShapeReport(True, "analysed", count, checks=run.checks,
                           analyses=analyses), run.params


def _undecided(count: int, checks: int, analyses: int, why: str) -> ShapeReport:
    err = DarchError(f"the shape check is undecided: {why}",
                     help="check every architecture instead with --enumerate-up-to N")
    return ShapeReport(False, "analysed", count, checks, failure=err, spurious=True,
                       analyses=analyses)


def _concretise(space: Space, input_shape: Shape, rules: ShapeRules, fail: _Failure,
                count: int, checks: int, analyses: int) -> ShapeReport:
    """The failing architecture of a failure without conflicts, planned to confirm it."""
    arch = space.walk(lambda c: fail.witness.get(c.uid, 0))
    try:
        rules.plan(arch, input_shape)
    except DarchError as err:
        return ShapeReport(False, "analysed", count, checks, failure=err, architecture=arch,
                           analyses=analyses)
    # the rules said it fails and the planner built it: the two disagree (a bug)
    err = DarchError(f"shapes may break here: {fail.message}", fail.span,
                     notes=["the shape rules and the planner disagree on this architecture: "
                            f"decisions {','.join(map(str, arch.decisions))}"])
    return ShapeReport(False, "analysed", count, checks, failure=err, architecture=arch,
                       spurious=True, analyses=analyses)
