"""Positions: darchlang spans (1-based lines and columns in code points) and LSP
positions (0-based lines, columns in the UTF-16, UTF-8 or UTF-32 units the client chose).

Lines are split at `\\n` only, as the parser counts them, so a stray form feed or
carriage return never shifts a diagnostic onto the wrong line.
"""

from __future__ import annotations

from lsprotocol import types
from pygls.workspace.position_codec import PositionCodec

from darchlang.errors import Span


class Lines:
    """A text split into lines, converting between offsets, spans and LSP positions."""

    def __init__(self, text: str, codec: PositionCodec | None = None):
        self.text = text
        self.lines = text.split("\n")
        self.codec = codec or PositionCodec()
        self.starts = [0]
        for line in self.lines[:-1]:
            self.starts.append(self.starts[-1] + len(line) + 1)

    def _units(self, text: str) -> int:
        return self.codec.client_num_units(text)

    def position(self, line: int, col: int) -> types.Position:
        """The LSP position of a 1-based line and column (clamped to the text)."""
        row = max(0, min(line - 1, len(self.lines) - 1))
        text = self.lines[row]
        index = max(0, min(col - 1, len(text)))
        return types.Position(row, self._units(text[:index]))

    def range(self, span: Span) -> types.Range:
        return types.Range(self.position(span.line, span.col),
                           self.position(span.end_line, span.end_col))

    def offset(self, position: types.Position) -> int:
        """The string offset of an LSP position (clamped to its line)."""
        row = max(0, min(position.line, len(self.lines) - 1))
        text = self.lines[row]
        units = 0
        for index, char in enumerate(text):
            if units >= position.character:
                return self.starts[row] + index
            units += self._units(char)
        return self.starts[row] + len(text)

    def line_col(self, position: types.Position) -> tuple[int, int]:
        """The 1-based line and column (code points) of an LSP position."""
        offset = self.offset(position)
        row = max(0, min(position.line, len(self.lines) - 1))
        return row + 1, offset - self.starts[row] + 1

    def position_at(self, offset: int) -> types.Position:
        """The LSP position of a string offset."""
        offset = max(0, min(offset, len(self.text)))
        row = 0
        lo, hi = 0, len(self.starts) - 1
        while lo <= hi:  # the last line starting at or before `offset`
            mid = (lo + hi) // 2
            if self.starts[mid] <= offset:
                row, lo = mid, mid + 1
            else:
                hi = mid - 1
        return types.Position(row, self._units(self.lines[row][: offset - self.starts[row]]))

    def range_at(self, start: int, end: int) -> types.Range:
        """The range between two string offsets."""
        return types.Range(self.position_at(start), self.position_at(end))

    def whole(self) -> types.Range:
        """The range of the whole text (for a full-document edit)."""
        return types.Range(types.Position(0, 0), self.position_at(len(self.text)))


def contains(span: Span | None, line: int, col: int) -> bool:
    """Whether a 1-based line and column lies in the span (its end included, so the
    cursor just after a name still counts as on it)."""
    if span is None:
        return False
    return (span.line, span.col) <= (line, col) <= (span.end_line, span.end_col)
