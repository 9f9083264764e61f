"""Key bindings: Enter runs complete input and continues incomplete input.

Whether input is complete is the parser's verdict (`reader.state`): inside an open
bracket, or after `def f(x) =`, Enter starts a new line indented by the brackets still
open. A blank line submits anyway, so the validator can say what is missing. With
a completion selected in the menu, Enter takes the completion and runs nothing. A
closing bracket typed at the start of an indented line moves back to the indentation
of the line that opened it, as an editor does.
"""

from __future__ import annotations

from prompt_toolkit.document import Document
from prompt_toolkit.key_binding import KeyBindings, KeyPressEvent

from darchlang.app.complete import scan
from darchlang.app.reader import state

INDENT = "    "


def continues(document: Document) -> bool:
    """Whether Enter should start a new line rather than submit the input."""
    text = document.text
    if state(text) != "incomplete":
        return False
    last = text.rsplit("\n", 1)[-1]
    return "\n" not in text or bool(last.strip())


def key_bindings() -> KeyBindings:
    """Enter submits complete input and continues incomplete input (indented)."""
    bindings = KeyBindings()

    @bindings.add("enter")
    @bindings.add("c-j")
    def _enter(event: KeyPressEvent) -> None:
        buffer = event.current_buffer
        completion = buffer.complete_state.current_completion if buffer.complete_state else None
        if completion is not None:
            buffer.apply_completion(completion)
            return
        if continues(buffer.document):
            depth = scan(buffer.document.text_before_cursor).depth
            buffer.insert_text("\n" + INDENT * depth)
            return
        buffer.validate_and_handle()

    @bindings.add("]")
    @bindings.add(")")
    @bindings.add("}")
    def _close(event: KeyPressEvent) -> None:
        # A closing bracket typed on an indented line of its own goes back to the
        # indentation of the line that opened it.
        buffer = event.current_buffer
        line = buffer.document.current_line_before_cursor
        if line and not line.strip():
            depth = scan(buffer.document.text_before_cursor).depth
            buffer.delete_before_cursor(len(line))
            buffer.insert_text(INDENT * max(depth - 1, 0))
        buffer.insert_text(event.data)

    return bindings
