"""Whole-space shape checking: does every architecture of a space compile?

Small spaces are enumerated and every architecture is planned. Large ones are checked
by propagating *sets* of shapes through the space, one choice's options at a time:
a layer is checked for every input shape that can reach it and every value each of
its parameters can take. Shapes depend on few choices, so these sets stay small. The
sets over-approximate (shared choices are treated as independent), so when no layer
fails, no architecture can fail: that is a proof. When one fails, the decisions that
led there are replayed into a concrete architecture and planned again; if shared
choices make that combination impossible, random architectures are tried, and if none
fails the report says the failure may be spurious.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from darchlang.arch.graph import Architecture, Init
from darchlang.errors import DarchError, Span
from darchlang.space.nodes import (
    Choice,
    Cond,
    Const,
    Derived,
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
from darchlang.space.space import Space

Shape = tuple[int, ...]
Witness = dict[int, int]  # choice uid -> option index: one way to reach a state
ENUMERATE_UP_TO = 2000
MAX_COMBINATIONS = 20_000


@dataclass
class ShapeRules:
    """The backend's shape rules, as plain functions (they raise ValueError)."""

    layer: Callable[[Any, dict[str, Any], Shape], Shape]
    residual: Callable[[Shape, Shape, str], Shape]
    merge: Callable[[str, list[Shape]], Shape]
    plan: Callable[[Architecture, Shape], Any]  # raises DarchError when shapes break


@dataclass
class ShapeReport:
    """The outcome: proved for all, or a concrete failing architecture."""

    ok: bool
    method: str  # "enumerated" or "analysed"
    count: int
    checks: int = 0
    failure: DarchError | None = None
    architecture: Architecture | None = None
    spurious: bool = False
    notes: list[str] = field(default_factory=list)

    def summary(self, input_text: str) -> str:
        if self.ok:
            how = ("every one of them was planned" if self.method == "enumerated"
                   else f"proved by shape analysis over each choice's options "
                   f"({self.checks:,} layer checks), without enumerating")
            return f"all {self.count:,} architectures compile for input {input_text}: {how}"
        return "shape check failed"


class _Failure(Exception):
    def __init__(self, message: str, span: Span | None, witness: Witness):
        super().__init__(message)
        self.message, self.span, self.witness = message, span, witness


def _merge(a: Witness, b: Witness) -> Witness:
    if not b:
        return a
    if not a:
        return b
    out = dict(a)
    for k, v in b.items():
        out.setdefault(k, v)
    return out


class _Analysis:
    def __init__(self, rules: ShapeRules):
        self.rules = rules
        self.checks = 0

    # ---- values a parameter can take, each with a witness ------------------------------
    def values(self, node: SNode) -> list[tuple[Any, Witness]]:
        t = type(node)
        if t is Const:
            return [(node.value, {})]
        if t is Choice:
            out = []
            for i, o in enumerate(node.options):
                out.extend((v, _merge({node.uid: i}, w)) for v, w in self.values(o))
            return out
        if t is Derived:
            pools = [self.values(a) for a in node.args]
            out = []
            for combo in itertools.islice(itertools.product(*pools), MAX_COMBINATIONS):
                w: Witness = {}
                for _, cw in combo:
                    w = _merge(w, cw)
                try:
                    out.append((node.fn(*[v for v, _ in combo]), w))
                except (ArithmeticError, TypeError, ValueError, DarchError):
                    continue  # combinations of shared choices may be impossible
            return _dedupe(out)
        if t is Cond:
            out = []
            for pred, pw in self.values(node.pred):
                branch = node.then if pred else node.orelse
                out.extend((v, _merge(pw, w)) for v, w in self.values(branch))
            return _dedupe(out)
        if t is InitNode:
            return [(Init(node.kind, g), w) for g, w in self.values(node.gain)]
        if t is ListNode:
            pools = [self.values(a) for a in node.items]
            out = []
            for combo in itertools.islice(itertools.product(*pools), MAX_COMBINATIONS):
                w = {}
                for _, cw in combo:
                    w = _merge(w, cw)
                out.append(([v for v, _ in combo], w))
            return out
        raise TypeError(f"not a value node: {t.__name__}")

    # ---- shapes through structure -----------------------------------------------------
    def run(self, node: SNode, states: dict[Shape, Witness]) -> dict[Shape, Witness]:
        t = type(node)
        if t is LayerNode:
            return self.layer(node, states)
        if t is SeqNode:
            for item in node.items:
                states = self.run(item, states)
            return states
        if t is Choice:
            out: dict[Shape, Witness] = {}
            for i, option in enumerate(node.options):
                tagged = {s: _merge({node.uid: i}, w) for s, w in states.items()}
                for s, w in self.run(option, tagged).items():
                    out.setdefault(s, w)
            return out
        if t is Cond:
            out = {}
            for pred, pw in self.values(node.pred):
                branch = node.then if pred else node.orelse
                tagged = {s: _merge(w, pw) for s, w in states.items()}
                for s, w in self.run(branch, tagged).items():
                    out.setdefault(s, w)
            return out
        if t is ResidualNode:
            out = {}
            joins = self.values(node.join)
            for shape, w in states.items():
                for body_shape, bw in self.run(node.body, {shape: w}).items():
                    for join, jw in joins:
                        self.checks += 1
                        try:
                            result = self.rules.residual(shape, body_shape, join)
                        except ValueError as exc:
                            raise _Failure(str(exc), node.span, _merge(_merge(w, bw), jw)) from None
                        out.setdefault(result, _merge(bw, jw))
            return out
        if t is RepeatNode:
            return self.repeat(node, states)
        if t is GraphNode:
            return self.graph(node, states)
        raise TypeError(f"not a sub-space: {t.__name__}")

    def layer(self, node: LayerNode, states: dict[Shape, Witness]) -> dict[Shape, Witness]:
        pools = [self.values(p) for _, p in node.params]
        names = [n for n, _ in node.params]
        out: dict[Shape, Witness] = {}
        combos = list(itertools.islice(itertools.product(*pools), MAX_COMBINATIONS))
        for shape, w in states.items():
            for combo in combos:
                attrs = {n: v for n, (v, _) in zip(names, combo, strict=True)}
                cw = w
                for _, pw in combo:
                    cw = _merge(cw, pw)
                self.checks += 1
                try:
                    result = tuple(self.rules.layer(node.layer, attrs, shape))
                except ValueError as exc:
                    raise _Failure(f"`{node.layer.name}`: {exc}", node.span, cw) from None
                out.setdefault(result, cw)
        return out

    def repeat(self, node: RepeatNode, states: dict[Shape, Witness]) -> dict[Shape, Witness]:
        out: dict[Shape, Witness] = {}
        for times, tw in sorted(self.values(node.times), key=lambda p: p[0]):
            current = {s: _merge(w, tw) for s, w in states.items()}
            for k in range(times):
                body = node.copies[0] if node.tied else node.copies[k]
                before = current
                current = self.run(body, current)
                if node.tied and current == before:
                    break  # a fixed point: more copies change nothing
            for s, w in current.items():
                out.setdefault(s, w)
        return out

    def graph(self, node: GraphNode, states: dict[Shape, Witness]) -> dict[Shape, Witness]:
        """Each value of the block gets its set of shapes; a step whose shapes break
        holds its failure instead of raising it, because the input choices may leave
        the step unused. The failure counts only when it reaches the block's output,
        and its witness then includes the input choices that put the step in use."""
        if len(node.inputs) != 1:
            raise _Failure(f"a graph with {len(node.inputs)} inputs cannot take one input",
                           node.span, {})
        values: list[dict[Any, Any]] = [states]

        def inputs_of(arg: SNode) -> list[tuple[list[int], Witness]]:
            return [(ref_indices(v), w) for v, w in self.values(arg)]

        for st in node.steps:
            result: dict[Any, Any] = {}
            for combo in itertools.product(*[inputs_of(a) for a in st.args]):
                idx = [i for ids, _ in combo for i in ids]
                aw: Witness = {}
                for _, w in combo:
                    aw = _merge(aw, w)
                for shapes in itertools.product(*[list(values[i].items()) for i in idx]):
                    sw = aw
                    for s, w in shapes:
                        sw = _merge(sw, w.witness if s is _BROKEN else w)
                    try:
                        broken = [w for s, w in shapes if s is _BROKEN]
                        if broken:
                            raise _Failure(broken[0].message, broken[0].span, sw)
                        in_shapes = [s for s, _ in shapes]
                        if st.kind == "apply":
                            if len(in_shapes) != 1:
                                raise _Failure("a layer inside a graph takes one input",
                                               st.span, sw)
                            for s, w in self.run(st.op, {in_shapes[0]: sw}).items():
                                result.setdefault(s, w)
                        else:
                            self.checks += 1
                            try:
                                merged = self.rules.merge(st.kind, in_shapes)
                            except ValueError as exc:
                                raise _Failure(f"`{st.kind}`: {exc}", st.span, sw) from None
                            result.setdefault(merged, sw)
                    except _Failure as fail:
                        result.setdefault(_BROKEN, fail)
            values.append(result)
        out: dict[Shape, Witness] = {}
        for v, w in self.values(node.output):
            for s, sw in values[ref_indices(v)[0]].items():
                if s is _BROKEN:
                    raise _Failure(sw.message, sw.span, _merge(sw.witness, w))
                out.setdefault(s, _merge(sw, w))
        return out


_BROKEN = object()  # in a graph value's shapes: the value cannot be computed (a _Failure)


def _dedupe(pairs: list[tuple[Any, Witness]]) -> list[tuple[Any, Witness]]:
    seen: dict[Any, Witness] = {}
    for v, w in pairs:
        key = repr(v)
        if key not in seen:
            seen[key] = (v, w)
    return list(seen.values())


def check_shapes(space: Space, input_shape: Shape, rules: ShapeRules,
                 enumerate_up_to: int = ENUMERATE_UP_TO, seed: int = 0) -> ShapeReport:
    """Prove that every architecture of `space` compiles for `input_shape`, or find one
    that does not."""
    count = space.count()
    if space.network is None:
        return ShapeReport(True, "analysed", count)
    if count <= enumerate_up_to:
        for arch in space.enumerate():
            try:
                rules.plan(arch, input_shape)
            except DarchError as err:
                return ShapeReport(False, "enumerated", count, failure=err, architecture=arch)
        return ShapeReport(True, "enumerated", count, checks=count)
    analysis = _Analysis(rules)
    try:
        analysis.run(space.network, {tuple(input_shape): {}})
    except _Failure as fail:
        return _concretise(space, input_shape, rules, fail, count, analysis.checks, seed)
    return ShapeReport(True, "analysed", count, checks=analysis.checks)


def _concretise(space: Space, input_shape: Shape, rules: ShapeRules, fail: _Failure, count: int,
                checks: int, seed: int) -> ShapeReport:
    """Turn an abstract failure into a concrete failing architecture, if there is one."""
    arch = space.walk(lambda c: fail.witness.get(c.uid, 0))
    try:
        rules.plan(arch, input_shape)
    except DarchError as err:
        return ShapeReport(False, "analysed", count, checks, failure=err, architecture=arch)
    rng = random.Random(seed)
    for _ in range(500):
        arch = space.walk(lambda c: fail.witness.get(c.uid, rng.randrange(len(c.options)))
                          if rng.random() < 0.7 else rng.randrange(len(c.options)))
        try:
            rules.plan(arch, input_shape)
        except DarchError as err:
            return ShapeReport(False, "analysed", count, checks, failure=err, architecture=arch)
    err = DarchError(f"shapes may break here: {fail.message}", fail.span,
                     notes=["no concrete architecture that fails was found: shared choices may "
                            "make this combination impossible"])
    return ShapeReport(False, "analysed", count, checks, failure=err, spurious=True)
