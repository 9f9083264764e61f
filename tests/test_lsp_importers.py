"""A file that imports another is checked again when that file changes: saved in the
editor, or changed on disk (a `git checkout`, another editor), as a language server
for Python or Rust re-checks the modules that use the one that changed."""

from __future__ import annotations

import time

import pytest
from lsprotocol import types
from test_lsp import Client


@pytest.fixture(scope="module")
def client():
    c = Client()
    yield c
    code, err = c.close()
    assert err == b"", err.decode("utf-8", "replace")
    assert code == 0 and c.logs == []


MAIN = 'import "lib.darch"\nspace = concat [blk(8), affine(units: 10)]\n'


def test_saving_an_imported_file_checks_its_importers_again(client, tmp_path):
    (tmp_path / "lib.darch").write_text("def blk(f) = conv2d(filters: f, size: 3)\n")
    (tmp_path / "main.darch").write_text(MAIN)
    main = client.open(tmp_path / "main.darch")
    assert client.diagnostics(main) == []
    renamed = "def block(f) = conv2d(filters: f, size: 3)\n"
    lib = client.open(tmp_path / "lib.darch")
    client.diagnostics(lib)
    before = len(client.published[main])
    client.change(lib, renamed)
    (tmp_path / "lib.darch").write_text(renamed)  # the editor writes the file, then says so
    client.save(lib)
    [d] = client.diagnostics(main, count=before + 1)
    assert d.message.startswith("unknown name `blk`")
    assert d.range.start == types.Position(1, 16)


def test_an_imported_file_changed_on_disk_checks_its_importers_again(client, tmp_path):
    (tmp_path / "lib2.darch").write_text("def blk(f) = conv2d(filters: f, size: 3)\n")
    (tmp_path / "sub.darch").write_text('import "lib2.darch"\n')  # through a second file
    text = 'import "sub.darch"\nspace = concat [blk(8), affine(units: 10)]\n'
    main = client.open(tmp_path / "main2.darch", text)
    assert client.diagnostics(main) == []
    before = len(client.published[main])
    (tmp_path / "lib2.darch").write_text("def blk(f) = conv2d(filters: f, size: 3, bad: 1)\n")
    client.notify(client.lsp.workspace_did_change_watched_files, types.DidChangeWatchedFilesParams(
        [types.FileEvent((tmp_path / "lib2.darch").as_uri(), types.FileChangeType.Changed)]))
    [d] = client.diagnostics(main, count=before + 1)
    assert "`conv2d` has no parameter `bad`" in d.message


def test_the_server_asks_to_hear_of_darch_files_changed_on_disk():
    watching = types.ClientCapabilities(workspace=types.WorkspaceClientCapabilities(
        did_change_watched_files=types.DidChangeWatchedFilesClientCapabilities(
            dynamic_registration=True)))
    c = Client(capabilities=watching)
    deadline = time.monotonic() + 10
    while not c.registrations and time.monotonic() < deadline:
        time.sleep(0.05)
    code, err = c.close()
    assert (code, err, c.logs) == (0, b"", [])
    [registration] = c.registrations
    assert registration.method == types.WORKSPACE_DID_CHANGE_WATCHED_FILES
    assert registration.register_options["watchers"] == [{"globPattern": "**/*.darch"}]
