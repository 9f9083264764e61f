"""Values as text: the one place that decides how darchlang writes a value for people.

Every front end (the printer, error messages, `darch show`, the compile table, the
REPL, reports, the language server) shows values through these functions, so a
number, a string, an initializer, a shape or a file name reads the same everywhere:

- `format_value`: a literal in darchlang syntax (`0.5`, `"same"`, `kaiming(1.0)`),
  the spelling the printer writes and the parser reads back;
- `describe`: a value in an error message, its kind first (`integer 3`, `list`);
- `type_name`: the kind alone (`integer`, `initializer`);
- `value_text`: any value a user may look at, records and lists included, never
  failing (what has no literal reads as `describe` says);
- `layer_where`: where a layer comes from (`file:31, in inner at :9`);
- `display_path`: a source file's name as the user reads it (relative to the working
  directory when under it, else its file name): never a machine's absolute path in
  text that travels (exported source, tables).

A node of a space (a choice, a derived formula) reads through `space.show.
describe_value`, a visitor over node kinds that spells each constant with
`format_value`; a tensor shape through `layers.shapes.shape_text`, beside the
layouts it names. This module imports only the architecture IR at load time (the
printer of whole networks where it is needed), so every layer of the package may
import it.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

from darchlang.arch.graph import Init, Node, Ref


def format_value(value: Any) -> str:
    """A literal in darchlang syntax; floats keep their shortest exact spelling."""
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            raise ValueError(f"cannot print non-finite number {value}")
        text = repr(value)
        return text if any(c in text for c in ".en") else text + ".0"
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, Init):
        return f"{value.kind}({format_value(value.gain)})"
    if isinstance(value, Ref):
        return value.name
    if isinstance(value, list | tuple):
        return "[" + ", ".join(format_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {format_value(v)}" for k, v in value.items()) + "}"
    if isinstance(value, Node):
        from darchlang.arch.printer import node_text

        return node_text(value, 0)
    raise TypeError(f"no darchlang spelling for {type(value).__name__}")


def type_name(value: Any) -> str:
    """The kind of a value as messages name it: `integer`, `string`, `initializer`."""
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, Init):
        return "initializer"
    if isinstance(value, list | tuple):
        return "list"
    if isinstance(value, dict):
        return "record"
    if value is None:
        return "nothing"
    return getattr(value, "type_label", type(value).__name__)


def describe(value: Any) -> str:
    """How a value reads in an error message: its kind, and the value itself unless it
    is too long to quote (a string of 100,000 characters, an integer of 301 digits)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int) and value.bit_length() > 64:
        return f"an integer of about {int(value.bit_length() * math.log10(2)) + 1:,} digits"
    if isinstance(value, str) and len(value) > 40:
        return f"a string of {len(value):,} characters"
    if isinstance(value, float) and not math.isfinite(value):
        return f"{type_name(value)} {value}"
    if isinstance(value, int | float | str | Init):
        return f"{type_name(value)} {format_value(value)}"
    return type_name(value)


def value_text(value: Any) -> str:
    """Any value a user looks at: a literal where it has one, a record as `{k: v}` (the
    interpreter keeps records as field -> (value, span)), else its description."""
    if isinstance(value, dict):
        fields = ", ".join(f"{k}: {value_text(v[0] if isinstance(v, tuple) else v)}"
                           for k, v in value.items())
        return "{" + fields + "}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(value_text(v) for v in value) + "]"
    try:
        return format_value(value)
    except (TypeError, ValueError):
        return describe(value)


def option_text(value: Any) -> str:
    """An option of a choice as tables print it: a label (`option 1`, `concat [conv2d,
    relu]`), which is text already, as it is; a value as `value_text` writes it."""
    return value if isinstance(value, str) else value_text(value)


def display_path(name: str) -> str:
    """A source name as text that may leave this machine: relative to the working
    directory when the file is under it, else the bare file name; names that are not
    files (`<repl>`, `<string>`) stay as they are."""
    if not name or name.startswith("<"):
        return name
    path = Path(name)
    if not path.is_absolute():
        return name
    try:
        return os.path.relpath(path, Path.cwd()) if path.is_relative_to(Path.cwd()) else path.name
    except (OSError, ValueError):
        return path.name


def layer_where(span: Any, trace: Any = ()) -> str:
    """Where a layer comes from, as the layer table shows it: `file:9` for a layer
    written at the top level; for one a function made, the line of the call in the
    program and the function's line, `file:31, in inner at :9` (the function's file
    too when it is another: `a.darch:12, in conv_block at lib/blocks.darch:3`)."""
    if span is None:
        return ""
    here = f"{display_path(span.source.name)}:{span.line}"
    if not trace:
        return here
    call, innermost = trace[0].span, trace[-1].function
    same_file = call.source.name == span.source.name
    if same_file and call.line == span.line:  # the layer reads as the call (an import's)
        return f"{here}, in {innermost}"
    called = f"{display_path(call.source.name)}:{call.line}"
    return f"{called}, in {innermost} at {f':{span.line}' if same_file else here}"


def plural(n: int, one: str, many: str | None = None) -> str:
    """`1 architecture`, `2,106 architectures`: a count with its noun, grouped digits."""
    return f"{n:,} {one if n == 1 else (many or one + 's')}"
