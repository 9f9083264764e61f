"""The language server: each document's analysis, and each LSP request answered from it.

Every change is checked at once (`darch check` on the text in memory; about 10 ms for
the complex CIFAR-10 space) and its diagnostics published; on save, when an input
shape is known (a `# darch: input 3x32x32` line, or the client setting
`darch.input`), the shape check of `darch check --shapes` runs too. A request never
fails with a traceback: an error inside a handler is written to the log (`--log`) and
to the client's log, and the request answers with nothing.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import logging
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, TypeVar

from lsprotocol import types
from pygls.exceptions import FeatureRequestError, JsonRpcException
from pygls.lsp.server import LanguageServer
from pygls.protocol import LanguageServerProtocol
from pygls.uris import to_fs_path

from darchlang import __version__
from darchlang.app.inputs import declared_input
from darchlang.environment import Environment, default_environment
from darchlang.errors import DarchError, Source
from darchlang.lsp import actions, navigation, rename, tokens
from darchlang.lsp.analysis import (
    Analysis,
    analyse,
    shared_loader,
    statements_before,
)
from darchlang.lsp.completion import complete
from darchlang.lsp.diagnostics import same_file, to_diagnostic
from darchlang.lsp.hover import Hover
from darchlang.lsp.index import Index, Use, build_index, lexical_index
from darchlang.lsp.positions import Lines
from darchlang.semantics.program import stdlib_dir
from darchlang.semantics.values import Builtin, Closure

log = logging.getLogger("darchlang.lsp")
SLOW_CHECK = 0.1  # seconds: a file whose check takes longer has its keystrokes coalesced
COALESCE = 0.05  # seconds to wait for more keystrokes before checking such a file
F = TypeVar("F", bound=Callable[..., Any])


@dataclass
class Document:
    """An open document: its latest analysis, the last analysis whose program built
    (what completion and hover fall back on mid-edit), and its shape errors."""

    uri: str
    name: str
    version: int | None
    analysis: Analysis
    good: Analysis | None
    shape_errors: list[DarchError] = field(default_factory=list)
    before: Analysis | None = None  # the statements above the cursor, for completion

    @cached_property
    def index(self) -> Index | None:
        """The names of the text, indexed when a feature first asks (by the lexer alone
        while the text does not parse)."""
        tree = self.analysis.tree
        try:
            if tree is None:
                return lexical_index(Source(self.name, self.analysis.text))
            return build_index(tree)
        except RecursionError:
            return None


class RequestRefused(JsonRpcException):
    """A request the server declines with a reason for the user (LSP's RequestFailed):
    `guarded` lets it through, and the editor shows its message."""

    CODE = -32803


class _Answered(Exception):
    """A malformed request that has been answered with an error already."""


class _Protocol(LanguageServerProtocol):
    """pygls's protocol, except that a request whose parameters do not fit its method
    gets an error response (pygls only logs it, and the client would wait forever)."""

    def structure_message(self, data: dict[str, Any]) -> Any:
        try:
            return super().structure_message(data)
        except JsonRpcException as exc:
            if "method" in data and isinstance(data.get("id"), int | str):
                self._send_response(data["id"], error=exc.to_response_error())
                raise _Answered() from None
            raise


class DarchServer(LanguageServer):
    """pygls server holding the open documents and the client's settings."""

    def __init__(self, env: Environment | None = None):
        super().__init__("darch", __version__, protocol_cls=_Protocol)
        self.env = env or default_environment()
        self.documents: dict[str, Document] = {}
        self.latest: dict[str, int] = {}  # the newest version each document changed to
        self.input_shape: str | None = None

    def report_server_error(self, error: Exception, source: Any) -> None:
        """A message that cannot be read (not JSON, not UTF-8) goes to the client's log
        as one sentence, not to a pop-up; the server reads on."""
        if isinstance(error, _Answered) or source is FeatureRequestError:
            return
        self.window_log_message(types.LogMessageParams(
            types.MessageType.Error, f"darch lsp: ignored a message it could not read: {error}"))

    def lines(self, text: str) -> Lines:
        return Lines(text, self.workspace.position_codec)

    # ---- documents -----------------------------------------------------------------
    def update(self, uri: str, text: str, version: int | None) -> Document:
        old = self.documents.get(uri)
        name = document_name(uri)
        analysis = analyse(text, name, self.env)
        good = analysis if analysis.program is not None else (old.good if old else None)
        doc = Document(uri, name, version, analysis, good)
        self.documents[uri] = doc
        return doc

    def publish(self, doc: Document) -> None:
        lines = self.lines(doc.analysis.text)
        errors = [*doc.analysis.errors, *doc.shape_errors]
        elsewhere = any(e.span is not None and not same_file(e.span.source.name, doc.name)
                        for e in errors)
        imports = doc.index.imports if elsewhere and doc.index is not None else []
        diagnostics = [to_diagnostic(e, lines, doc.name, imports) for e in errors] + [
            to_diagnostic(w, lines, doc.name, imports, types.DiagnosticSeverity.Warning)
            for w in doc.analysis.warnings]
        self.text_document_publish_diagnostics(
            types.PublishDiagnosticsParams(doc.uri, diagnostics, doc.version))

    def recheck_importers(self, changed: str) -> None:
        """Check again every other open document that imports a file: an import is read
        from disk, so when `changed` (a URI) is saved or changes on disk, what a file
        importing it (directly or through another file) is told may change too."""
        for uri, doc in list(self.documents.items()):
            if uri != changed and doc.index is not None and doc.index.imports:
                self.publish(self.update(uri, doc.analysis.text, doc.version))

    def check_shapes(self, doc: Document) -> None:
        """The shape check of `darch check --shapes`, for the declared input shape."""
        shape_text = declared_input(doc.analysis.text) or self.input_shape
        program = doc.analysis.program
        doc.shape_errors = []
        if shape_text is None or program is None \
                or program.network_name not in program.scope.names:
            return
        from darchlang.backends.torch.plan import parse_shape
        from darchlang.backends.torch.shape_rules import torch_shape_rules
        from darchlang.space.shapes import check_shapes

        try:
            shape = parse_shape(shape_text)
            report = check_shapes(program.space, shape, torch_shape_rules())
        except DarchError as err:
            doc.shape_errors = [err]
            return
        if report.failure is not None:
            how = ("found by enumerating the space" if report.method == "enumerated"
                   else "found by shape analysis over each choice's options")
            err = report.failure
            doc.shape_errors = [DarchError(err.message, err.span, err.help,
                                           [*err.notes, f"input {shape_text}: {how}"],
                                           list(err.related))]

    def names(self, doc: Document, offset: int | None = None) -> dict[str, Any]:
        """Every name visible in the document: those of the last text that built and,
        when the text does not build now, those of the statements above `offset`."""
        loader = shared_loader(self.env)
        names = {**loader.builtins.names, **loader.prelude.names}
        if doc.good is not None and doc.good.program is not None:
            names.update(doc.good.program.scope.names)
        if offset is not None and doc.analysis.program is None:
            before = statements_before(doc.analysis.text, offset)
            if doc.before is None or doc.before.text != before:
                doc.before = analyse(before, doc.name, self.env)
            if doc.before.program is not None:
                names.update(doc.before.program.scope.names)
        return names


def document_name(uri: str) -> str:
    """The file name a document's errors and imports use (`<uri>` when not a file)."""
    path = to_fs_path(uri) if uri.startswith("file:") else None
    return path if path else f"<{uri}>"


def guarded(fn: F) -> F:
    """A handler (plain or async) that logs an unexpected exception and answers None."""

    def failed(ls: DarchServer, exc: Exception) -> None:
        log.error("%s failed:\n%s", fn.__name__, traceback.format_exc())
        ls.window_log_message(types.LogMessageParams(
            types.MessageType.Error, f"darch lsp: {fn.__name__} failed: {exc!r}"))

    if inspect.iscoroutinefunction(fn):
        @functools.wraps(fn)
        async def waiting(ls: DarchServer, params: Any) -> Any:
            try:
                return await fn(ls, params)
            except RequestRefused:
                raise
            except Exception as exc:  # a bug must not take the editor's session down
                failed(ls, exc)
                return None

        return waiting  # type: ignore[return-value]

    @functools.wraps(fn)
    def wrapper(ls: DarchServer, params: Any) -> Any:
        try:
            return fn(ls, params)
        except RequestRefused:
            raise
        except Exception as exc:  # a bug must not take the editor's session down
            failed(ls, exc)
            return None

    return wrapper  # type: ignore[return-value]


def create_server(env: Environment | None = None) -> DarchServer:
    """A server with every feature registered."""
    server = DarchServer(env)

    @server.feature(types.INITIALIZE)
    @guarded
    def initialize(ls: DarchServer, params: types.InitializeParams) -> None:
        ls.input_shape = _input_setting(params.initialization_options)

    @server.feature(types.INITIALIZED)
    @guarded
    async def initialized(ls: DarchServer, params: types.InitializedParams) -> None:
        # Ask to hear of .darch files changed on disk (by git, another editor), which
        # the files importing them must be checked against again.
        watched = ls.client_capabilities.workspace
        watched = watched.did_change_watched_files if watched else None
        if watched is not None and watched.dynamic_registration:
            await ls.client_register_capability_async(types.RegistrationParams([
                types.Registration("darch-files", types.WORKSPACE_DID_CHANGE_WATCHED_FILES,
                                   types.DidChangeWatchedFilesRegistrationOptions(
                                       [types.FileSystemWatcher("**/*.darch")]))]))

    @server.feature(types.WORKSPACE_DID_CHANGE_WATCHED_FILES)
    @guarded
    def watched_files(ls: DarchServer, params: types.DidChangeWatchedFilesParams) -> None:
        for change in params.changes:
            ls.recheck_importers(change.uri)

    @server.feature(types.WORKSPACE_DID_CHANGE_CONFIGURATION)
    @guarded
    def configuration(ls: DarchServer, params: types.DidChangeConfigurationParams) -> None:
        ls.input_shape = _input_setting(params.settings)

    @server.feature(types.TEXT_DOCUMENT_DID_OPEN)
    @guarded
    def did_open(ls: DarchServer, params: types.DidOpenTextDocumentParams) -> None:
        d = params.text_document
        doc = ls.update(d.uri, d.text, d.version)
        ls.check_shapes(doc)
        ls.publish(doc)

    @server.feature(types.TEXT_DOCUMENT_DID_CHANGE)
    @guarded
    async def did_change(ls: DarchServer, params: types.DidChangeTextDocumentParams) -> None:
        uri, version = params.text_document.uri, params.text_document.version
        ls.latest[uri] = version
        old = ls.documents.get(uri)
        if old is not None and old.analysis.seconds > SLOW_CHECK:
            # a large file: let the keystrokes already sent arrive, and check the last
            await asyncio.sleep(COALESCE)
            if ls.latest.get(uri) != version or uri not in ls.documents:
                return
        text = ls.workspace.get_text_document(uri).source
        ls.publish(ls.update(uri, text, version))

    @server.feature(types.TEXT_DOCUMENT_DID_SAVE, types.SaveOptions(include_text=True))
    @guarded
    def did_save(ls: DarchServer, params: types.DidSaveTextDocumentParams) -> None:
        uri = params.text_document.uri
        doc = ls.documents.get(uri)
        if doc is None:
            return
        if params.text is not None and params.text != doc.analysis.text:
            doc = ls.update(uri, params.text, doc.version)
        ls.check_shapes(doc)
        ls.publish(doc)
        ls.recheck_importers(uri)

    @server.feature(types.TEXT_DOCUMENT_DID_CLOSE)
    @guarded
    def did_close(ls: DarchServer, params: types.DidCloseTextDocumentParams) -> None:
        uri = params.text_document.uri
        ls.documents.pop(uri, None)
        ls.latest.pop(uri, None)
        ls.text_document_publish_diagnostics(types.PublishDiagnosticsParams(uri, []))

    @server.feature(types.TEXT_DOCUMENT_HOVER)
    @guarded
    def hover(ls: DarchServer, params: types.HoverParams) -> types.Hover | None:
        found = _at(ls, params.text_document.uri, params.position)
        if found is None:
            return None
        doc, lines, item = found
        call = doc.index.call_named_at(item.span) if isinstance(item, Use) else None
        names = ls.names(doc)
        choices = doc.good.choices if doc.good is not None else []
        text = Hover(ls.env, names, doc.analysis.tree, choices).text(item, call)
        if text is None:
            return None
        return types.Hover(types.MarkupContent(types.MarkupKind.Markdown, text),
                           lines.range(item.span))

    @server.feature(types.TEXT_DOCUMENT_COMPLETION,
                    types.CompletionOptions(trigger_characters=["(", ",", '"', "/"]))
    @guarded
    def completion(ls: DarchServer, params: types.CompletionParams) -> types.CompletionList | None:
        doc = ls.documents.get(params.text_document.uri)
        if doc is None:
            return None
        lines = ls.lines(doc.analysis.text)
        offset = lines.offset(params.position)
        names = ls.names(doc, offset)
        user = [d.name for d in doc.index.top_level()] if doc.analysis.tree is not None else \
            list(doc.before.program.scope.names) if doc.before and doc.before.program else []
        items = complete(lines, offset, names, ls.env, user,
                         [doc.analysis.directory, stdlib_dir()])
        return types.CompletionList(is_incomplete=False, items=items)

    @server.feature(types.TEXT_DOCUMENT_DEFINITION)
    @guarded
    def definition(ls: DarchServer, params: types.DefinitionParams) -> types.Location | None:
        doc = ls.documents.get(params.text_document.uri)
        if doc is None or doc.index is None:
            return None
        lines = ls.lines(doc.analysis.text)
        line, col = lines.line_col(params.position)
        loader = shared_loader(ls.env)
        st = navigation.import_at(doc.index, line, col)
        if st is not None:
            path = navigation.import_path(loader, st, doc.name)
            if path is None:
                return None
            start = types.Position(0, 0)
            return types.Location(path.as_uri(), types.Range(start, start))
        item = doc.index.at(line, col)
        if item is None:
            return None
        span = navigation.definition_of(item, doc.index, doc.name, loader)
        if span is None:
            return None
        if same_file(span.source.name, doc.name):
            return types.Location(doc.uri, lines.range(span))
        target = ls.lines(span.source.text)
        return types.Location(_uri_of(span.source.name), target.range(span))

    @server.feature(types.TEXT_DOCUMENT_REFERENCES)
    @guarded
    def references(ls: DarchServer, params: types.ReferenceParams) -> list[types.Location] | None:
        found = _at(ls, params.text_document.uri, params.position)
        if found is None:
            return None
        doc, lines, item = found
        spans = navigation.references_of(item, doc.index, params.context.include_declaration)
        return [types.Location(doc.uri, lines.range(s)) for s in spans]

    @server.feature(types.TEXT_DOCUMENT_PREPARE_RENAME)
    @guarded
    def prepare_rename(ls: DarchServer, params: types.PrepareRenameParams) -> types.Range | None:
        found = _renaming(ls, params.text_document.uri, params.position)
        if found is None:
            return None
        doc, lines, item = found
        return lines.range(item.span)

    @server.feature(types.TEXT_DOCUMENT_RENAME, types.RenameOptions(prepare_provider=True))
    @guarded
    def rename_symbol(ls: DarchServer, params: types.RenameParams) -> types.WorkspaceEdit | None:
        found = _renaming(ls, params.text_document.uri, params.position)
        if found is None:
            return None
        doc, lines, item = found
        try:
            target = rename.target_of(item, doc.index)
            rename.check_new_name(target, params.new_name, doc.index)
        except rename.Refused as why:
            raise RequestRefused(str(why)) from None
        edits = [types.TextEdit(lines.range(s), params.new_name)
                 for s in rename.spans_of(target, doc.index)]
        return types.WorkspaceEdit(changes={doc.uri: edits})

    @server.feature(types.TEXT_DOCUMENT_DOCUMENT_SYMBOL)
    @guarded
    def document_symbols(ls: DarchServer, params: types.DocumentSymbolParams
                         ) -> list[types.DocumentSymbol] | None:
        doc = ls.documents.get(params.text_document.uri)
        if doc is None or doc.index is None:
            return []
        return navigation.symbols(doc.index, ls.lines(doc.analysis.text).range)

    @server.feature(types.TEXT_DOCUMENT_FORMATTING)
    @guarded
    def formatting(ls: DarchServer, params: types.DocumentFormattingParams
                   ) -> list[types.TextEdit] | None:
        doc = ls.documents.get(params.text_document.uri)
        if doc is None:
            return None
        return actions.formatting(ls.lines(doc.analysis.text), doc.name)

    @server.feature(types.TEXT_DOCUMENT_CODE_ACTION,
                    types.CodeActionOptions(code_action_kinds=[types.CodeActionKind.QuickFix]))
    @guarded
    def code_action(ls: DarchServer, params: types.CodeActionParams
                    ) -> list[types.CodeAction] | None:
        doc = ls.documents.get(params.text_document.uri)
        if doc is None:
            return None
        local = [e for e in doc.analysis.errors
                 if e.span is not None and same_file(e.span.source.name, doc.name)]
        return actions.code_actions(local, ls.lines(doc.analysis.text), doc.uri, params.range)

    @server.feature(types.TEXT_DOCUMENT_SEMANTIC_TOKENS_FULL,
                    types.SemanticTokensLegend(tokens.TOKEN_TYPES, tokens.TOKEN_MODIFIERS))
    @guarded
    def semantic_tokens(ls: DarchServer, params: types.SemanticTokensParams
                        ) -> types.SemanticTokens | None:
        doc = ls.documents.get(params.text_document.uri)
        if doc is None:
            return None
        lines = ls.lines(doc.analysis.text)
        loader = shared_loader(ls.env)  # its names the lexer knows as builtins already
        functions = {name for name, value in ls.names(doc).items()
                     if isinstance(value, Closure | Builtin)
                     and name not in loader.builtins.names and name not in loader.prelude.names}
        return types.SemanticTokens(data=tokens.semantic_tokens(lines, doc.index, functions))

    return server


def _at(ls: DarchServer, uri: str, position: types.Position):
    """The document, its lines and the indexed item at `position`, or None."""
    doc = ls.documents.get(uri)
    if doc is None or doc.index is None:
        return None
    lines = ls.lines(doc.analysis.text)
    item = doc.index.at(*lines.line_col(position))
    return None if item is None else (doc, lines, item)


def _renaming(ls: DarchServer, uri: str, position: types.Position):
    """The document, its lines and the name under the cursor that renaming would
    rename, or None where there is no name; a name that cannot be renamed, or a text
    that does not parse (its uses are not known), is refused with the reason."""
    found = _at(ls, uri, position)
    if found is None:
        return None
    doc, lines, item = found
    if doc.analysis.tree is None:
        raise RequestRefused("the file does not parse: fix its syntax error, then rename")
    try:
        rename.target_of(item, doc.index)
    except rename.Refused as why:
        raise RequestRefused(str(why)) from None
    return found


def _uri_of(path: str) -> str:
    return Path(path).resolve().as_uri()


def _input_setting(settings: Any) -> str | None:
    """`input` from initialization options or settings: `{"input": ...}` or
    `{"darch": {"input": ...}}`."""
    if not isinstance(settings, dict):
        return None
    inner = settings.get("darch")
    if isinstance(inner, dict):
        settings = inner
    value = settings.get("input")
    return value if isinstance(value, str) and value.strip() else None
