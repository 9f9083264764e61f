"""What a name stands for, in words: the REPL's replies, `:help`, and an editor's hover.

`kind_label` is one word (`layer`, `function`, `sub-space`), `brief` one line (what
a value is and, for a space, how big), `help_text` the signature and documentation of
a layer, builtin or `def`.
"""

from __future__ import annotations

from typing import Any

from darchlang.app.reader import offset_of
from darchlang.environment import Environment
from darchlang.errors import DarchError, Span
from darchlang.layers.defs import REQUIRED
from darchlang.semantics.builtins import possible_values
from darchlang.semantics.interpreter import is_space
from darchlang.semantics.values import Builtin, Closure
from darchlang.space.nodes import Choice, RecordNode, SNode
from darchlang.space.show import describe_value
from darchlang.space.space import Space
from darchlang.text import format_value, plural, type_name, value_text


def kind_label(value: Any, env: Environment) -> str:
    """A one-word description of a value, shown beside its name in a menu."""
    if isinstance(value, Builtin):
        return "layer" if value.name in env.layers else "builtin"
    if isinstance(value, Closure):
        return "function"
    if isinstance(value, RecordNode):
        return "hyperparams"
    if is_space(value):
        return "sub-space"
    if isinstance(value, Choice):
        return "choice"
    if isinstance(value, SNode):
        return "derived value"
    if isinstance(value, dict):
        return "record"
    return type_name(value)


def with_article(value: Any, env: Environment) -> str:
    """`a layer`, `an integer`: the kind label for a sentence."""
    label = kind_label(value, env)
    return f"a {label}" if label[0] not in "aeiou" else f"an {label}"


def space_of(value: Any, name: str) -> Space:
    """A value that is a space (layers, a choice, a `hyperparams` block) as a `Space`."""
    if isinstance(value, RecordNode):
        return Space(None, value, hyperparams_name=name)
    return Space(value, None, network_name=name)


def size_text(value: Any, name: str) -> str:
    """How many points a space value has, named for what they are: networks are
    architectures, a `hyperparams` block's points are combinations of settings."""
    n = space_of(value, name).count()
    if isinstance(value, RecordNode):
        return plural(n, "combination") + " of training settings"
    return plural(n, "architecture")


def brief(value: Any, name: str, env: Environment) -> str:
    """One line about a value: what it is and, for a space, how big it is."""
    if isinstance(value, Closure):
        return f"function {signature(value)}"
    if isinstance(value, Builtin):
        return f"{kind_label(value, env)} {value.name}"
    if is_space(value) or isinstance(value, RecordNode):
        kind = kind_label(value, env)
        try:
            return f"{kind}, {size_text(value, name)}"
        except DarchError as err:
            return f"{kind} ({err.message})"
    if isinstance(value, Choice):
        return "choice of " + " | ".join(describe_value(o) for o in value.options)
    if isinstance(value, SNode):
        return f"{describe_value(value)} ({depends(value)})"
    return value_text(value)


def help_text(value: Closure | Builtin, env: Environment) -> str:
    """A function's signature and documentation: a layer's parameters with their types,
    defaults and meanings; a `def` as it was written."""
    if isinstance(value, Closure):
        span = value.defn.span
        return span_text(span) if span is not None else f"def {signature(value)}"
    layer = env.layers.get(value.name)
    if layer is None:
        params = "..." if value.variadic else ", ".join(value.params)
        return f"{value.name}({params})\n  {value.doc}"
    lines = [layer.signature(), f"  {layer.doc}"]
    for p in layer.params:
        default = "required" if p.default is REQUIRED else f"default {format_value(p.default)}"
        lines.append(f"  {p.name}: {p.type.name}, {default}; {p.doc}")
    return "\n".join(lines)


def signature(closure: Closure) -> str:
    """`block(filters, size = 3)`: a `def`'s name and parameters as written."""
    params = []
    for p in closure.defn.params:
        if p.default is None:
            params.append(p.name)
        elif p.default.span is not None:
            params.append(f"{p.name} = {span_text(p.default.span)}")
        else:
            params.append(f"{p.name} = ...")
    return f"{closure.name}({', '.join(params)})"


def depends(node: SNode) -> str:
    """The values a derived value may take: `depends on choices: 64 | 128`."""
    try:
        found = possible_values(node)
    except ValueError:
        return "depends on choices"
    try:
        values = sorted(found)
    except TypeError:  # values of different kinds
        values = sorted(found, key=repr)
    shown = " | ".join(value_text(list(v) if isinstance(v, tuple) else v) for v in values[:10])
    more = " | ..." if len(values) > 10 else ""
    return f"depends on choices: {shown}{more}"


def span_text(span: Span) -> str:
    """The source text a span covers."""
    text = span.source.text
    return text[offset_of(text, span.line, span.col):offset_of(text, span.end_line, span.end_col)]
