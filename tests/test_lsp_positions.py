"""Positions between darchlang spans and LSP positions, in every encoding a client may
choose: a round trip through a client position lands on the same offset, and a span
maps to the units the client counts."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st
from lsprotocol import types
from pygls.workspace.position_codec import PositionCodec

from darchlang.errors import Source, Span
from darchlang.lsp.analysis import statements_before
from darchlang.lsp.positions import Lines

ENCODINGS = [types.PositionEncodingKind.Utf8, types.PositionEncodingKind.Utf16,
             types.PositionEncodingKind.Utf32]
TEXT = st.text(st.sampled_from(["a", "_", " ", "\n", "\r", "\t", "é", "😀", "中", "#"]),
               max_size=40)


@given(TEXT, st.sampled_from(ENCODINGS))
def test_every_offset_survives_a_round_trip_through_the_client(text, encoding):
    lines = Lines(text, PositionCodec(encoding))
    for offset in range(len(text) + 1):
        assert lines.offset(lines.position_at(offset)) == offset


def test_a_span_counts_the_units_of_the_clients_encoding():
    text = 'x = "😀é" + y\n'
    source = Source("f.darch", text)
    col = text.index("y") + 1
    span = Span(source, 1, col, 1, col + 1)
    # `x = "` and `" + ` are 9 units in any encoding; 😀 is 4, 2 or 1 units, é 2, 1 or 1
    expected = {types.PositionEncodingKind.Utf8: 9 + 4 + 2,
                types.PositionEncodingKind.Utf16: 9 + 2 + 1,
                types.PositionEncodingKind.Utf32: 9 + 1 + 1}
    for encoding, units in expected.items():
        assert Lines(text, PositionCodec(encoding)).range(span).start == types.Position(0, units)


def test_statements_before_the_cursor_end_where_the_cursors_statement_starts():
    text = "a = 1\ndef f(x) = concat [\n    relu(),\n]\nb = f(\n"
    assert statements_before(text, len(text)) == "a = 1\ndef f(x) = concat [\n    relu(),\n]\n"
    assert statements_before(text, text.index("relu")) == "a = 1\n"
    assert statements_before(text, 0) == ""
