"""Whole-space shape checking: does every architecture of a space compile?

Small spaces are enumerated and every architecture is planned. Large ones are checked
by propagating *sets* of shapes through the space, one choice's options at a time: a
layer is checked for every input shape that can reach it and every value each of its
parameters can take. Shapes depend on few choices, so these sets stay small.

Each shape carries a *witness*: one way to reach it (the options that led there) and
its `must`, the options of each choice that every way to it takes (a set per choice,
as a bit mask). Two uses of a shared choice are tied through the `must`s: a layer
whose arguments, an `if` whose condition, a graph step whose inputs need options
that a state's `must` rules out is not tried from that state, since no architecture
makes both. So two branches of one width, an expansion's width and the depthwise
convolution's groups after it, or a NASNet block's input and the width that block
thinks it has, always agree, with no enumeration.

A value (a layer argument, a condition, a graph step's input) is a table over the
choices it depends on where that is at most TABLE_LIMIT entries, cut down to the
choices it really depends on, so each entry is an exact way: `first_op(g)` of a gene
that packs five choices is a table over one. Tables of small integers and booleans
are computed by numpy. Values over more choices keep one way per value, whose `must`
is what all ways to it agree on. Nodes that compute one value from the same choices
(the calls of one function) share one table.

A composite node that gives one state from an input gives it to every architecture
that reaches that input: its witness is then the input's, so a tied cell whose output
does not depend on its choices passes none of them on to the cells after it.

The sets still lose what a `must` cannot say (which option of one choice goes with
which of another): a failure may then need one choice to take two options at once;
its witness marks that choice as a conflict. Such a failure is not trusted unless the
architecture its `must`s name fails when planned; otherwise the analysis runs again,
conditioning on the conflicting choices as counting does, where they are shared: at
the lowest node whose parts share one (for a `concat`, only the run of items from its
first use to its last), the node is analysed once per option with the choice fixed,
and the results are joined. The result is exact: a proof that every architecture
compiles, or a concrete architecture that does not, replayed and planned by the
backend to confirm it.

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

The work is bounded (MAX_CHECKS, MAX_VALUES, MAX_COMBINATIONS): past it the check is
undecided, said in well under a second, never a hang and never a guess.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from darchlang.arch.graph import Architecture, Init
from darchlang.environment import Limits
from darchlang.errors import CountOutOfReach, DarchError, Span
from darchlang.process import no_cyclic_gc
from darchlang.semantics.arithmetic import OPERATORS, UNARY
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
    each_once,
    ref_indices,
)
from darchlang.space.size import Largest, amount
from darchlang.space.space import Space
from darchlang.space.visitor import Visitor

Shape = tuple[int, ...]
# a state is (a shape, or a tuple of shapes for a block of several inputs; whether a
# layer cropped since the innermost residual body began) -> Witness
States = dict[tuple[Any, bool], Any]
CONFLICT = -1  # in a witness: the paths merged there took different options of this choice
ENUMERATE_UP_TO = 2000
PLANNED_UP_TO = 150_000  # layers planned in all, enumerating (`check --shapes`' default)
MAX_COMBINATIONS = 20_000  # of one node's argument values: more is past the budget
# The work of one run before the check gives up (said, never a hang): each trips in
# under a second; the stdlib's spaces need at most 10,000 checks and 90,000 values.
MAX_CHECKS = 100_000  # layer checks
MAX_VALUES = 500_000  # values computed (a numpy entry as a sixteenth) and combinations tried
TABLE_LIMIT = 1 << 14  # entries of a value's table over its choices; larger: one way per value
POOL_LIMIT = 512  # ways to a node's values that are kept apart; more: one way per value


@dataclass
class ShapeRules:
    """The backend's shape rules, as plain functions (they raise ValueError)."""

    layer: Callable[[Any, dict[str, Any], Shape], Shape]
    residual: Callable[[Shape, Shape, str], Shape]
    merge: Callable[[str, list[Shape]], Shape]
    plan: Callable[[Architecture, Shape], Any]  # raises DarchError when shapes break
    crops: Callable[[Any, dict[str, Any], Shape, Shape], bool]  # a "valid" window that crops
    # each layer of a plan (`plan`'s result) that knows its parameters: its path in the
    # space and their count. With it an enumerated space bounds its largest
    # architecture from the plans; without it, by running the analysis as well
    params: Callable[[Any], Iterable[tuple[str, int]]] | None = None


@dataclass
class ShapeReport:
    """The outcome: proved for all, or a concrete failing architecture."""

    ok: bool
    method: str  # "enumerated" or "analysed"
    count: int | None  # None: the space is too entangled to count
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
            every = ("the one architecture compiles" if one else
                     "every architecture compiles" if self.count is None else
                     f"all {self.count:,} architectures compile")
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


class Witness(dict):
    """One way to reach a state: choice uid -> option index, CONFLICT where the paths
    merged there disagree. `must` maps a choice to the options that every way the
    analysis found takes (`_options_mask`): every architecture that reaches the state
    takes one of them, so a combination whose `must`s leave a choice no option is made
    by no architecture and is dropped."""

    __slots__ = ("must", "conflicted")  # conflicted: whether some choice is a CONFLICT


def _witness(options: Any, must: dict[int, int], conflicted: bool = False) -> Witness:
    w = Witness(options)  # dict's own constructor: witnesses are made all the time
    w.must, w.conflicted = must, conflicted
    return w


NOTHING = _witness({}, {})  # the witness of what every architecture reaches


def _options_mask(options: Any, n: int) -> int:
    """Some of a choice's n options as bits, under a bit n that marks where they end: a
    mask left with that bit alone has no option, one of n + 1 ones has them all."""
    return sum(1 << o for o in options) | 1 << n


def _taking(taken: Any, sizes: Callable[[int], int]) -> Witness:
    """The witness of (choice, option) pairs: those options and no others."""
    taken = dict(taken)
    return _witness(taken, {u: _options_mask((o,), sizes(u)) for u, o in taken.items()})


def _agrees(must: dict[int, int], way: Witness) -> bool:
    """Whether some architecture can take both `must` and `way`'s options."""
    for k, m in way.must.items():
        both = must.get(k, m) & m
        if not both & (both - 1):
            return False
    return True


def _both(a: dict[int, int], b: dict[int, int]) -> dict[int, int] | None:
    """The options two `must`s leave each choice, or None where one is left none."""
    out = a
    for k, m in b.items():
        have = out.get(k)
        if have is None:
            both = m
        else:
            both = have & m
            if not both & (both - 1):  # the end mark alone: no option left
                return None
        if both != have:
            out = dict(out) if out is a else out
            out[k] = both
    return out


def _merge(a: Witness, b: Witness) -> Witness | None:
    """Both witnesses in one; a choice they disagree on becomes a CONFLICT. None where
    their `must`s leave a choice no option (its mask has its end mark alone): no
    architecture takes both."""
    if a is b or not b and not b.must:
        return a
    if not a and not a.must:
        return b
    must = _both(a.must, b.must) if b.must else a.must
    if must is None:
        return None
    new = [(k, v) for k, v in b.items() if a.get(k) != v]
    if not new:  # b adds no option: no copy
        return a if must is a.must else _witness(a, must, a.conflicted)
    out = _witness(a, must, a.conflicted or b.conflicted)
    for k, v in new:
        if k in a:
            out[k] = CONFLICT
            out.conflicted = True
        else:
            out[k] = v
    return out


def _meet(a: dict[int, int], b: dict[int, int]) -> dict[int, int]:
    """What two `must`s agree on: the options of either, for the choices both limit."""
    if a is b or not a:
        return a
    if not b:
        return b
    out = {}
    for k, m in a.items():
        other = b.get(k)
        if other is not None:
            either = m | other
            if either & (either + 1):  # not every option: still a fact
                out[k] = either
    return a if len(out) == len(a) and all(out[k] == m for k, m in a.items()) else out


def _clean(w: Witness) -> bool:
    return not w.conflicted


def _keep(out: States, key: Any, w: Witness) -> None:
    """Record a way to reach `key`, preferring a witness without conflicts; the state's
    `must` keeps what both ways agree on."""
    have = out.get(key)
    if have is None:
        out[key] = w
        return
    if have is w:
        return
    pick = w if not _clean(have) and _clean(w) else have
    must = _meet(have.must, w.must)
    out[key] = pick if must is pick.must else _witness(pick, must, pick.conflicted)


class _Ways(list):
    """The ways to one value; which of them agree with a state's `must` depends only on
    what it says of `uids`, so the answer is kept per that."""

    __slots__ = ("uids", "agreeing", "spend")

    def __init__(self, ways: list[Witness], spend: Callable[[int], None] = lambda n: None):
        super().__init__(ways)
        self.spend = spend  # the budget that each look through the ways counts against
        self.uids = tuple({u for way in ways for u in way.must})
        self.agreeing: dict[tuple, tuple[list[Witness], dict[int, int]]] = {}

    def agree(self, must: dict[int, int]) -> tuple[list[Witness], dict[int, int]]:
        """The ways that agree with `must`, and what they all have."""
        key = tuple(must.get(u) for u in self.uids)
        got = self.agreeing.get(key)
        if got is None:
            self.spend(len(self))
            ways: list[Witness] = []
            common: dict[int, int] = {}
            for way in self:
                if _agrees(must, way):
                    common = way.must if not ways else _meet(common, way.must)
                    ways.append(way)
            got = self.agreeing[key] = (ways, common)
        return got


def _choose(w: Witness, ways: list[Witness]) -> Witness | None:
    """`w` with one of `ways` (the ways to one value) that agrees with it, preferring
    one that adds no conflict; its `must` gains what every agreeing way has. None
    where none agrees."""
    if len(ways) == 1:
        return _merge(w, ways[0])
    agreeing, common = (ways if type(ways) is _Ways else _Ways(ways)).agree(w.must)
    if not agreeing:
        return None
    best = next((way for way in agreeing if all(w.get(k, v) == v for k, v in way.items())),
                agreeing[0])
    got = _merge(w, best)  # agrees: not None
    if common is best.must:
        return got
    return _witness(got, _both(w.must, common), got.conflicted)  # type: ignore[arg-type, union-attr]


def _vkey(v: Any) -> Any:
    """A value as a key: values of different types stay apart (1, 1.0 and True)."""
    t = type(v)
    if t is int or t is str or t is bool or t is float:
        return (t, v)
    return repr(v)


_NO_VALUE = object()  # in a table: an operation that fails on these values gives nothing
_VKEYS = np.frompyfunc(_vkey, 1, 1)


def _scalar(v: Any) -> np.ndarray:
    out = np.empty((), dtype=object)
    out[()] = v
    return out


@dataclass
class _Table:
    """A value node's value for every combination of the choices it depends on: `axes`
    are (uid, the options taken, the choice's number of options), in uid order, and
    `arr` has one dimension per axis."""

    axes: tuple[tuple[int, tuple[int, ...], int], ...]
    arr: np.ndarray
    typed: Any = None  # (int or bool, the entries as a numpy array of that kind), once known
    known: bool = False  # whether `typed` was looked at


def _typed(t: _Table) -> tuple[type, np.ndarray] | None:
    """The table as a numpy array of bools, or of ints below 2**31 (so that +, - and *
    of two stay exact), where every entry is one; else None."""
    if not t.known:
        kinds = set(map(type, t.arr.ravel()))
        if kinds == {bool}:
            t.typed = (bool, t.arr.astype(bool))
        elif kinds == {int}:
            t.typed = _ints(t.arr.astype(np.int64))
        t.known = True
    return t.typed


def _ints(arr: np.ndarray) -> tuple[type, np.ndarray] | None:
    return (int, arr) if not arr.size or int(np.abs(arr).max()) < 1 << 31 else None


# numpy's forms of Python's operators on tables of one kind (`_typed`): the operator, the
# kinds it takes, the kind it gives (None: the kind it takes)
_VECTOR: dict[Callable[..., Any], tuple[Callable[..., np.ndarray], tuple[type, ...], Any]] = {
    OPERATORS["+"]: (np.add, (int,), None), OPERATORS["-"]: (np.subtract, (int,), None),
    OPERATORS["*"]: (np.multiply, (int,), None), UNARY["-"]: (np.negative, (int,), None),
    OPERATORS["//"]: (np.floor_divide, (int,), None), OPERATORS["%"]: (np.remainder, (int,), None),
    OPERATORS["=="]: (np.equal, (int, bool), bool), OPERATORS["!="]: (np.not_equal, (int, bool), bool),
    OPERATORS["<"]: (np.less, (int,), bool), OPERATORS["<="]: (np.less_equal, (int,), bool),
    OPERATORS[">"]: (np.greater, (int,), bool), OPERATORS[">="]: (np.greater_equal, (int,), bool),
    OPERATORS["and"]: (np.logical_and, (bool,), None), OPERATORS["or"]: (np.logical_or, (bool,), None),
    UNARY["not"]: (np.logical_not, (bool,), None),
}
"""Keyed by darchlang's operators (`arithmetic.OPERATORS`): a derived value holds those."""
_DIVIDING = (np.floor_divide, np.remainder)  # a zero divisor is Python's error: entry by entry


def _pick(p: Any, a: Any, b: Any) -> Any:
    return _NO_VALUE if p is _NO_VALUE else a if p else b


class _Values:
    """Every value a value node can take, each with its ways (memoised per node and per
    the fixed options of the choices inside it; nodes that compute the same thing from
    the same choices share one entry, as the calls of one function do).

    Where a node depends on few enough choices its values are a table over them, cut
    down to the choices it really depends on (`first_op(g)` of a packed gene `g` is a
    table over one choice, not five), and each entry is its own way, exact: a `must`
    of those options. Larger nodes fall back to one way per value, whose `must` is
    what all ways to it agree on."""

    def __init__(self, fixed: dict[int, int], choices: dict[int, Choice]):
        self.fixed = fixed
        self.sizes = lambda u: len(choices[u].options)  # a choice's number of options
        self.memo: dict[tuple, list[tuple[Any, Witness]]] = {}
        self.plain: dict[int, list[tuple[Any, Witness]]] = {}  # id of a node -> its values, unfixed
        self.consts: dict[Any, list[tuple[Any, Witness]]] = {}
        self.tables: dict[tuple, _Table | None] = {}
        self.groups: dict[int, tuple[list, Any]] = {}  # see _by_pool
        self.single: dict[int, tuple[list, Any]] = {}
        self.shapes: dict[int, int] = {}  # id of a node -> its structure's number
        self.numbers: dict[tuple, int] = {}
        self.tried = 0  # values computed and combinations tried, against MAX_VALUES

    def spend(self, n: int) -> None:
        self.tried += n
        if self.tried > MAX_VALUES:
            raise _Budget

    def structure(self, node: SNode) -> int:
        """The same number for nodes that compute one value from the same choices."""
        got = self.shapes.get(id(node))
        if got is None:
            t = type(node)
            if t is Choice:
                form: tuple = ("choice", node.uid)
            elif t is Const:
                form = ("const", _vkey(node.value))
            elif t is Derived:
                fn = getattr(node.fn, "fn", node.fn)
                form = ("derived", id(fn), node.label, *map(self.structure, node.args))
            elif t is Cond or t is ListNode:
                form = (t.__name__, *map(self.structure, node.parts()))
            else:
                form = ("node", id(node))
            got = self.numbers.setdefault(form, len(self.numbers))
            self.shapes[id(node)] = got
        return got

    def key(self, node: SNode) -> tuple:
        """A memo key: the node and the fixed options of the choices inside it."""
        fixed = self.fixed
        if not fixed or node.vars.isdisjoint(fixed):
            return (self.structure(node),)
        return (self.structure(node), *sorted((u, fixed[u]) for u in node.vars.intersection(fixed)))

    def values(self, node: SNode) -> list[tuple[Any, Witness]]:
        plain = not self.fixed or node.vars.isdisjoint(self.fixed)
        if plain:  # the common case, looked up by the node itself first
            got = self.plain.get(id(node))
            if got is not None:
                return got
        if type(node) is Const:  # one pool per constant, so that it is grouped once
            got = self.consts.setdefault(_vkey(node.value), [(node.value, NOTHING)])
        else:
            key = self.key(node)
            got = self.memo.get(key)
            if got is None:
                if type(node) is Choice and all(type(o) is Const for o in node.options):
                    got = self.constants(node)  # the commonest choice, without a table
                else:
                    table = self.table(node)
                    got = self.visit(node) if table is None else self.pool(table)
                self.memo[key] = got  # kept: what is derived from a pool is kept by its id
        if plain:
            self.plain[id(node)] = got
        return got

    def constants(self, node: Choice) -> list[tuple[Any, Witness]]:
        """A choice of constants: each option its own way, as its table's entries
        are (one value for all its options is no fact about it)."""
        opts = _options(node, self.fixed)
        values = [node.options[i].value for i in opts]
        if len(opts) == len(node.options) > 1 and len({_vkey(v) for v in values}) == 1:
            return [(values[0], NOTHING)]
        return [(v, _taking({node.uid: i}, self.sizes)) for v, i in zip(values, opts, strict=True)]

    def each(self, node: SNode) -> list[tuple[Any, Witness]]:
        """The node's values, one way each (for the nodes over too many choices to keep
        their ways apart: their values are what counts)."""
        pool = self.values(node)
        got = _by_pool(self.single, pool)
        if got is None:
            got = _keep_by_pool(self.single, pool, _dedupe(pool))
        return got

    def grouped(self, pool: list[tuple[Any, Witness]]) -> list[tuple[Any, list[Witness]]]:
        """A pool's values, each with its ways."""
        got = _by_pool(self.groups, pool)
        if got is None:
            by: dict[Any, tuple[Any, list[Witness]]] = {}
            for v, w in pool:
                by.setdefault(_vkey(v), (v, []))[1].append(w)
            got = _keep_by_pool(self.groups, pool,
                                [(v, _Ways(ways, self.spend)) for v, ways in by.values()])
        return got

    # ---- tables ----------------------------------------------------------------------
    def table(self, node: SNode) -> _Table | None:
        key = self.key(node)
        if key in self.tables:
            return self.tables[key]
        t = type(node)
        if t is Const:
            got: _Table | None = _Table((), _scalar(node.value))
        elif t is Choice:
            got = self.choice_table(node)
        elif t is Derived:
            got = self.apply(_guarded(node.fn), node.args, _VECTOR.get(getattr(node.fn, "fn", None)))
        elif t is ListNode:
            got = self.apply(_listed, node.items)
        elif t is Cond:
            got = self.apply(_pick, (node.pred, node.then, node.orelse))
        else:
            got = None
        self.tables[key] = got
        return got

    def joined(self, tables: list[_Table], extra: tuple = ()) -> tuple | None:
        axes = {a[0]: a for t in tables for a in t.axes}
        for a in extra:
            axes[a[0]] = a
        ordered = tuple(axes[u] for u in sorted(axes))
        if math.prod(len(a[1]) for a in ordered) > TABLE_LIMIT:
            return None
        return ordered

    def spread(self, t: _Table, axes: tuple) -> np.ndarray:
        """`t` over `axes` (a superset of its own, in the same order)."""
        mine = {a[0] for a in t.axes}
        shape = tuple(len(a[1]) for a in axes)
        return np.broadcast_to(t.arr.reshape([len(a[1]) if a[0] in mine else 1 for a in axes]),
                               shape)

    def apply(self, fn: Callable[..., Any], args: tuple[SNode, ...],
              vector: Callable[..., np.ndarray] | None = None) -> _Table | None:
        """`fn` of the args' tables, entry by entry; `vector`, numpy's form of it, where
        every entry is a small integer (it gives what Python's operator gives)."""
        tables = [self.table(a) for a in args]
        if any(t is None for t in tables):
            return None
        axes = self.joined(tables)  # type: ignore[arg-type]
        if axes is None:
            return None
        if not axes:
            self.spend(1)
            return _Table((), _scalar(fn(*[t.arr[()] for t in tables])))  # type: ignore[union-attr]
        if vector is not None:
            made = self.vectored(vector, tables, axes)  # type: ignore[arg-type]
            if made is not None:
                return made
        arrs = [self.spread(t, axes) for t in tables]  # type: ignore[arg-type]
        self.spend(2 * arrs[0].size)  # an operation in Python, entry by entry: twice a stacking
        return self.reduced(axes, np.frompyfunc(fn, len(arrs), 1)(*arrs))

    def vectored(self, vector: tuple, tables: list[_Table], axes: tuple) -> _Table | None:
        """The operator over whole arrays, where the tables are of a kind it takes."""
        fn, takes, gives = vector
        typed = [_typed(t) for t in tables]
        kind = typed[0] and typed[0][0]
        if kind not in takes or any(t is None or t[0] is not kind for t in typed):
            return None
        arrs = [self.spread(_Table(t.axes, k[1]), axes)  # type: ignore[index]
                for t, k in zip(tables, typed, strict=True)]
        if fn in _DIVIDING and not arrs[-1].all():
            return None
        made = fn(*arrs)
        self.spend(made.size // 16)  # an entry costs numpy about a sixteenth of Python's
        got = self.reduced(axes, made.astype(object), made)
        got.typed, got.known = (bool, got.typed) if (gives or kind) is bool else _ints(got.typed), True
        return got

    def choice_table(self, node: Choice) -> _Table | None:
        opts = tuple(_options(node, self.fixed))
        tables = [self.table(node.options[i]) for i in opts]
        if any(t is None for t in tables):
            return None
        mine = (node.uid, opts, len(node.options))
        axes = self.joined(tables, (mine,))  # type: ignore[arg-type]
        if axes is None:
            return None
        rest = tuple(a for a in axes if a[0] != node.uid)
        at = axes.index(mine)
        arr = np.stack([self.spread(t, rest) for t in tables], axis=at)  # type: ignore[arg-type]
        self.spend(arr.size)
        return self.reduced(axes, arr)

    def reduced(self, axes: tuple, arr: np.ndarray, keys: np.ndarray | None = None) -> _Table:
        """Without the choices the value does not depend on (all of whose options give
        the same value, whatever the others take). `keys` tell the entries apart (by
        default `_vkey`s)."""
        typed = keys is not None
        keys = _VKEYS(arr) if keys is None else keys
        kept = list(axes)
        for i in range(len(axes) - 1, -1, -1):
            _, opts, n = axes[i]
            first = keys.take([0], axis=i)
            if len(opts) == n > 1 and np.equal(keys, first).all():
                arr, keys = arr.take([0], axis=i).squeeze(axis=i), first.squeeze(axis=i)
                del kept[i]
        return _Table(tuple(kept), arr, keys if typed else None)

    def pool(self, table: _Table) -> list[tuple[Any, Witness]]:
        """The table's entries, each its own way (as many as POOL_LIMIT; past that one
        way per value, whose `must` is what its entries agree on)."""
        if not table.axes:
            v = table.arr[()]
            return [] if v is _NO_VALUE else [(v, NOTHING)]
        uids = [u for u, _, _ in table.axes]
        if table.arr.size <= POOL_LIMIT:
            every = itertools.product(*[opts for _, opts, _ in table.axes])
            sizes = {u: n for u, _, n in table.axes}.__getitem__
            return [(v, _taking(zip(uids, options, strict=True), sizes))
                    for v, options in zip(table.arr.ravel(), every, strict=True)
                    if v is not _NO_VALUE]
        self.spend(table.arr.size // 4)
        shape = table.arr.shape
        if table.typed is None:
            by: dict[Any, list[int]] = {}
            for i, key in enumerate(_VKEYS(table.arr).ravel().tolist()):
                by.setdefault(key, []).append(i)
            masks: Any = []
            for where in by.values():
                mask = np.zeros(table.arr.size, dtype=bool)
                mask[where] = True
                masks.append(mask.reshape(shape))
        else:
            _, inverse = np.unique(table.typed[1].ravel(), return_inverse=True)
            masks = ((inverse == j).reshape(shape) for j in range(int(inverse.max()) + 1))
        out = []
        every = tuple(range(len(shape)))
        for mask in masks:  # the entries of one value
            at = np.unravel_index(int(np.argmax(mask)), shape)
            first = table.arr[at]
            if first is _NO_VALUE:
                continue
            must = {}
            for k, (u, opts, n) in enumerate(table.axes):
                taken = np.flatnonzero(mask.any(axis=every[:k] + every[k + 1:])).tolist()
                if len(taken) < n:  # all n: no fact
                    must[u] = _options_mask([opts[i] for i in taken], n)
            options = [opts[i] for (_, opts, _), i in zip(table.axes, at, strict=True)]
            out.append((first, _witness(zip(uids, options, strict=True), must)))
        return out

    # ---- one way per value (nodes over too many choices) -----------------------------
    def visit(self, node: SNode) -> list[tuple[Any, Witness]]:
        t = type(node)
        if t is Choice:
            out = []
            for i in _options(node, self.fixed):
                mine = _taking({node.uid: i}, self.sizes)
                out.extend((v, _merge(mine, w)) for v, w in self.values(node.options[i]))
            return out
        if t is Derived:
            pools = [self.each(a) for a in node.args]
            self.spend(math.prod(len(p) for p in pools))
            fn, made = _guarded(node.fn), []
            for combo in _combinations(pools):
                w = _merge_all(combo)
                if w is not None:
                    v = fn(*[value for value, _ in combo])
                    if v is not _NO_VALUE:
                        made.append((v, w))
            return _dedupe(made)
        if t is Cond:
            out = []
            for pred, pw in self.each(node.pred):
                for v, bw in self.each(node.then if pred else node.orelse):
                    w = _merge(pw, bw)
                    if w is not None:
                        out.append((v, w))
            return _dedupe(out)
        if t is InitNode:
            return [(Init(node.kind, g), w) for g, w in self.values(node.gain)]
        if t is ListNode:
            out = []
            for combo in _combinations([self.each(a) for a in node.items]):
                w = _merge_all(combo)
                if w is not None:
                    out.append(([v for v, _ in combo], w))
            return out
        if t is Fail:
            raise _Failure("`fail`", node.span, _taking(self.fixed, self.sizes))  # the walk says the message
        raise TypeError(f"not a value node: {type(node).__name__}")


def _by_pool(cache: dict[int, tuple[list, Any]], pool: list) -> Any:
    """What `cache` holds for this very pool (by its id, checked: an id outlives no
    object, but a cache may outlive a pool)."""
    got = cache.get(id(pool))
    return got[1] if got is not None and got[0] is pool else None


def _keep_by_pool(cache: dict[int, tuple[list, Any]], pool: list, made: Any) -> Any:
    cache[id(pool)] = (pool, made)  # holding the pool keeps its id its own
    return made


def _guarded(fn: Callable[..., Any]) -> Callable[..., Any]:
    """`fn` that gives _NO_VALUE where an argument has none or it fails."""
    def guarded(*args: Any) -> Any:
        if _NO_VALUE in args:
            return _NO_VALUE
        try:
            return fn(*args)
        except (ArithmeticError, TypeError, ValueError, DarchError):
            return _NO_VALUE
    return guarded


def _listed(*items: Any) -> Any:
    return _NO_VALUE if _NO_VALUE in items else list(items)


def _agreeing(w: Witness, ways: list[list[Witness]]) -> Witness | None:
    """`w` with a way to each of several values (`_choose`), or None."""
    for each in ways:
        w = _choose(w, each)
        if w is None:
            return None
    return w


def _tagged(states: States, ways: list[Witness]) -> States:
    """The states that some of `ways` agrees with, each with one of them."""
    return _map_witnesses(states, lambda w: _choose(w, ways))


def _map_witnesses(states: States, make: Callable[[Witness], Witness | None]) -> States:
    """Each state with what `make` makes of its witness; those it refuses (None) go."""
    return {s: got for s, w in states.items() if (got := make(w)) is not None}


def _options(node: Choice, fixed: Witness) -> range | tuple[int]:
    index = fixed.get(node.uid)
    return range(len(node.options)) if index is None else (index,)


def _combinations(pools: list[list[Any]]) -> Any:
    """Every combination of one item of each pool; more than MAX_COMBINATIONS is past
    the budget (a value's set is never cut short)."""
    if math.prod(len(p) for p in pools) > MAX_COMBINATIONS:
        raise _Budget
    return itertools.product(*pools)


def _merge_all(combo) -> Witness | None:
    w: Witness | None = NOTHING
    for _, cw in combo:
        w = _merge(w, cw)
        if w is None:
            return None
    return w


def _dedupe(pairs: list[tuple[Any, Witness]]) -> list[tuple[Any, Witness]]:
    """One way per value: a clean one where there is one, its `must` what all agree on."""
    seen: dict[Any, tuple[Any, Witness]] = {}
    for v, w in pairs:
        key = _vkey(v)
        have = seen.get(key)
        if have is None:
            seen[key] = (v, w)
        else:
            pick = w if not _clean(have[1]) and _clean(w) else have[1]
            must = _meet(have[1].must, w.must)
            seen[key] = (v, pick if must is pick.must else _witness(pick, must, pick.conflicted))
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
        self.vals = _Values({}, choices)
        self.values = self.vals.values
        self.checks = 0
        self.params: dict[int, int] = {}  # id of a layer -> its most parameters seen
        self.combos: dict[tuple, list[tuple[dict[str, Any], Witness]]] = {}
        self.results: dict[tuple, Any] = {}  # a layer rule's (output shape, crops), or its error
        self.inside = 0  # residual bodies around the node being run: crops count only there
        self.memo: dict[tuple, States] = {}  # see run_one
        self.refs_of: dict[int, tuple[list, Any]] = {}  # see refs and _by_pool

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
        known = sorted((u, m) for u, m in w.must.items() if u in node.vars)
        memo = (self.vals.key(node), key, self.inside > 0, *known)
        got = self.memo.get(memo)
        if got is None:
            try:
                got = self.unmemoised(node, {key: _witness({}, dict(known))})
            except _Failure as fail:
                raise _Failure(fail.message, fail.span,
                               _merge(w, fail.witness) or fail.witness) from None
            if len(got) == 1:
                got = self.alike(node, got, dict(known))
            self.memo[memo] = got
        if not w and not w.must:
            return got
        return _map_witnesses(got, lambda sw: _merge(w, sw))

    def alike(self, node: SNode, got: States, known: dict[int, int]) -> States:
        """A node that gives one state from an input gives it to every architecture
        that reaches the input, whatever its own choices take: its witness is the input's
        (and the fixed options), so that the choices inside, shared with other parts of
        the network (a tied cell's), are not tied to the options found here."""
        fixed = _taking(((u, o) for u, o in self.fixed.items() if u in node.vars), self.vals.sizes)
        must = _both(known, fixed.must)
        return {} if must is None else {s: _witness(fixed, must) for s in got}

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
        raise _Failure("`fail`", node.span, next(iter(states.values()), NOTHING))

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
            tagged = _tagged(states, [_taking({node.uid: i}, self.vals.sizes)])
            if tagged:
                for s, w in self.run(node.options[i], tagged).items():
                    _keep(out, s, w)
        return out

    def visit_Cond(self, node: Cond, states: States) -> States:
        out: States = {}
        for pred, ways in self.vals.grouped(self.values(node.pred)):
            tagged = _tagged(states, ways)
            if tagged:
                for s, w in self.run(node.then if pred else node.orelse, tagged).items():
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
            groups = [self.vals.grouped(self.values(p)) for _, p in node.params]
            combos = []
            for combo in _combinations(groups):
                # the arguments of one way each, merged once; the others per state
                one = _merge_all((None, ways[0]) for _, ways in combo if len(ways) == 1)
                if one is not None:
                    combos.append(({n: v for n, (v, _) in zip(names, combo, strict=True)},
                                   one, [ways for _, ways in combo if len(ways) > 1]))
            self.combos[key] = combos
        out: States = {}
        inside = self.inside > 0
        for (shape, cropped), w in states.items():
            self.vals.spend(len(combos))  # each combination is looked at, if not checked
            if shape and isinstance(shape[0], tuple):
                raise _Failure(f"`{node.layer.name}` takes one input, got {len(shape)}",
                               node.span, w)
            for i, (attrs, one, ways) in enumerate(combos):
                cw = w if one is NOTHING else _merge(w, one)
                if ways and cw is not None:
                    cw = _agreeing(cw, ways)
                if cw is None:
                    continue
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
        joins = self.vals.grouped(self.values(node.join))
        for (shape, cropped), w in states.items():
            self.inside += 1
            try:
                body = self.run(node.body, {(shape, False): w})
            finally:
                self.inside -= 1
            for (body_shape, body_cropped), bw in body.items():
                for join, ways in joins:
                    cw = _choose(bw, ways)
                    if cw is None:
                        continue
                    self.check()
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
        point, after which more copies change nothing. A copy runs only on the states
        that some count past it agrees with."""
        out: States = {}
        counts = sorted(self.vals.grouped(self.values(node.times)), key=lambda p: p[0])
        current, done, still = states, 0, False
        for k, (times, ways) in enumerate(counts):
            larger = [w for _, more in counts[k:] for w in more]
            try:
                while done < times and not still:
                    body = node.copies[0] if node.tied else node.copies[done]
                    current = {s: w for s, w in current.items()
                               if any(_agrees(w.must, way) for way in larger)}
                    after = self.run(body, current)
                    still = node.tied and after.keys() == current.keys()
                    current, done = after, done + 1
            except _Failure as fail:
                raise _Failure(fail.message, fail.span, _choose(fail.witness, larger)) from None
            for s, w in _tagged(current, ways).items():
                _keep(out, s, w)
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
            args = [self.refs(a) for a in st.args]
            for combo in itertools.product(*args):
                idx = [i for ids, _ in combo for i in ids]
                ways = [ws for _, ws in combo]
                pools = [list(values[i].items()) for i in idx]
                self.vals.spend(math.prod(map(len, pools)))
                for shapes in itertools.product(*pools):
                    sw: Witness | None = NOTHING
                    for s, vw in shapes:
                        sw = _merge(sw, vw.witness if s is _BROKEN else vw)
                        if sw is None:
                            break
                    sw = None if sw is None else _agreeing(sw, ways)
                    if sw is None:
                        continue  # no architecture takes these values together
                    try:
                        broken = [vw for s, vw in shapes if s is _BROKEN]
                        if broken:
                            raise _Failure(broken[0].message, broken[0].span, sw)
                        self.step(st, [s for s, _ in shapes], sw, result)
                    except _Failure as fail:
                        have = result.get(_BROKEN)
                        if have is None or (not _clean(have.witness)
                                            and CONFLICT not in fail.witness.values()):
                            result[_BROKEN] = fail
            values.append(result)
        out: States = {}
        for (index,), ways in self.refs(node.output):
            for s, sw in values[index].items():
                if s is _BROKEN:
                    got = _choose(sw.witness, ways)
                    if got is not None:
                        raise _Failure(sw.message, sw.span, got)
                    continue
                got = _choose(sw, ways)
                if got is not None:
                    _keep(out, s, got)
        return out

    def refs(self, arg: SNode) -> list[tuple[tuple[int, ...], _Ways]]:
        """The values a graph argument can refer to (their indices), each with its ways."""
        pool = self.values(arg)
        got = _by_pool(self.refs_of, pool)
        if got is None:
            by: dict[tuple[int, ...], list[Witness]] = {}
            for v, w in pool:
                by.setdefault(tuple(ref_indices(v)), []).append(w)
            got = _keep_by_pool(self.refs_of, pool,
                                [(ids, _Ways(ways, self.vals.spend)) for ids, ways in by.items()])
        return got

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
                 enumerate_up_to: int = ENUMERATE_UP_TO,
                 planned_up_to: int | None = None) -> ShapeReport:
    """Prove that every architecture of `space` compiles for `input_shape`, or find one
    that does not; a proof also bounds the largest architecture's parameters, and one
    past `Limits.parameters` is a failure. Spaces of at most `enumerate_up_to`
    architectures are enumerated, unless planning them all would plan more than
    `planned_up_to` layers (625 ENAS cells of 332 layers take two seconds to plan,
    their analysis 10 ms): then the analysis decides, and only if it cannot is the
    space enumerated all the same. The cyclic collector is paused meanwhile, as it is
    while building: the witnesses and states are many small objects, none in a cycle,
    whose gen-0 passes took a fifth of NASNet's proof."""
    with no_cyclic_gc():
        return _checked(space, input_shape, rules, enumerate_up_to, planned_up_to)


def _checked(space: Space, input_shape: Shape, rules: ShapeRules, enumerate_up_to: int,
             planned_up_to: int | None) -> ShapeReport:
    try:
        count: int | None = space.count()
    except CountOutOfReach:
        count = None  # the analysis needs no count; only enumerating does
    if space.network is None:
        return ShapeReport(True, "analysed", count)
    small = count is not None and count <= enumerate_up_to
    if small and planned_up_to is not None and count * space.max_layers > planned_up_to:
        report, params = _prove(space, tuple(input_shape), rules, count)
        if not report.spurious:
            if report.ok and params is not None:
                _bound(space, report, params)
            return report
    if small:
        layers = _layers_by_path(space) if rules.params else None
        params: dict[int, int] | None = {}
        for arch in space.enumerate():
            try:
                plan = rules.plan(arch, input_shape)
            except DarchError as err:
                return ShapeReport(False, "enumerated", count, failure=err, architecture=arch)
            if layers is not None and params is not None:
                params = _most_params(plan, rules, layers, params)
        report = ShapeReport(True, "enumerated", count, checks=count)
        if params is None or layers is None:  # the plans do not say: the analysis bounds them
            params = _prove(space, tuple(input_shape), rules, count)[1]
    else:
        report, params = _prove(space, tuple(input_shape), rules, count)
    if report.ok and params is not None:
        _bound(space, report, params)
    return report


def _layers_by_path(space: Space) -> dict[str, list[int]]:
    """The ids of the space's layer nodes, by their paths (a path is one layer's, but
    any it names gets the parameters, which keeps the bound an upper one)."""
    out: dict[str, list[int]] = {}
    for node in each_once(space.network):
        if type(node) is LayerNode:
            out.setdefault(space.paths.get(id(node), ""), []).append(id(node))
    out.pop("", None)  # a layer without a path: no plan's layer is known by it
    return out


def _most_params(plan: Any, rules: ShapeRules, layers: dict[str, list[int]],
                 params: dict[int, int]) -> dict[int, int] | None:
    """`params` (id of a layer node -> its most parameters in the plans so far) with
    `plan`'s; None when a layer of the plan is not known by its path (then the
    analysis bounds them). The enumeration plans every architecture anyway, so the
    analysis it once also ran for the bound alone (as long as the enumeration on an
    ENAS cell) is not needed."""
    assert rules.params is not None
    for path, n in rules.params(plan):
        nodes = layers.get(path)
        if nodes is None:
            return None
        for node in nodes:
            if n > params.get(node, -1):
                params[node] = n
    return params


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
           count: int | None) -> tuple[ShapeReport, dict[int, int] | None]:
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
            run.run(space.network, {(input_shape, False): NOTHING})
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
            found = _confirmed(space, input_shape, rules, fail)
            if found is not None:  # its `must`s name the options, and the planner agrees
                return ShapeReport(False, "analysed", count, checks, failure=found[1],
                                   architecture=found[0], analyses=analyses), None
            if conflicts <= condition:
                return _undecided(count, checks, analyses,
                                  "conditioning on the shared choices did not settle it"), None
            condition |= conflicts
            continue
        return ShapeReport(True, "analysed", count, checks=run.checks,
                           analyses=analyses), run.params


def _undecided(count: int | None, checks: int, analyses: int, why: str) -> ShapeReport:
    err = DarchError(f"the shape check is undecided: {why}",
                     help="check every architecture instead with --enumerate-up-to N")
    return ShapeReport(False, "analysed", count, checks, failure=err, spurious=True,
                       analyses=analyses)


def _option(witness: Witness, uid: int) -> int:
    """A choice's option in the architecture of a witness: its own, else the first its
    `must` leaves (the lowest bit of the mask), else the first."""
    v = witness.get(uid, CONFLICT)
    if v != CONFLICT:
        return v
    mask = witness.must.get(uid, 1)
    return (mask & -mask).bit_length() - 1


def _confirmed(space: Space, input_shape: Shape, rules: ShapeRules,
               fail: _Failure) -> tuple[Architecture, DarchError] | None:
    """A failure with conflicts may still be real: the architecture its `must`s resolve
    the conflicts to, when the planner refuses it (else None: condition)."""
    try:
        arch = space.walk(lambda c: _option(fail.witness, c.uid))
    except DarchError:
        return None  # a `fail` on the way: the conditioning decides
    try:
        rules.plan(arch, input_shape)
    except DarchError as err:
        return arch, err
    return None


def _concretise(space: Space, input_shape: Shape, rules: ShapeRules, fail: _Failure,
                count: int | None, checks: int, analyses: int) -> ShapeReport:
    """The failing architecture of a failure without conflicts, planned to confirm it."""
    arch = space.walk(lambda c: _option(fail.witness, c.uid))
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
