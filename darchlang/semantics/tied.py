"""`tied(f)`: a function whose calls all share the choices made inside its body.

NASNet, ENAS, DARTS, PNAS and AmoebaNet use one normal and one reduction cell at every
width of the network. A cell's layers need its width, so each stage calls the cell
function, and a call builds fresh choices. `normal = tied(cell)` makes `normal(16)` and
`normal(32)` build cells of their own widths over ONE set of decisions.

A choice inside a tied call is identified by its place in the body's evaluation: the
span of the `one_of`/`choose`, the spans of the calls between the tied body and it,
and how many times that (span, calls) place was reached before in the same call (a
`repeat` or a recursive call reaches one place several times). The first call that
reaches a place makes the choice; every later call reaching the same place makes a
*twin*: a `Choice` with the same uid (one decision: sampling, replay and counting key
choices by uid) whose options are its own call's (a `conv2d(filters: c)` option has
that call's width). So the decision is the index of the option, shared; options may
differ with the arguments (`one_of(c, 2 * c)`), but their number, kind, weights and
name must not. A place only a later call reaches (a branch taken for its argument) is
a new choice, shared by the calls after that reach it.

Tied choices are named after the tied binding (`normal = tied(cell)`: `normal/...`),
with the path inside the first call's result.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from darchlang.errors import DarchError, Related, Span
from darchlang.semantics.interpreter import is_space
from darchlang.semantics.values import Builtin, Call, Closure, bind
from darchlang.space.naming import name_choices
from darchlang.space.nodes import Choice, SNode
from darchlang.text import describe

if TYPE_CHECKING:
    from darchlang.semantics.interpreter import Interpreter

Place = tuple[Any, ...]


def _at(span: Span | None) -> tuple[Any, ...]:
    return () if span is None else (span.source.name, span.line, span.col)


@dataclass
class Tie:
    """The shared state of one `tied(f)` value: its choices by place."""

    func: Closure
    name: str
    named: bool = False  # by `name:` or after its binding
    choices: dict[Place, tuple[Choice, Span | None]] = field(default_factory=dict)
    """Each place's choice and the call of the tied function that made it."""


@dataclass
class TieFrame:
    """One call of a tied function under way: where its body starts in the call trace,
    and how often each place was reached so far in this call."""

    tie: Tie
    base: int
    site: Span | None
    reached: dict[Place, int] = field(default_factory=dict)
    made: list[Choice] = field(default_factory=list)


def share(call: Call, choice: Choice) -> Choice:
    """The choice a `one_of`/`choose` call makes: `choice` itself outside tied calls
    and the first time a tied function reaches this place; a twin of the first call's
    choice otherwise."""
    frame: TieFrame | None = call.interp.tie
    if frame is None:
        return choice
    path = tuple(_at(site.span) for site in call.interp.trace[frame.base:])
    spot = (_at(call.span), path)
    n = frame.reached.get(spot, 0)
    frame.reached[spot] = n + 1
    place = (*spot, n)
    known = frame.tie.choices.get(place)
    if known is None:
        frame.tie.choices[place] = (choice, frame.site)
        frame.made.append(choice)
        return choice
    first, site = known
    _check_twin(first, choice, call.span, frame.tie.name, (site, frame.site))
    choice.vars = (choice.vars - {choice.uid}) | {first.uid}
    choice.uid = first.uid
    choice.bound_name = first.bound_name
    return choice


def _check_twin(first: Choice, twin: Choice, span: Span | None, name: str,
                calls: tuple[Span | None, Span | None]) -> None:
    problem = None
    if len(first.options) != len(twin.options):
        problem = f"has {_options(len(twin.options))} here and {len(first.options)} in the first call"
    elif is_space(first) != is_space(twin):
        problem = "picks layers in one call and values in the other"
    elif first.weights != twin.weights:
        problem = "has other weights than in the first call"
    elif first.name != twin.name:
        problem = f"is named `{twin.name}` here and `{first.name}` in the first call"
    if problem:
        related = [Related(s, what) for s, what in zip(
            calls, (f"the first call, where it has {_options(len(first.options))}", "this call"),
            strict=True) if s is not None]
        raise DarchError(f"this choice of tied `{name}` {problem}", span, related=related,
                         help="calls of a tied function share each choice's option index: "
                         "keep its options as many and of the same kind in every call")


@dataclass
class TiedFunction(Builtin):
    """The value of `tied(f)`: called like `f`."""

    tie: Tie | None = None

    def bound_to(self, name: str) -> None:
        """Bound to a name: its choices are named after the binding (unless `name:`)."""
        assert self.tie is not None
        if not self.tie.named:
            self.tie.name = name
            self.tie.named = True


def _options(n: int) -> str:
    return f"{n} option{'s' if n != 1 else ''}"


def tied(call: Call) -> TiedFunction:
    """`tied(f)` or `tied(f, name: "normal")`: `f` whose calls share their choices."""
    bound = bind(call, ("function", "name"), 1)
    func = bound["function"].value
    if not isinstance(func, Closure):
        got = f"the built-in `{func.name}`" if isinstance(func, Builtin) else describe(func)
        raise DarchError(f"`tied` takes a function defined with `def`, got {got}",
                         bound["function"].span,
                         help="write `def cell(c) = ...` and then `normal = tied(cell)`")
    name = func.name
    if "name" in bound:
        given = bound["name"].value
        if not isinstance(given, str) or not given:
            raise DarchError(f"a tied function's name must be a non-empty string, got "
                             f"{describe(given)}", bound["name"].span)
        name = given
    tie = Tie(func, name, "name" in bound)
    params = tuple(p.name for p in func.defn.params)
    return TiedFunction(func.name, lambda c: _call_tied(tie, c), params,
                        f"`{func.name}` with every call sharing its choices (`tied`).", tie=tie)


def _call_tied(tie: Tie, call: Call) -> Any:
    interp: Interpreter = call.interp
    outer = interp.tie
    frame = TieFrame(tie, len(interp.trace) + 1, call.span)  # past the tied call's own site
    interp.tie = frame
    try:
        result = interp.call_closure(tie.func, call.args, call.span)
    finally:
        interp.tie = outer
    if frame.made:
        _name(tie, frame.made, result)
    return result


def _name(tie: Tie, made: list[Choice], result: Any) -> None:
    """Name the choices this call made first: `tie.name` and their path in `result`."""
    fresh = {c.uid for c in made if not c.user_named and c.bound_name is None}
    if not fresh or not isinstance(result, SNode):
        return
    try:
        naming = name_choices([(tie.name, result)])
    except DarchError:
        return  # the program's own naming reports it
    for named in naming.choices:
        if named.uid in fresh:
            named.node.bound_name = named.name
