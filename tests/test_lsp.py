"""`darch lsp` through the protocol: a real LSP client (pygls's) drives the server in a
subprocess, as an editor would, and checks what comes back.

One server serves the whole module (its start-up is the slow part); the tests that
break the connection on purpose start their own. Every server's stderr must stay
empty: the protocol owns stdout, and nothing may print a traceback.
"""

from __future__ import annotations

import asyncio
import os
import sys
import threading
from pathlib import Path
from typing import Any

import pytest
from lsprotocol import types
from pygls.lsp.client import LanguageClient

from darchlang.errors import DarchError, all_errors
from darchlang.semantics.program import load_file, load_string, stdlib_dir
from darchlang.syntax.formatter import format_source

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
SERVER = [sys.executable, "-m", "darchlang.cli", "lsp"]


def server_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    return env


class Client:
    """pygls's LanguageClient on an event loop in a background thread, so that each
    test makes its requests as plain calls; diagnostics are kept per document."""

    def __init__(self, initialization_options: Any = None,
                 capabilities: types.ClientCapabilities | None = None):
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.lsp = LanguageClient("darch-tests", "1")
        self.published: dict[str, list[types.PublishDiagnosticsParams]] = {}
        self.logs: list[str] = []
        self.registrations: list[types.Registration] = []
        self.changed = threading.Condition()
        self.versions: dict[str, int] = {}

        @self.lsp.feature(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
        def on_diagnostics(ls, params: types.PublishDiagnosticsParams) -> None:
            with self.changed:
                self.published.setdefault(params.uri, []).append(params)
                self.changed.notify_all()

        @self.lsp.feature(types.CLIENT_REGISTER_CAPABILITY)
        def on_register(ls, params: types.RegistrationParams) -> None:
            self.registrations.extend(params.registrations)

        @self.lsp.feature(types.WINDOW_LOG_MESSAGE)
        def on_log(ls, params: types.LogMessageParams) -> None:
            self.logs.append(params.message)

        self.call(self.lsp.start_io(*SERVER, env=server_env(), cwd=str(ROOT)))
        self.init = self.call(self.lsp.initialize_async(types.InitializeParams(
            capabilities=capabilities or types.ClientCapabilities(),
            initialization_options=initialization_options)))
        self.notify(self.lsp.initialized, types.InitializedParams())

    @property
    def process(self) -> asyncio.subprocess.Process:
        return self.lsp._server

    def call(self, coroutine, timeout: float = 30) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)

    def notify(self, method, params: Any) -> None:
        async def send() -> None:
            method(params)

        self.call(send())

    # ---- documents -------------------------------------------------------------------
    def open(self, path: Path, text: str | None = None) -> str:
        uri = path.resolve().as_uri()
        self.versions[uri] = 1
        self.notify(self.lsp.text_document_did_open, types.DidOpenTextDocumentParams(
            types.TextDocumentItem(uri, "darch", 1, path.read_text() if text is None else text)))
        return uri

    def change(self, uri: str, text: str) -> None:
        self.versions[uri] += 1
        self.notify(self.lsp.text_document_did_change, types.DidChangeTextDocumentParams(
            types.VersionedTextDocumentIdentifier(version=self.versions[uri], uri=uri),
            [types.TextDocumentContentChangeWholeDocument(text)]))

    def edit(self, uri: str, where: types.Range, text: str) -> None:
        """An incremental change, as editors send while typing."""
        self.versions[uri] += 1
        self.notify(self.lsp.text_document_did_change, types.DidChangeTextDocumentParams(
            types.VersionedTextDocumentIdentifier(version=self.versions[uri], uri=uri),
            [types.TextDocumentContentChangePartial(range=where, text=text)]))

    def save(self, uri: str) -> None:
        self.notify(self.lsp.text_document_did_save,
                    types.DidSaveTextDocumentParams(types.TextDocumentIdentifier(uri)))

    def diagnostics(self, uri: str, count: int | None = None, timeout: float = 20
                    ) -> list[types.Diagnostic]:
        """The diagnostics published for the document's latest version (or, with
        `count`, the `count`-th publication for the document)."""
        version = self.versions.get(uri)

        def ready() -> bool:
            got = self.published.get(uri, [])
            if count is not None:
                return len(got) >= count
            return bool(got) and got[-1].version == version

        with self.changed:
            assert self.changed.wait_for(ready, timeout), f"no diagnostics for {uri}"
            got = self.published[uri]
            return list((got[count - 1] if count is not None else got[-1]).diagnostics)

    def close(self) -> tuple[int | None, bytes]:
        """Shut down and exit as an editor does; the exit code and stderr."""
        self.call(self.lsp.shutdown_async(None))
        self.notify(self.lsp.exit, None)
        return self.finish()

    def finish(self) -> tuple[int | None, bytes]:
        self.call(self.lsp.stop(), timeout=20)
        err = self.call(self.process.stderr.read())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)
        return self.process.returncode, err


def doc(uri: str) -> types.TextDocumentIdentifier:
    return types.TextDocumentIdentifier(uri)


def pos(line: int, character: int) -> types.Position:
    return types.Position(line, character)


def where(text: str, needle: str, offset: int = 0) -> types.Position:
    """The 0-based position of `needle` (plus `offset` characters) in `text`."""
    index = text.index(needle) + offset
    line = text.count("\n", 0, index)
    return pos(line, index - (text.rfind("\n", 0, index) + 1))


@pytest.fixture(scope="module")
def client():
    c = Client()
    yield c
    code, err = c.close()
    assert err == b"", err.decode("utf-8", "replace")
    assert code == 0
    assert c.logs == []


# ---- diagnostics ----------------------------------------------------------------------
BROKEN = """\
space = concat [
    conv2(filters: 32, size: 3),
    relu(),
]
"""


def test_a_broken_file_gets_its_error_at_the_right_range_and_none_once_fixed(client, tmp_path):
    uri = client.open(tmp_path / "broken.darch", BROKEN)
    [d] = client.diagnostics(uri)
    assert d.range == types.Range(pos(1, 4), pos(1, 9))  # `conv2` on the second line
    assert d.message == "unknown name `conv2`\nhelp: did you mean `conv2d`?"
    assert d.severity == types.DiagnosticSeverity.Error and d.source == "darch"
    client.edit(uri, types.Range(pos(1, 9), pos(1, 9)), "d")  # type the missing `d`
    assert client.diagnostics(uri) == []
    client.change(uri, BROKEN)
    [d] = client.diagnostics(uri)
    client.change(uri, BROKEN.replace("conv2(", "conv2d("))
    assert client.diagnostics(uri) == []


def test_positions_count_utf16_units_as_the_client_does(client, tmp_path):
    text = 't = {a: "😀😀"}  space = concat [conv2(filters: 32, size: 3)]\n'
    uri = client.open(tmp_path / "wide.darch", text)
    [d] = client.diagnostics(uri)
    start = text.index("conv2") + 2  # each 😀 is two UTF-16 code units
    assert d.range == types.Range(pos(0, start), pos(0, start + len("conv2")))
    client.change(uri, text.replace("conv2(", "conv2d("))
    assert client.diagnostics(uri) == []
    at = start + len("conv2d(f")  # on `filters`, past the wide text
    answer = client.call(client.lsp.text_document_hover_async(types.HoverParams(doc(uri), pos(0, at))))
    assert answer.range == types.Range(pos(0, at - 1), pos(0, at - 1 + len("filters")))
    assert answer.contents.value.startswith("`filters` of `conv2d`")


@pytest.mark.slow  # a file large enough to take over 0.1 s to check
def test_keystrokes_on_a_large_file_are_checked_once_they_stop(client, tmp_path):
    text = "".join(f"b{i} = concat [conv2d(filters: one_of(8, 16), size: 3), relu()]\n"
                   for i in range(3000)) + "space = concat [b0, b1]\n"
    uri = client.open(tmp_path / "large.darch", text)
    assert client.diagnostics(uri) == []
    before = len(client.published[uri])

    async def type_five_keys() -> None:  # as fast as an editor sends them
        for typed in range(1, len("relu(") + 1):
            client.versions[uri] += 1
            client.lsp.text_document_did_change(types.DidChangeTextDocumentParams(
                types.VersionedTextDocumentIdentifier(version=client.versions[uri], uri=uri),
                [types.TextDocumentContentChangeWholeDocument(text + "x = " + "relu("[:typed])]))

    client.call(type_five_keys())
    [d] = client.diagnostics(uri)  # the last version's: `relu(` is unfinished
    assert d.message.startswith("unexpected end of file")
    assert len(client.published[uri]) - before < 5, [p.version for p in client.published[uri]]


def test_syntax_errors_show_where_the_text_stops_making_sense(client, tmp_path):
    text = "space = concat [\n    relu()\n    relu(),\n]\n"
    uri = client.open(tmp_path / "syntax.darch", text)
    [d] = client.diagnostics(uri)
    assert d.range.start == pos(2, 4)
    assert d.message.startswith("unexpected name `relu`")
    assert "is a `,` missing before this?" in d.message


def test_an_error_in_an_imported_file_shows_on_the_import(client, tmp_path):
    (tmp_path / "lib.darch").write_text("width = relu(units: 3)\n")
    text = 'import "lib.darch"\n\nspace = relu()\n'
    (tmp_path / "main.darch").write_text(text)
    uri = client.open(tmp_path / "main.darch")
    [d] = client.diagnostics(uri)
    assert d.range == types.Range(pos(0, 0), pos(0, 18))
    assert d.message.startswith(f"{tmp_path / 'lib.darch'}:1:")
    assert "`relu` has no parameter `units`" in d.message
    with pytest.raises(DarchError) as cli:  # the position `darch check` reports
        load_file(tmp_path / "main.darch")
    [related] = d.related_information
    assert related.location.uri == (tmp_path / "lib.darch").as_uri()
    assert related.location.range.start == pos(0, cli.value.span.col - 1)


def test_an_error_inside_an_imported_function_shows_on_the_call(client, tmp_path):
    """The program's own line first (as `darch check` says it), the function's line in
    the other file beside it."""
    (tmp_path / "lib.darch").write_text("def block(n) = relu(units: n)\n")
    text = 'import "lib.darch"\n\nspace = block(3)\n'
    (tmp_path / "main.darch").write_text(text)
    uri = client.open(tmp_path / "main.darch")
    [d] = client.diagnostics(uri)
    assert d.range == types.Range(pos(2, 8), pos(2, 16))
    assert "`relu` has no parameter `units`" in d.message
    with pytest.raises(DarchError) as cli:
        load_file(tmp_path / "main.darch")
    assert (cli.value.span.line, cli.value.span.col) == (3, 9)
    [related] = d.related_information
    assert related.location.uri == (tmp_path / "lib.darch").as_uri()
    assert related.location.range.start.line == 0
    assert "in `block`" in related.message


def test_every_independent_error_gets_its_diagnostic(client, tmp_path):
    text = ("a = conv2(filters: 8, size: 3)\n"
            "b = relu(fliters: 2)\n"
            "space = concat [relu(), dropuot(keep: 0.5)]\n")
    uri = client.open(tmp_path / "three.darch", text)
    with pytest.raises(DarchError) as cli:  # what `darch check` reports
        load_string(text, str(tmp_path / "three.darch")).space.count()
    expected = [(e.span.line - 1, e.span.col - 1) for e in all_errors(cli.value)]
    found = client.diagnostics(uri)
    assert [(d.range.start.line, d.range.start.character) for d in found] == expected
    assert len(found) == 3
    assert [d.message.splitlines()[0] for d in found] == [e.message for e in all_errors(cli.value)]


def test_the_train_blocks_settings_are_checked_and_fixed_as_darch_check_does(client, tmp_path):
    text = 'space = concat [relu()]\ntrain = hyperparams { optimiser: one_of("adam", "sgd") }\n'
    uri = client.open(tmp_path / "train.darch", text)
    [d] = client.diagnostics(uri)
    assert d.range.start == where(text, "optimiser")
    assert d.message.startswith("unknown training setting `optimiser` in the `train` block")
    [action] = client.call(client.lsp.text_document_code_action_async(types.CodeActionParams(
        doc(uri), d.range, types.CodeActionContext([d]))))
    [edit] = action.edit.changes[uri]
    assert edit.new_text == "optimizer" and edit.range.start == where(text, "optimiser")


@pytest.mark.slow
def test_a_space_too_entangled_to_count_is_a_warning_not_an_error(client, tmp_path):
    """As `darch check` says: the space is fine, only its exact count is out of reach;
    hover and completion still have the program."""
    text = ("def nxt(l) = if l == 0 then one_of(0, 1) else if l == 1 then one_of(0, 1, 2)"
            " else one_of(1, 2)\n"
            "def walk(n, l) = if n == 0 then l else walk(n - 1, nxt(l))\n"
            "space = conv2d(filters: 8 * (1 + walk(100, 0)), size: 3)\n")
    uri = client.open(tmp_path / "path.darch", text)
    [d] = client.diagnostics(uri)
    assert d.severity == types.DiagnosticSeverity.Warning
    assert d.message.startswith("this space is too entangled to count exactly")
    assert "conv2d" in hover(client, uri, where(text, "conv2d"))


def test_a_library_without_a_space_is_not_an_error(client):
    uri = client.open(EXAMPLES / "lib" / "blocks.darch")
    assert client.diagnostics(uri) == []


@pytest.mark.slow  # the shape check imports torch in the server
def test_the_shape_check_runs_on_save_for_a_declared_input(client, tmp_path):
    text = ("# darch: input 3x4x4\n"
            "space = concat [conv2d(filters: 8, size: one_of(3, 5), padding: \"valid\"),\n"
            "                relu()]\n")
    path = tmp_path / "shapes.darch"
    path.write_text(text)
    uri = client.open(path)
    [d] = client.diagnostics(uri)  # opening a file checks it as saved
    assert d.range == types.Range(where(text, "conv2d"), where(text, ",\n"))
    assert d.message.startswith("`conv2d` cannot take a 3x4x4 input: its 5x5 window")
    assert "note: input 3x4x4: found by enumerating the space" in d.message
    fixed = text.replace("one_of(3, 5)", "3")
    client.change(uri, fixed)
    assert client.diagnostics(uri) == []
    client.change(uri, text)
    assert client.diagnostics(uri) == []  # as typed: only the checks of `darch check`
    published = len(client.published[uri])
    client.save(uri)
    [d] = client.diagnostics(uri, count=published + 1)
    assert d.message.startswith("`conv2d` cannot take a 3x4x4 input")

    # without the `# darch: input` line, the client's setting gives the shape
    client.notify(client.lsp.workspace_did_change_configuration,
                  types.DidChangeConfigurationParams({"darch": {"input": "3x4x4"}}))
    path = tmp_path / "undeclared.darch"
    path.write_text(text.split("\n", 1)[1])
    [d] = client.diagnostics(client.open(path))
    assert "note: input 3x4x4" in d.message
    client.notify(client.lsp.workspace_did_change_configuration,
                  types.DidChangeConfigurationParams({"darch": {}}))


# ---- hover ----------------------------------------------------------------------------
SPACE = """\
# the stem, shared by every block
def stem(width) = conv2d(filters: width, size: one_of(1, 3, 5, 7, 9))

param classes = 10
w = one_of(8, 16, 24, 32, 40)

space = concat [
    stem(w),
    conv2d(filters: 64, size: one_of(1, 3, 5, 7, 9, 11, 13, 15, 17)),
    relu(),
    dropout(keep: one_of(0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 0.4, 0.3, 0.2)),
    affine(units: classes),
]
"""


@pytest.fixture(scope="module")
def space_uri(client, tmp_path_factory):
    path = tmp_path_factory.mktemp("hover") / "space.darch"
    path.write_text(SPACE)
    uri = client.open(path)
    assert client.diagnostics(uri) == []
    return uri


def hover(client, uri: str, at: types.Position) -> str:
    answer = client.call(client.lsp.text_document_hover_async(types.HoverParams(doc(uri), at)))
    assert answer is not None
    return answer.contents.value


def test_hover_on_a_layer_shows_its_signature_and_docs(client, space_uri):
    text = hover(client, space_uri, where(SPACE, "conv2d(filters: 64"))
    assert text.startswith("```darch\nconv2d(filters: positive integer")
    assert "filters: positive integer, required" in text


def test_hover_on_a_binding_counts_its_architectures(client, space_uri):
    count = load_string(SPACE).space.count()
    assert count == 2025
    assert hover(client, space_uri, where(SPACE, "space =")) == \
        "`space`: sub-space, 2,025 architectures"


def test_hover_on_a_choice_names_it_and_lists_its_options(client, space_uri):
    assert hover(client, space_uri, where(SPACE, "w =")) == \
        "choice `w`: 5 options: 8 | 16 | 24 | 32 | 40"
    text = hover(client, space_uri, where(SPACE, "one_of(0.5"))
    assert text == ("choice `space/3/dropout/keep`: 9 options: "
                    "0.5 | 0.6 | 0.7 | 0.8 | 0.9 | 1.0 | 0.4 | 0.3 | 0.2")


def test_hover_on_a_function_shows_its_signature_and_comment(client, space_uri):
    text = hover(client, space_uri, where(SPACE, "stem(w)"))
    assert text == "```darch\ndef stem(width)\n```\n\nthe stem, shared by every block"
    assert hover(client, space_uri, where(SPACE, "width)", 1)) == \
        "`width`: parameter of `stem`"


def test_hover_on_a_prelude_function_shows_the_comment_above_its_def(client):
    path = EXAMPLES / "cifar10_complex.darch"
    uri = client.open(path)
    [prelude] = [p for p in stdlib_dir().glob("prelude*.darch") if "def optional(" in p.read_text()]
    lines = prelude.read_text().splitlines()
    comment = lines[[i for i, line in enumerate(lines) if line.startswith("def optional(")][0] - 1]
    text = hover(client, uri, where(path.read_text(), "optional("))
    assert text == f"```darch\ndef optional(layer)\n```\n\n{comment[1:].strip()}"


def test_hover_on_a_record_field_shows_the_fields_value(client, tmp_path):
    text = "g = { k: one_of(3, 5), c: 8 }\nspace = conv2d(filters: g.c, size: g.k)\n"
    path = tmp_path / "field.darch"
    path.write_text(text)
    uri = client.open(path)
    assert client.diagnostics(uri) == []
    assert hover(client, uri, where(text, "c, size")) == "`c`: 8"
    assert hover(client, uri, where(text, "k)")).endswith("2 options: 3 | 5")


def test_hover_on_a_param_shows_its_value(client, space_uri):
    assert hover(client, space_uri, where(SPACE, "classes =")) == "`classes`: 10"


def test_hover_still_answers_while_the_text_is_broken(client, tmp_path):
    path = tmp_path / "editing.darch"
    uri = client.open(path, SPACE)
    assert client.diagnostics(uri) == []
    broken = SPACE.replace("relu(),", "relu(,")  # half-way through an edit
    client.change(uri, broken)
    assert client.diagnostics(uri) != []
    assert hover(client, uri, where(broken, "w =")) == \
        "choice `w`: 5 options: 8 | 16 | 24 | 32 | 40"
    text = hover(client, uri, where(broken, "conv2d(filters: 64"))
    assert text.startswith("```darch\nconv2d(")


def test_hover_on_a_keyword_argument_shows_the_parameter(client, space_uri):
    text = hover(client, space_uri, where(SPACE, "keep:"))
    assert text.startswith("`keep` of `dropout`: ")


# ---- completion -----------------------------------------------------------------------
def complete(client, uri: str, at: types.Position) -> dict[str, types.CompletionItem]:
    answer = client.call(client.lsp.text_document_completion_async(
        types.CompletionParams(doc(uri), at)))
    return {item.label: item for item in answer.items}


def test_completion_offers_keyword_arguments_names_and_layers(client, tmp_path):
    text = "w = one_of(8, 16)\n\nspace = concat [conv2d(fi"  # still being typed
    uri = client.open(tmp_path / "complete.darch", text)
    items = complete(client, uri, where(text, "fi", 2))
    assert "filters:" in items
    edit = items["filters:"].text_edit
    assert edit.new_text == "filters: " and edit.range.start == where(text, "fi")
    text2 = "w = one_of(8, 16)\n\nspace = concat [co"
    client.change(uri, text2)
    items = complete(client, uri, where(text2, "co", 2))
    assert {"conv2d", "concat"} <= set(items)
    assert items["conv2d"].kind == types.CompletionItemKind.Class
    text3 = "w = one_of(8, 16)\n\nspace = concat [conv2d(filters: "
    client.change(uri, text3)
    items = complete(client, uri, where(text3, "filters: ", 9))
    assert "w" in items and items["w"].detail == "choice"  # a name of the file itself


def test_completion_after_a_records_dot_offers_its_fields(client, tmp_path):
    text = "g = { kernel: one_of(3, 5), width: 8 }\nspace = conv2d(filters: g.width, size: 3)\n"
    uri = client.open(tmp_path / "fields.darch", text)
    assert client.diagnostics(uri) == []
    typed = text.replace("size: 3", "size: g.k")
    client.change(uri, typed)
    items = complete(client, uri, where(typed, "g.k", 3))
    assert list(items) == ["kernel"]
    assert items["kernel"].text_edit.range.start == where(typed, "k)")


def test_completion_of_import_paths(client, tmp_path):
    (tmp_path / "lib").mkdir()
    (tmp_path / "lib" / "blocks.darch").write_text("def b() = relu()\n")
    (tmp_path / "notes.txt").write_text("not darchlang\n")
    text = 'import "'
    uri = client.open(tmp_path / "imports.darch", text)
    items = complete(client, uri, pos(0, len(text)))
    assert "lib/" in items and "notes.txt" not in items
    assert {p.name for p in stdlib_dir().glob("*.darch")} <= set(items)
    text = 'import "lib/bl'
    client.change(uri, text)
    items = complete(client, uri, pos(0, len(text)))
    assert list(items) == ["blocks.darch"]
    assert items["blocks.darch"].text_edit.range.start == pos(0, len('import "lib/'))


# ---- navigation -----------------------------------------------------------------------
def definition(client, uri: str, at: types.Position) -> types.Location:
    answer = client.call(client.lsp.text_document_definition_async(
        types.DefinitionParams(doc(uri), at)))
    assert isinstance(answer, types.Location), answer
    return answer


def test_go_to_definition_across_an_import_and_into_the_stdlib(client):
    path = EXAMPLES / "imports.darch"
    text = path.read_text()
    uri = client.open(path)
    found = definition(client, uri, where(text, "conv_block"))
    blocks = EXAMPLES / "lib" / "blocks.darch"
    assert found.uri == blocks.resolve().as_uri()
    assert found.range.start == where(blocks.read_text(), "conv_block")
    found = definition(client, uri, where(text, '"lib/blocks.darch"'))
    assert found.uri == blocks.resolve().as_uri()
    assert definition(client, uri, where(text, "num_classes)")).range.start == \
        where(text, "num_classes")

    complex_path = EXAMPLES / "cifar10_complex.darch"
    complex_text = complex_path.read_text()
    complex_uri = client.open(complex_path)
    found = definition(client, complex_uri, where(complex_text, "optional("))
    [prelude] = [p for p in stdlib_dir().glob("prelude*.darch")
                 if "def optional(" in p.read_text()]
    assert found.uri == prelude.resolve().as_uri()
    assert found.range.start == where(prelude.read_text(), "optional")
    # a function's parameter, from its use in the body
    found = definition(client, complex_uri, where(complex_text, "one_of(sizes)", 7))
    assert found.range.start == where(complex_text, "sizes")


def test_go_to_definition_through_namespaced_and_listed_imports(client, tmp_path):
    blocks = EXAMPLES / "lib" / "blocks.darch"
    (tmp_path / "lib").mkdir()
    (tmp_path / "lib" / "blocks.darch").write_text(blocks.read_text())
    lib = tmp_path / "lib" / "blocks.darch"
    text = ('import "lib/blocks" as b\nfrom "lib/blocks" import classifier\n\n'
            "space = concat [b.conv_block(32), classifier(10)]\n")
    path = tmp_path / "ns.darch"
    path.write_text(text)
    uri = client.open(path)
    assert client.diagnostics(uri) == []
    found = definition(client, uri, where(text, "conv_block"))
    assert found.uri == lib.as_uri() and found.range.start == where(lib.read_text(), "conv_block")
    found = definition(client, uri, where(text, "classifier(10"))
    assert found.range.start == where(lib.read_text(), "classifier")
    found = definition(client, uri, where(text, "b.conv", 0))
    assert found.uri == lib.as_uri() and found.range.start == pos(0, 0)
    assert hover(client, uri, where(text, "conv_block")) == "```darch\ndef conv_block(filters)\n```"
    items = complete(client, uri, pos(1, len('from "')))
    assert "lib/" in items
    typing = text.replace("b.conv_block(32)", "b.c")
    client.change(uri, typing)
    items = complete(client, uri, where(typing, "b.c", 3))
    assert list(items) == ["classifier", "conv_block"]
    assert items["conv_block"].text_edit.range.start == where(typing, "b.c", 2)


def test_references_of_a_binding_and_document_symbols(client, space_uri):
    answer = client.call(client.lsp.text_document_references_async(types.ReferenceParams(
        text_document=doc(space_uri), position=where(SPACE, "w ="),
        context=types.ReferenceContext(include_declaration=True))))
    assert [loc.range.start for loc in answer] == [where(SPACE, "w ="), where(SPACE, "w)")]
    symbols = client.call(client.lsp.text_document_document_symbol_async(
        types.DocumentSymbolParams(doc(space_uri))))
    assert [(s.name, s.kind) for s in symbols] == [
        ("stem", types.SymbolKind.Function), ("classes", types.SymbolKind.Constant),
        ("w", types.SymbolKind.Variable), ("space", types.SymbolKind.Variable)]
    assert [c.name for c in symbols[0].children] == ["width"]


def test_local_names_are_not_the_files_symbols(client, tmp_path):
    text = ("def cell(c) = graph(x) {\n    a = relu()(x)\n    return add(x, a)\n}\n"
            "space = let w = 8 in concat [conv2d(filters: w, size: 3), cell(w)]\n")
    uri = client.open(tmp_path / "locals.darch", text)
    assert client.diagnostics(uri) == []
    symbols = client.call(client.lsp.text_document_document_symbol_async(
        types.DocumentSymbolParams(doc(uri))))
    assert [s.name for s in symbols] == ["cell", "space"]
    assert [c.name for c in symbols[0].children] == ["c"]
    assert definition(client, uri, where(text, "x, a)")).range.start == where(text, "x)")
    assert definition(client, uri, where(text, "w, size")).range.start == where(text, "w =")


# ---- edits ----------------------------------------------------------------------------
def test_formatting_gives_the_formatters_layout(client, tmp_path):
    messy = "space=concat[ relu( ),\n  batch_norm()  ]  # end\n"
    uri = client.open(tmp_path / "messy.darch", messy)
    edits = client.call(client.lsp.text_document_formatting_async(
        types.DocumentFormattingParams(doc(uri), types.FormattingOptions(4, True))))
    [edit] = edits
    assert edit.range.start == pos(0, 0) and edit.range.end == pos(2, 0)
    assert edit.new_text == format_source(messy) == "space = concat [relu(), batch_norm()]  # end\n"
    client.change(uri, edit.new_text)
    assert not client.call(client.lsp.text_document_formatting_async(
        types.DocumentFormattingParams(doc(uri), types.FormattingOptions(4, True))))


def test_code_actions_apply_did_you_mean_and_colon_fixes(client, tmp_path):
    text = "space = concat [conv2d(fliters: 32, size: 3), relu()]\n"
    uri = client.open(tmp_path / "fix.darch", text)
    [d] = client.diagnostics(uri)
    answer = client.call(client.lsp.text_document_code_action_async(types.CodeActionParams(
        doc(uri), d.range, types.CodeActionContext([d]))))
    [action] = answer
    assert action.title == "Change `fliters` to `filters`"
    [edit] = action.edit.changes[uri]
    assert edit.range == types.Range(where(text, "fliters"), where(text, "fliters", 7))
    assert edit.new_text == "filters"

    text = "space = concat [conv2d(filters = 32, size: 3), relu()]\n"
    client.change(uri, text)
    [d] = client.diagnostics(uri)
    [action] = client.call(client.lsp.text_document_code_action_async(types.CodeActionParams(
        doc(uri), d.range, types.CodeActionContext([d]))))
    [edit] = action.edit.changes[uri]
    assert edit.new_text == ":" and edit.range.start == where(text, "= 32")


# ---- highlighting ---------------------------------------------------------------------
def tokens(client, uri: str, text: str) -> dict[str, tuple[str, list[str]]]:
    """Each word's first semantic token: its type and modifiers."""
    legend = client.init.capabilities.semantic_tokens_provider.legend
    answer = client.call(client.lsp.text_document_semantic_tokens_full_async(
        types.SemanticTokensParams(doc(uri))))
    lines = text.split("\n")
    line = start = 0
    found = {}
    data = list(answer.data)
    for i in range(0, len(data), 5):
        dl, ds, length, kind, mods = data[i:i + 5]
        line += dl
        start = start + ds if dl == 0 else ds
        word = lines[line][start:start + length]
        found.setdefault(word, (legend.token_types[kind],
                                [m for b, m in enumerate(legend.token_modifiers) if mods >> b & 1]))
    return found


def test_semantic_tokens_tell_functions_parameters_and_bindings_apart(client, space_uri):
    found = tokens(client, space_uri, SPACE)
    assert found["def"] == ("keyword", [])
    assert found["stem"] == ("function", ["declaration"])
    assert found["width"] == ("parameter", ["declaration"])
    assert found["w"] == ("variable", ["declaration"])
    assert found["conv2d"] == ("function", ["defaultLibrary"])
    assert found["filters"] == ("parameter", [])
    assert found["8"] == ("number", [])
    assert found["classes"] == ("variable", ["declaration", "readonly"])
    assert found["param"] == ("keyword", [])
    assert found["# the stem, shared by every block"] == ("comment", [])
    path = EXAMPLES / "imports.darch"
    found = tokens(client, client.open(path), path.read_text())
    assert found["conv_block"] == ("function", [])  # imported
    assert found["max_pool2d"] == ("function", ["defaultLibrary"])
