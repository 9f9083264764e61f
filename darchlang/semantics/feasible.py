"""The values a value over choices can take where it is used, found when a program is read.

A layer argument, a repeat count, an index or an `if` condition written over choices
(`w - 16`, `xs[i]`, `one_of(0.5, 1) * 2`) is computed only when an architecture picks
the choices, so a wrong one would pass `darch check` and fail `darch sample`. Here it
is evaluated, when it is built, for the combinations of the choices it reaches, under
the `if`s over choices that enclose it (its *guards*, `Interpreter.guards`): a
combination a guard excludes is skipped, so `if w > 16 then conv2d(filters: w - 16)
else relu()` passes, while `conv2d(filters: one_of(16, 32) - 40, size: 3)` is an error
that names the choice value giving -8. The evaluation is the walk's own (`Walk`): a
shared choice is decided once, a choice inside an option only when the option is
taken, so it finds what sampling finds.

It stays bounded (`Limits.check_work`). First the sets of values the parts can take
(sharing and guards ignored: a superset) prove the value right when they can, which
is what almost every value needs. Else the tables (`_Tables`) compute the outcome of
every combination part by part, each part keyed only by the choices it shares with the
rest, which proves the value right or shows that a combination makes it wrong at a
small part of the cost of walking each (AnyNetX's `wb // g` over 2,304 combinations:
about 5,000 operations). A wrong one is then named by walking the combinations in
turn, as sampling takes the choices (the first wrong one), or by the tables' own;
past a value's share of the budget, random combinations look for one instead (they
prove nothing: a value over many shared choices can pass with a rare wrong
combination). A value found right is not checked again for the same type where a
value of the same form (`_form`: the same operators over choices of the same options,
shared alike) is used under `if`s of the same form (`Checks.passed`): the copies of a
repeated block, and the stages of AnyNetX, are checked once. What an operation gives
for given values is computed once per load (`Checks.applied`).
"""

from __future__ import annotations

import itertools
import math
import operator
import random
import types
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, NamedTuple

from darchlang.arch.graph import Init
from darchlang.errors import DarchError, Related, Span
from darchlang.layers.defs import Bool
from darchlang.semantics.arithmetic import Operation
from darchlang.space.nodes import Choice, Cond, Const, Derived, Fail, InitNode, ListNode, SNode
from darchlang.space.walk import Walk
from darchlang.text import value_text

if TYPE_CHECKING:
    from darchlang.environment import Limits
    from darchlang.layers.defs import ParamType
    from darchlang.semantics.interpreter import Interpreter

Guard = tuple[SNode, bool]
"""An `if` over choices that encloses a value: its condition and the branch taken."""
Test = Callable[[Any], None]
"""Raises the DarchError of a wrong value; returns for a right one."""

CAP = 64
"""Values of a node listed before they are bounded by a `Range` instead."""
COMBOS = 512
"""Combinations of its parts' listed values computed for one node, at most."""
SHARE = 25
"""A value gets at most this fraction (1/SHARE) of `Limits.check_work` for itself."""
FLOOR = 200
"""The least work a value gets, even once the load's budget is spent."""
SAMPLES = 64
"""Random combinations tried for a value whose combinations are too many to enumerate."""
SHOWN = 3
"""Choices named in an error, and drawn as related places."""

_NONE = object()
"""No value (the combination was excluded)."""
_UNKNOWN = object()
"""Not every combination was tried, so the values found are not all."""


class _Spent(Exception):
    """A value's share of the work is used up."""


class _Excluded(Exception):
    """The guards exclude this combination, or it reaches a `fail` (the program's own
    error, which stands as written)."""


# ---- bounds: a superset, cheap ----------------------------------------------------------
class Range(NamedTuple):
    """What the values of a node can be when they are too many to list: their kinds
    (`int`, `float`, `bool`, `str`, `list`; `object` for anything) and, for numbers,
    bounds (`-inf`/`inf` when unknown)."""

    kinds: frozenset
    lo: Any = -math.inf
    hi: Any = math.inf


ANY = Range(frozenset({object}))
_BOOLEAN = Range(frozenset({bool}))
_NUMBERS = frozenset({int, float})
_LOGIC = frozenset({"==", "!=", "<", "<=", ">", ">=", "and", "or", "not"})
Bounds = tuple["list | Range", bool]
"""A node's values (listed, or a `Range`), and whether computing one may fail."""


class Checks:
    """One load's checking of values over choices: the work spent so far
    (`Limits.check_work`), and the bounds of each value node, computed once. A node
    never changes, and operators applied to the same values share their bounds: each
    call of `def first_input(g) = g // 3380` makes a new node, bounded once."""

    __slots__ = ("work", "known", "same", "reachable", "passed", "applied", "options", "held")

    def __init__(self) -> None:
        self.work = 0
        self.known: dict[int, tuple[SNode, Any, Bounds]] = {}
        """Each node seen (held, so that its id stays unique): its token and bounds."""
        self.same: dict[tuple, tuple[int, Bounds]] = {}
        """An operator and its operands' tokens: the token and bounds of its result."""
        self.reachable: dict[tuple, tuple[list[Guard], bool]] = {}
        """Whether an architecture takes the branches of a set of `if`s (`_reachable`)."""
        self.options: dict[int, Any] = {}
        self.held: list[SNode] = []
        """The options of each choice of constants seen by `_form`, and those choices."""
        self.applied: dict[tuple, tuple] = {}
        """An operation's token and its operands' keys: its outcome (`_Tables`)."""
        self.passed: dict[tuple, tuple] = {}
        """The checks of a type (`check_type`) that found no wrong value, by the type and
        the `_form` of the value and its guards: copy k of `repeat(xblock(w, b, g),
        times: d)` computes what copy 0 does, under the same `if`s, and is checked once."""

    def bounds(self, node: SNode, limits: Limits) -> Bounds:
        """The values `node` can take, guards and sharing ignored (a superset): listed
        while there are at most CAP of them from at most COMBOS combinations, bounded
        by interval arithmetic past that."""
        return self._known(node, limits)[2]

    def _known(self, node: SNode, limits: Limits) -> tuple[SNode, Any, Bounds]:
        t = type(node)
        if t is Const:  # cheaper made again than kept
            v = node.value
            return node, id(node) if type(v) is list else (type(v), v), ([v], False)
        known = self.known.get(id(node))
        if known is not None:
            return known
        token: Any = id(node)
        if t is Choice or t is Cond:
            out = _union([self.bounds(o, limits)
                          for o in (node.options if t is Choice else (node.then, node.orelse))])
        elif t is Derived and type(node.fn) is Operation:
            tokens: list[Any] = [_behaviour(node.fn.fn), node.label]
            parts: list[Bounds] = []
            for a in node.args:  # inline for constants and nodes seen: most operands
                if type(a) is Const:
                    v = a.value
                    tokens.append(id(a) if type(v) is list else (type(v), v))
                    parts.append(([v], False))
                else:
                    _, token, bounds = self.known.get(id(a)) or self._known(a, limits)
                    tokens.append(token)
                    parts.append(bounds)
            signature = tuple(tokens)
            same = self.same.get(signature)
            if same is None:
                same = (len(self.same), self._computed(node, parts, limits))
                self.same[signature] = same
            token, out = same
        elif t is Derived or t is ListNode or t is InitNode:
            parts = [self._known(p, limits) for p in
                     (node.args if t is Derived else node.items if t is ListNode else (node.gain,))]
            out = self._computed(node, [p[2] for p in parts], limits)
        elif t is Fail:
            out = ([], False)
        else:
            out = (ANY, True)
        known = self.known[id(node)] = (node, token, out)
        return known

    def _computed(self, node: Derived | ListNode | InitNode, parts: list[Bounds],
                  limits: Limits) -> Bounds:
        """The bounds of a node computed from its parts' (`parts`)."""
        t = type(node)
        fails = any(f for _, f in parts)
        pools = [v for v, _ in parts]
        if t is Derived and node.label in _LOGIC:  # a boolean: its kinds tell whether it fails
            kinds = [p.kinds if type(p) is Range else {type(v) for v in p} for p in pools]
            ok = all(k == {bool} for k in kinds) if node.label in ("and", "or", "not") else \
                node.label in ("==", "!=") or all(k and k <= _NUMBERS for k in kinds)
            return _BOOLEAN, fails or not ok
        if all(type(p) is list for p in pools) and math.prod(map(len, pools)) <= COMBOS:
            make = node.fn if t is Derived else (lambda *v: list(v)) if t is ListNode \
                else (lambda g: Init(node.kind, g))
            seen: dict[Any, Any] = {}
            for combo in itertools.product(*pools):
                self.work += 1
                try:
                    v = make(*combo)
                except (DarchError, ArithmeticError, TypeError, ValueError):
                    fails = True
                    continue
                seen.setdefault(_key(v), v)
            listed = list(seen.values())
            return (listed if len(listed) <= CAP else _range(listed)), fails
        if t is not Derived:
            return Range(frozenset({list if t is ListNode else Init})), fails
        got, may_fail = _arithmetic(node.label, [_ranged(p) for p in pools], limits)
        return got, fails or may_fail


def _behaviour(fn: Callable[..., Any]) -> Any:
    """What tells apart how functions compute: a function made afresh for each call
    (`max`'s `lambda *v: pick(v)`) by its code and what it closes over (each object by
    its id: the node holding the function holds them), any other by itself."""
    if type(fn) is not types.FunctionType:
        return fn
    try:
        return (fn.__code__, id(fn.__globals__), id(fn.__defaults__), id(fn.__kwdefaults__),
                *(id(c.cell_contents) for c in fn.__closure__ or ()))
    except ValueError:  # a cell not yet bound
        return fn


def _key(value: Any) -> Any:
    """A value as a set member that keeps `1`, `1.0` and `true` apart (as checks do)."""
    if isinstance(value, list):
        return (list, tuple(_key(v) for v in value))
    return (type(value), value)


def _union(parts: list[Bounds]) -> Bounds:
    fails = any(f for _, f in parts)
    if all(type(v) is list for v, _ in parts):
        seen: dict[Any, Any] = {}
        for v, _ in parts:
            for x in v:
                seen.setdefault(_key(x), x)
        listed = list(seen.values())
        return (listed if len(listed) <= CAP else _range(listed)), fails
    ranges = [_ranged(v) for v, _ in parts]
    return Range(frozenset().union(*(r.kinds for r in ranges)), min(r.lo for r in ranges),
                 max(r.hi for r in ranges)), fails


def _ranged(values: list | Range) -> Range:
    return values if type(values) is Range else _range(values)


def _range(values: list) -> Range:
    kinds = frozenset(type(v) if type(v) in (int, float, bool, str, list) else object
                      for v in values)
    numbers = [v for v in values if type(v) in _NUMBERS]
    return Range(kinds, min(numbers), max(numbers)) if numbers else Range(kinds)


def _arithmetic(label: str, args: list[Range], limits: Limits) -> Bounds:
    """The range of an operator's results over ranges, and whether one may fail
    (dividing by a range that holds 0, a type it does not take, a result too big)."""
    if not all(a.kinds and a.kinds <= _NUMBERS for a in args):
        return ANY, True
    kinds = frozenset().union(*(a.kinds for a in args))
    try:
        got = _bounds_of(label, args)
    except (ArithmeticError, ValueError):
        return Range(kinds), True
    if got is None:
        return ANY, True
    lo, hi, fails, floats = got
    if floats:
        kinds = frozenset({float})
    if float in kinds:  # past a float's range, `compute` refuses the result
        return Range(kinds, lo, hi), fails or not -1e308 < lo <= hi < 1e308
    big = 2 ** limits.int_bits  # past the integer size, `compute` refuses it
    return Range(kinds, lo, hi), fails or not -big < lo <= hi < big


def _bounds_of(label: str, args: list[Range]) -> tuple[Any, Any, bool, bool] | None:
    """(lo, hi, may fail, gives floats) of a numeric operator, None when not known."""
    if len(args) == 1 and label == "-":
        return -args[0].hi, -args[0].lo, False, False
    if label in ("min", "max"):
        pick = min if label == "min" else max
        return pick(a.lo for a in args), pick(a.hi for a in args), False, False
    if label in ("sqrt", "log10"):
        (a,) = args
        low = 0 if label == "sqrt" else 1e-308
        fn = math.sqrt if label == "sqrt" else math.log10
        return (fn(max(a.lo, low)) if a.lo != -math.inf else -math.inf,
                fn(max(a.hi, low)), a.lo < low, True)
    if len(args) != 2:
        return None
    a, b = args
    if label == "+":
        return a.lo + b.lo, a.hi + b.hi, False, False
    if label == "-":
        return a.lo - b.hi, a.hi - b.lo, False, False
    if label == "*":
        return (*_extent([x * y for x in (a.lo, a.hi) for y in (b.lo, b.hi)]), False, False)
    if label in ("/", "//", "%"):
        if b.lo <= 0 <= b.hi:
            return -math.inf, math.inf, True, label == "/"
        if label == "%":  # the sign of the divisor
            return (0, b.hi, False, False) if b.lo > 0 else (b.lo, 0, False, False)
        div = operator.truediv if label == "/" else operator.floordiv
        return (*_extent([div(x, y) for x in (a.lo, a.hi) for y in (b.lo, b.hi)]), False,
                label == "/")
    return None


def _extent(corners: list) -> tuple[Any, Any]:
    """The least and largest of an operator's values at the corners of its ranges (a
    monotone operator's extremes), unbounded when one is not a number (`inf * 0`)."""
    if any(isinstance(c, float) and math.isnan(c) for c in corners):
        return -math.inf, math.inf
    return min(corners), max(corners)


# ---- combinations: exact, under the guards ----------------------------------------------
class _Trial(Walk):
    """One evaluation of a value (and its guards) for one combination of its choices:
    the walk's, deciding each choice from `prefix` in the order reached, then its first
    option (`rng`: a random one). It counts the nodes it visits against `budget`."""

    __slots__ = ("prefix", "fixed", "reached", "budget", "rng", "value", "computed")

    def __init__(self, budget: list[int], rng: random.Random | None = None,
                 fixed: dict[int, int] | None = None):
        super().__init__(lambda _: 0, {}, {})
        self.prefix: list[int] = []
        self.fixed = fixed
        """Decisions by choice uid (`_Tables`' witness), taken before `prefix`'s."""
        self.reached: list[tuple[Choice, int]] = []
        self.budget, self.rng = budget, rng
        self.value: Any = _NONE
        self.computed: dict[int, Any] = {}

    def start(self, prefix: list[int]) -> None:
        self.prefix = prefix
        self.reached = []
        self.decided = {}
        self.value = _NONE
        self.computed = {}

    def visit_Derived(self, node: Derived) -> Any:
        """Computed once per combination: `x = w + w` doubled forty times is forty
        values, not 2^40 visits."""
        known = self.computed.get(id(node), _NONE)
        if known is _NONE:
            known = self.computed[id(node)] = super().visit_Derived(node)
        return known

    def visit(self, node: Any) -> Any:
        self.budget[0] -= 1
        if self.budget[0] < 0:
            raise _Spent
        return super().visit(node)

    def visit_Choice(self, node: Choice) -> Any:
        index = self.decided.get(node.uid)
        if index is None:
            k = len(self.reached)
            index = (self.fixed[node.uid] if self.fixed and node.uid in self.fixed else
                     self.prefix[k] if k < len(self.prefix) else
                     self.rng.randrange(len(node.options)) if self.rng else 0)
            self.decided[node.uid] = index
            self.reached.append((node, index))
        return self.visit(node.options[index])

    def visit_Fail(self, node: Fail) -> Any:
        raise _Excluded

    def run(self, node: SNode, guards: list[Guard], test: Test) -> DarchError | None:
        """The error this combination gives (None when it is right or excluded); a
        right value is kept in `value`."""
        try:
            if not self.holds(guards):
                return None
            value = self.visit(node)
        except _Excluded:
            return None
        except DarchError as err:
            return err
        try:
            test(value)
        except DarchError as err:
            return err
        self.value = value
        return None

    def holds(self, guards: list[Guard]) -> bool:
        """Whether this combination takes the branches `guards` say."""
        for pred, branch in guards:
            try:
                if self.visit(pred) is not branch:
                    return False
            except (DarchError, _Excluded):
                return False  # the `if`'s own error, reported where it is built
        return True

    def next_prefix(self) -> list[int] | None:
        """The decisions of the next combination, in the order of the last one's."""
        for k in range(len(self.reached) - 1, -1, -1):
            choice, index = self.reached[k]
            if index + 1 < len(choice.options):
                return [i for _, i in self.reached[:k]] + [index + 1]
        return None


# ---- tables: exact, part by part -------------------------------------------------------
_ERROR = object()
"""The outcome of a combination whose value cannot be computed."""
_EXCLUDED = object()
"""The outcome of a combination that reaches a `fail` (the program's own error)."""
Witness = tuple[tuple[int, int], ...]
"""Decisions (choice uid, option) that give an outcome, with the table's key."""
Outcomes = dict[Any, tuple[Any, Witness]]
"""Each outcome once (by `_key`, or `_ERROR`/`_EXCLUDED` itself): the value, a witness."""
Table = tuple[tuple[int, ...], dict[tuple[int, ...], Outcomes]]
"""The choices a part's outcomes are keyed by, and its outcomes per option of each."""
Combine = Callable[[list[Outcomes], int | None], Iterator[tuple[Any, Any, Witness]]]
"""A node's outcomes from its parts' (for one key), given its own option (a choice's)."""


class _Unsupported(Exception):
    """A part the tables do not compute (a layer, a record): the walk does."""


class _Tables:
    """The outcomes of a value for every combination of its choices, exactly, computed
    part by part, as a walk would compute them one combination at a time. A part's
    table is keyed only by the choices it shares with the rest of the value (`keep`):
    every other choice it reads is folded into its set of outcomes, each kept once with
    one witness. So `w // b // g * g` over 128 widths, 3 ratios and 6 group widths is
    the ~200 values of `w // b` carried through 6 values of `g` (a few thousand
    operations), not 2,304 walks of the whole expression; `c0 + ... + c19` over twenty
    choices of three is a chain of sums of at most 60 values. Work is counted against
    `budget` (one per key and per outcome computed); past it the walk takes over."""

    __slots__ = ("budget", "sizes", "memo", "applied")

    def __init__(self, budget: list[int], applied: dict[tuple, tuple]):
        self.budget = budget
        self.applied = applied
        """`Checks.applied`: what an operation gave for given values."""
        self.sizes: dict[int, int] = {}
        """Options of each choice met, by uid."""
        self.memo: dict[tuple[int, frozenset], Table] = {}
        """A part's table per kept choices: a value read twice is computed once."""

    def outcomes(self, node: SNode, guards: list[Guard]) -> Outcomes:
        """The outcomes of `node` over the combinations every guard allows (a guard
        that cannot be computed excludes its combinations, as in `_Trial.holds`)."""
        branches = [branch for _, branch in guards]

        def allowed(parts: list[Outcomes], _: int | None) -> Iterator[tuple[Any, Any, Witness]]:
            witness: Witness = ()
            for branch, got in zip(branches, parts, strict=False):
                taken = next((w for v, w in got.values() if v is branch), None)
                if taken is None:
                    return
                witness += taken
            for key, (value, w) in parts[-1].items():
                yield key, value, witness + w

        return self._join([pred for pred, _ in guards] + [node], frozenset(), allowed)[1][()]

    def table(self, node: SNode, keep: frozenset) -> Table:
        keep = keep & node.vars
        known = self.memo.get((id(node), keep))
        if known is not None:
            return known
        t = type(node)
        if t is Const:
            out: Table = ((), {(): {_hashed(node.value): (node.value, ())}})
        elif t is Choice:
            self.sizes[node.uid] = len(node.options)
            if all(type(o) is Const for o in node.options):
                out = self._constants(node, keep)
            else:
                out = self._join(list(node.options), keep, _select, node.uid)
        elif t is Derived:
            out = self._join(list(node.args), keep, self._applying(node.fn))
        elif t is Cond:
            out = self._join([node.pred, node.then, node.orelse], keep, _branch)
        elif t is ListNode:
            out = self._join(list(node.items), keep, self._applying(_listed))
        elif t is InitNode:
            kind = node.kind
            out = self._join([node.gain], keep, self._applying(lambda g: Init(kind, g)))
        elif t is Fail:  # `_Trial` stops at it without computing its message
            out = ((), {(): {_EXCLUDED: (_EXCLUDED, ())}})
        else:
            raise _Unsupported
        self.memo[(id(node), keep)] = out
        return out

    def _constants(self, node: Choice, keep: frozenset) -> Table:
        self.spend(len(node.options))
        if node.uid in keep:
            return (node.uid,), {(i,): {_hashed(o.value): (o.value, ())}
                                 for i, o in enumerate(node.options)}
        outcomes: Outcomes = {}
        for i, o in enumerate(node.options):
            outcomes.setdefault(_hashed(o.value), (o.value, ((node.uid, i),)))
        return (), {(): outcomes}

    def _join(self, parts: list[SNode], keep: frozenset, combine: Combine,
              own: int | None = None) -> Table:
        """A node's table from its parts': the choices two parts share (and those kept,
        and the node's `own` choice) are enumerated together, each part's outcomes taken
        for them, and `combine` makes the node's; kept choices key the result, the
        others go into its witnesses."""
        seen: set[int] = set()
        shared = set(keep)
        for p in parts:
            shared |= seen & p.vars
            seen |= p.vars
        if own is not None:
            shared.add(own)
        subs = [self.table(p, frozenset(shared)) for p in parts]
        joint = sorted(set().union(*(k for k, _ in subs), () if own is None else (own,)))
        where = {u: n for n, u in enumerate(joint)}
        picks = [[where[u] for u in k] for k, _ in subs]
        kept = [n for n, u in enumerate(joint) if u in keep]
        dropped = [n for n, u in enumerate(joint) if u not in keep]
        mine = None if own is None else where[own]
        out: dict[tuple[int, ...], Outcomes] = {}
        budget = self.budget
        if math.prod(self.sizes[u] for u in joint) > budget[0]:
            raise _Spent  # more combinations of the shared choices than the work left
        for combo in itertools.product(*(range(self.sizes[u]) for u in joint)):
            got = [t[tuple(combo[n] for n in pick)] for (_, t), pick in zip(subs, picks, strict=True)]
            extra = tuple((joint[n], combo[n]) for n in dropped)
            bucket = out.setdefault(tuple(combo[n] for n in kept), {})
            budget[0] -= 1
            for key, value, witness in combine(got, None if mine is None else combo[mine]):
                budget[0] -= 1
                if budget[0] < 0:
                    raise _Spent
                if key not in bucket:
                    bucket[key] = (value, extra + witness)
        if budget[0] < 0:
            raise _Spent
        return tuple(joint[n] for n in kept), out

    def spend(self, amount: int = 1) -> None:
        self.budget[0] -= amount
        if self.budget[0] < 0:
            raise _Spent

    def _applying(self, fn: Callable[..., Any]) -> Combine:
        """A derived value's outcomes: `fn` of each combination of its parts' values; a
        part that fails decides the outcome, the first one in order (as a walk stops
        there). What an operation gives for given values is kept for the load: the four
        stages of AnyNetX divide the same widths by the same ratios."""
        applied = self.applied
        how = (_behaviour(fn.fn), fn.label, id(fn.limits)) if type(fn) is Operation \
            else _behaviour(fn)

        def outcome(keys: tuple, args: list[Any]) -> tuple[Any, Any, Any]:
            known = applied.get(keys)
            if known is None:
                try:
                    value = fn(*args)
                    known = (_hashed(value), value, fn)
                except (DarchError, ArithmeticError, TypeError, ValueError):
                    known = (_ERROR, _ERROR, fn)
                applied[keys] = known  # holding fn keeps the ids in `how` its own
            return known

        def combine(parts: list[Outcomes], _: int | None) -> Iterator[tuple[Any, Any, Witness]]:
            if len(parts) == 2:  # most operators: no product of tuples to make
                first, second = parts
                for k1, (v1, w1) in first.items():
                    if v1 is _ERROR or v1 is _EXCLUDED:
                        yield v1, v1, w1
                        continue
                    for k2, (v2, w2) in second.items():
                        if v2 is _ERROR or v2 is _EXCLUDED:
                            yield v2, v2, w1 + w2
                            continue
                        got = outcome((how, k1, k2), [v1, v2])
                        yield got[0], got[1], w1 + w2
                return
            for combo in itertools.product(*(p.items() for p in parts)):
                witness: Witness = ()
                args = []
                keys: list[Any] = [how]
                for key, (value, w) in combo:
                    witness += w
                    if value is _ERROR or value is _EXCLUDED:
                        yield value, value, witness
                        break
                    args.append(value)
                    keys.append(key)
                else:
                    got = outcome(tuple(keys), args)
                    yield got[0], got[1], witness
        return combine


def _hashed(value: Any) -> Any:
    """`_key(value)`, or `_Unsupported` for a value that is no set member (a record)."""
    key = _key(value)
    try:
        hash(key)
    except TypeError:
        raise _Unsupported from None
    return key


def _select(parts: list[Outcomes], own: int | None) -> Iterator[tuple[Any, Any, Witness]]:
    """A choice's outcomes: its option's."""
    assert own is not None
    for key, (value, witness) in parts[own].items():
        yield key, value, witness


def _branch(parts: list[Outcomes], _: int | None) -> Iterator[tuple[Any, Any, Witness]]:
    """An `if` value's outcomes: its condition's errors, and the branch it takes's."""
    pred, then, orelse = parts
    for value, witness in pred.values():
        if value is _ERROR or value is _EXCLUDED or type(value) is not bool:
            marker = _EXCLUDED if value is _EXCLUDED else _ERROR
            yield marker, marker, witness
            continue
        for key, (v, w) in (then if value else orelse).items():
            yield key, v, witness + w


def _listed(*items: Any) -> list:
    return list(items)


def _tabled(interp: Interpreter, node: SNode, guards: list[Guard], test: Test
            ) -> tuple[Witness | None, dict[Any, Any]] | None:
    """(None, the values) when every combination the guards allow gives a right value;
    (a witness, ...) of one that does not; None when the tables cannot tell (a part
    they do not compute, or past the value's share of the work)."""
    tables = _Tables(_budget(interp), interp.checks.applied)
    right: dict[Any, Any] = {}
    try:
        for key, (value, witness) in tables.outcomes(node, guards).items():
            if value is _EXCLUDED:
                continue
            if value is not _ERROR:
                try:
                    test(value)
                except DarchError:
                    return witness, right
                right[key] = value
                continue
            return witness, right
    except (_Spent, _Unsupported):
        return None
    finally:
        _spend(interp, tables.budget)
    return None, right


def _relevant(guards: tuple[Guard, ...], node: SNode) -> list[Guard]:
    """The guards that share choices with the value, directly or through other such
    guards, outermost first: the others cannot exclude any of its values."""
    want = node.vars
    chosen: set[int] = set()
    grew = True
    while grew:
        grew = False
        for k, (pred, _) in enumerate(guards):
            if k not in chosen and pred.vars & want:
                chosen.add(k)
                want = want | pred.vars
                grew = True
    return [g for k, g in enumerate(guards) if k in chosen]


def _search(interp: Interpreter, node: SNode, test: Test, collect: dict | None
            ) -> tuple[DarchError, list[tuple[Choice, int]]] | None:
    """A combination the choices and guards allow that makes the value wrong, with its
    decisions; None when none is found. The tables (`_Tables`) try every combination
    first, at a fraction of the cost of walking each: when they find none wrong that
    is the proof (`collect` gets the values). Else every combination is walked in turn
    (each right value kept in `collect`), which names the first wrong one as sampling
    takes the choices; past the value's share of the work, the tables' wrong one is
    replayed, or random combinations are tried (`collect` then holds `_UNKNOWN`: the
    values found are not all)."""
    guards = _relevant(interp.guards, node)
    others = [g for g in interp.guards if not any(g is r for r in guards)]
    if others and not _reachable(interp, others):
        return None  # no architecture builds the value here
    tabled = _tabled(interp, node, guards, test)
    if tabled is not None and tabled[0] is None:
        if collect is not None:
            for key, value in tabled[1].items():
                collect.setdefault(key, _frozen(value))
        return None
    trial = _Trial(_budget(interp))
    prefix: list[int] | None = []
    try:
        while prefix is not None:
            trial.start(prefix)
            err = trial.run(node, guards, test)
            if err is not None:
                return err, trial.reached
            if collect is not None and trial.value is not _NONE:
                collect.setdefault(_key(trial.value), _frozen(trial.value))
            prefix = trial.next_prefix()
        return None
    except _Spent:
        if collect is not None:
            collect.clear()
            collect[_UNKNOWN] = None
    finally:
        _spend(interp, trial.budget)
    if tabled is not None:  # the tables' wrong combination, walked for its error
        trial = _Trial([FLOOR, FLOOR], fixed=dict(tabled[0]))
        try:
            trial.start([])
            err = trial.run(node, guards, test)
        except _Spent:
            err = None
        if err is not None:
            return err, trial.reached
    trial = _Trial(_budget(interp), random.Random(0))
    try:
        for _ in range(SAMPLES):
            trial.start([])
            err = trial.run(node, guards, test)
            if err is not None:
                return err, trial.reached
    except _Spent:  # the budget ran out among the samples: none of those drawn failed
        return None
    finally:
        _spend(interp, trial.budget)
    return None


def _form(roots: list[SNode], options: dict[int, Any], held: list[SNode]) -> tuple:
    """The values `roots` compute, up to which choices they read: each node once, in the
    order first reached, as its kind, what it computes and the numbers of its parts (a
    choice of constants as its options). Values of one form take the same values for
    the same options of their choices, so they are right or wrong alike: the copies of
    a repeated block, and AnyNetX's four stages, whose choices have the same options.
    Linear in the nodes, however often a part is read; the options of a choice of
    constants are listed once per load (`options`, its choices kept in `held`)."""
    number: dict[int, int] = {}
    entries: list[Any] = []

    def visit(node: SNode) -> int:
        known = number.get(id(node))
        if known is not None:
            return known
        t = type(node)
        if t is Const:
            entry: Any = ("=", id(node.value) if type(node.value) is list else _key(node.value))
        elif t is Choice:
            entry = options.get(id(node))
            if entry is None:
                entry = (("?", tuple(_key(o.value) for o in node.options))
                          if all(type(o) is Const and type(o.value) is not list
                                 for o in node.options) else None)
                options[id(node)] = entry
                held.append(node)
            if entry is None:
                entry = ("?", *(visit(o) for o in node.options))
        elif t is Derived:
            fn = node.fn
            how = (_behaviour(fn.fn), id(fn.limits)) if type(fn) is Operation else _behaviour(fn)
            entry = (how, node.label, *(visit(a) for a in node.args))
        elif t is Cond:
            entry = ("if", visit(node.pred), visit(node.then), visit(node.orelse))
        elif t is ListNode:
            entry = ("[]", *(visit(i) for i in node.items))
        elif t is InitNode:
            entry = ("init", node.kind, visit(node.gain))
        else:  # a part the tables do not compute: itself
            entry = ("id", id(node))
        number[id(node)] = len(entries)
        entries.append(entry)
        return len(entries) - 1

    for root in roots:
        visit(root)
    return tuple(entries)


def _reachable(interp: Interpreter, guards: list[Guard]) -> bool:
    """Whether a combination of their choices takes the branches `guards` say (True
    when that cannot be told within the budget); known once per set of guards."""
    key = tuple((id(pred), branch) for pred, branch in guards)
    known = interp.checks.reachable.get(key)
    if known is not None:
        return known[1]
    trial = _Trial(_budget(interp))
    prefix: list[int] | None = []
    found = False
    try:
        while prefix is not None and not found:
            trial.start(prefix)
            found = trial.holds(guards)
            prefix = trial.next_prefix()
    except _Spent:
        found = True
    finally:
        _spend(interp, trial.budget)
    interp.checks.reachable[key] = (guards, found)  # holding the guards keeps their ids
    return found


def _budget(interp: Interpreter) -> list[int]:
    """The work one value may do now (left, given): its share, or what is left of the
    load's, and at least a little (so a value over one small choice is always tried)."""
    limit = interp.limits.check_work
    amount = max(min(limit // SHARE, limit - interp.checks.work), FLOOR)
    return [amount, amount]


def _spend(interp: Interpreter, budget: list[int]) -> None:
    interp.checks.work += budget[1] - max(budget[0], 0)


def plain(node: SNode) -> bool:
    """A constant, an initializer, or a choice of those: each option is a value as it is."""
    t = type(node)
    return t is Const or t is InitNode or t is Choice and all(plain(o) for o in node.options)


def _frozen(value: Any) -> Any:
    return tuple(_frozen(v) for v in value) if isinstance(value, list) else value


# ---- the entry points -------------------------------------------------------------------
def check_type(interp: Interpreter, node: SNode, ptype: ParamType, span: Span | None,
               what: str) -> None:
    """Raise the error of a value the choices and guards allow that is not of `ptype`
    (`{what}: {the type's problem}`, at `span`) or that cannot be computed, naming the
    choice values that make it; nothing when every allowed value is right, or when
    random combinations find no wrong one past the budget."""
    if type(node) is Derived and node.label in ("==", "!=") and type(ptype) is Bool:
        known = interp.checks.known  # `k == 2`: a boolean, unless computing k may fail
        if all(type(a) is Const or id(a) in known and not known[id(a)][2][1] for a in node.args):
            return
    values, fails = interp.checks.bounds(node, interp.limits)
    if not fails and (ptype.admits(values.kinds, values.lo, values.hi) if type(values) is Range
                      else all(ptype.check(v) is None for v in values)):
        return

    def test(value: Any) -> None:
        problem = ptype.check(value)
        if problem:
            raise DarchError(f"{what}: {problem}", span)

    passed = interp.checks.passed
    guards = _relevant(interp.guards, node)
    checks = interp.checks
    key = (id(ptype), _form([node, *(pred for pred, _ in guards)], checks.options, checks.held),
           tuple(branch for _, branch in guards))
    if key in passed:
        return
    found = _search(interp, node, test, None)
    if found is not None:
        raise _explained(*found, span, what)
    passed[key] = (ptype, node, guards)  # held, so that the ids in the key stay theirs


def values(interp: Interpreter, node: SNode, test: Test, used: Span | None = None,
           what: str = "") -> list | None:
    """`check`, and the values the choices and guards allow, each once (lists as
    tuples), when every combination could be tried; None when they could not, or when
    the guards allow none (the value is never used, and any stands for it)."""
    found: dict[Any, Any] = {}
    err = _search(interp, node, test, found)
    if err is not None:
        raise _explained(*err, used, what)
    return None if _UNKNOWN in found or not found else list(found.values())


def _explained(err: DarchError, reached: list[tuple[Choice, int]], used: Span | None,
               what: str) -> DarchError:
    """`err` with the choice values that make it: `..., when w (2:5) is 32`."""
    if not reached:
        return err
    said = [f"{_label(c, err.span)} is {_option(c, i)}" for c, i in reached[:SHOWN]]
    more = len(reached) - SHOWN
    when = " and ".join(said) + (f" (and {more} more choice{'s' if more > 1 else ''})"
                                 if more > 0 else "")
    related = [Related(c.span, f"when this choice is {_option(c, i)}") for c, i in reached[:SHOWN]
               if c.span is not None and not (err.span and _inside(c.span, err.span))]
    if used is not None and err.span is not None and not _inside(err.span, used) \
            and not _inside(used, err.span):  # the error is elsewhere (in a function)
        related.append(Related(used, f"the value is {what} here"))
    return DarchError(f"{err.message}, when {when}", err.span,
                      err.help or "every value the choices allow must be valid here: change "
                      "the options or the expression, or put this under an `if` that "
                      "excludes these values",
                      list(err.notes), [*err.related, *related])


def _inside(inner: Span, outer: Span) -> bool:
    return inner.source is outer.source and (outer.line, outer.col) <= (inner.line, inner.col) \
        and (inner.end_line, inner.end_col) <= (outer.end_line, outer.end_col)


def _label(choice: Choice, at: Span | None) -> str:
    """`w` for a named choice, else `one_of(16, 32)` with where it is written (2:5, or
    its file too when it is another's; nothing when the error's caret is under it)."""
    if choice.user_named:
        return f"`{choice.name}`"
    span = choice.span
    if span is None:
        return "a choice"
    where = "" if at is not None and _inside(span, at) else \
        f" ({span.line}:{span.col})" if at is not None and span.source is at.source \
        else f" ({span.where})"
    if span.line == span.end_line:
        text = span.source.line(span.line)[span.col - 1:span.end_col - 1]
        if len(text) <= 40:
            return f"`{text}`{where}"
    return f"the choice at {span.where}"


def _option(choice: Choice, index: int) -> str:
    option = choice.options[index]
    if type(option) is Const:
        return value_text(option.value)
    return f"its option {index + 1}"


class _Above:
    """`times > k` for copy k of a repeat (a copy is active only then): a class, so a
    guard needs no closure."""

    __slots__ = ("k",)

    def __init__(self, k: int):
        self.k = k

    def __call__(self, times: Any) -> Any:
        return operator.gt(times, self.k) if isinstance(times, int) else False


def copy_guard(times: SNode, k: int, span: Span | None) -> Guard:
    """The guard of copy k of a repeat over `times`: it is built only when times > k."""
    return Derived(_Above(k), (times,), ">", span), True
