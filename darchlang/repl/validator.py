"""The validator: a syntax error is marked at its place before the input runs.

prompt_toolkit calls `validate` when the user submits. A parse error becomes a
`ValidationError` whose cursor position is the error's line and column, so the
cursor jumps to the mistake and the message shows below the input; nothing runs
until the input parses. Unfinished input (an open bracket) is reported at its end
too: Enter continues such input, so it is only submitted when the user insists.
"""

from __future__ import annotations

from prompt_toolkit.document import Document
from prompt_toolkit.validation import ValidationError, Validator

from darchlang.app.reader import kind_of, offset_of, parse_input
from darchlang.errors import DarchError


def error_position(text: str) -> tuple[int, str] | None:
    """The offset and message of the syntax error in `text`, or None when it parses."""
    if kind_of(text) in ("empty", "command"):
        return None
    try:
        parse_input(text)
    except DarchError as err:
        message = err.message if not err.help else f"{err.message} ({err.help})"
        if err.span is None:
            return len(text), message
        return offset_of(text, err.span.line, err.span.col), message
    return None


class DarchValidator(Validator):
    """Rejects input that does not parse, pointing the cursor at the error."""

    def validate(self, document: Document) -> None:
        found = error_position(document.text)
        if found is not None:
            offset, message = found
            raise ValidationError(cursor_position=offset, message=message)
