"""Rename through the protocol, as an editor asks for it: prepare (what would be
renamed), then the edits; a name defined elsewhere, a clash or a broken file is
refused with the reason the editor shows."""

from __future__ import annotations

import pytest
from lsprotocol import types
from pygls.exceptions import JsonRpcException
from test_lsp import Client, doc, where

TEXT = """\
def block(width, size = 3) = concat [conv2d(filters: width, size: size), relu()]
w = one_of(8, 16)
space = concat [block(w), block(width: 2 * w, size: 5), affine(units: 10)]
"""


@pytest.fixture(scope="module")
def client():
    c = Client()
    yield c
    code, err = c.close()
    assert err == b"", err.decode("utf-8", "replace")
    assert code == 0 and c.logs == []


@pytest.fixture(scope="module")
def uri(client, tmp_path_factory):
    uri = client.open(tmp_path_factory.mktemp("rename") / "r.darch", TEXT)
    assert client.diagnostics(uri) == []
    return uri


def rename(client, uri, at, new):
    return client.call(client.lsp.text_document_rename_async(
        types.RenameParams(doc(uri), at, new)))


def apply(text, edit):
    lines = text.splitlines(keepends=True)
    for e in sorted(edit, key=lambda e: (e.range.start.line, e.range.start.character),
                    reverse=True):
        line = lines[e.range.start.line]
        lines[e.range.start.line] = (line[:e.range.start.character] + e.new_text
                                     + line[e.range.end.character:])
    return "".join(lines)


def test_the_server_offers_rename_with_prepare(client):
    assert client.init.capabilities.rename_provider  # with prepare, for clients that ask


def test_renaming_a_binding_renames_its_definition_and_uses(client, uri):
    answer = client.call(client.lsp.text_document_prepare_rename_async(
        types.PrepareRenameParams(doc(uri), where(TEXT, "w)"))))
    assert answer.start == where(TEXT, "w)")
    edit = rename(client, uri, where(TEXT, "w)"), "width_choice")
    assert apply(TEXT, edit.changes[uri]).splitlines()[1:] == [
        "width_choice = one_of(8, 16)",
        "space = concat [block(width_choice), block(width: 2 * width_choice, size: 5), "
        "affine(units: 10)]"]


def test_renaming_a_parameter_renames_the_keyword_arguments_that_pass_it(client, uri):
    edit = rename(client, uri, where(TEXT, "width:", 1), "channels")  # from a call's keyword
    renamed = apply(TEXT, edit.changes[uri])
    assert renamed.splitlines()[0].startswith(
        "def block(channels, size = 3) = concat [conv2d(filters: channels,")
    assert "block(channels: 2 * w, size: 5)" in renamed
    assert "filters: channels" in renamed and "conv2d(filters:" in renamed  # not conv2d's


@pytest.mark.parametrize(("needle", "new", "reason"), [
    ("conv2d", "conv", "`conv2d` is defined in the standard library or an import, "
                       "not in this file"),
    ("filters:", "f", "`filters` is a parameter of `conv2d`, which is not defined in this "
                      "file"),
    ("w = ", "space", "`space` is already defined at line 3"),
    ("w = ", "relu", "`relu` is used in this file for a name defined elsewhere"),
    ("w = ", "2w", "`2w` is not a name"),
    ("w = ", "def", "`def` is not a name"),
])
def test_what_cannot_be_renamed_is_refused_with_the_reason(client, uri, needle, new, reason):
    with pytest.raises(JsonRpcException) as refused:
        rename(client, uri, where(TEXT, needle), new)
    assert str(refused.value).startswith(reason)


def test_a_file_that_does_not_parse_is_not_renamed(client, tmp_path):
    broken = TEXT + "x = concat [\n"
    uri = client.open(tmp_path / "broken.darch", broken)
    client.diagnostics(uri)
    with pytest.raises(JsonRpcException) as refused:
        rename(client, uri, where(broken, "w = "), "v")
    assert "does not parse" in str(refused.value)
