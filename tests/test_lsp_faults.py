"""`darch lsp` under bad input: bytes that are not UTF-8 or not JSON, text that is not
darchlang, unknown methods, parameters that do not fit, a client that goes away.

The messages are framed by hand here (an LSP client library would refuse to send
them). Each case must be answered, or ignored with a line in the client's log, and
the server must go on serving; when the client disconnects it must exit at once,
and its stderr must stay empty throughout.
"""

from __future__ import annotations

import json
import subprocess
from typing import Any

import pytest

from tests.test_lsp import ROOT, SERVER, server_env


class RawClient:
    """Frames JSON-RPC messages onto the server's stdin and reads its stdout."""

    def __init__(self, *args: str):
        self.process = subprocess.Popen([*SERVER, *args], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                        stderr=subprocess.PIPE, cwd=ROOT, env=server_env())
        self.next_id = 0

    def send_bytes(self, body: bytes) -> None:
        self.process.stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
        self.process.stdin.flush()

    def send(self, method: str, params: Any, request: bool = True) -> int | None:
        message: dict[str, Any] = {"jsonrpc": "2.0", "method": method, "params": params}
        if request:
            self.next_id += 1
            message["id"] = self.next_id
        self.send_bytes(json.dumps(message).encode("utf-8"))
        return message.get("id")

    def read(self) -> dict[str, Any]:
        length = None
        while True:
            line = self.process.stdout.readline()
            assert line, "the server closed its output"
            if line == b"\r\n":
                break
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        assert length is not None
        return json.loads(self.process.stdout.read(length))

    def answer(self, msg_id: int) -> dict[str, Any]:
        """The response to request `msg_id` (notifications before it are skipped)."""
        while True:
            message = self.read()
            if message.get("id") == msg_id and "method" not in message:
                return message

    def notification(self, method: str) -> dict[str, Any]:
        while True:
            message = self.read()
            if message.get("method") == method:
                return message["params"]

    def start(self) -> None:
        self.answer(self.send("initialize", {"capabilities": {}}))
        self.send("initialized", {}, request=False)

    def open(self, uri: str, text: str) -> list[dict[str, Any]]:
        self.send("textDocument/didOpen", {"textDocument": {
            "uri": uri, "languageId": "darch", "version": 1, "text": text}}, request=False)
        params = self.notification("textDocument/publishDiagnostics")
        assert params["uri"] == uri
        return params["diagnostics"]

    def disconnect(self, timeout: float = 10) -> tuple[int, bytes]:
        self.process.stdin.close()
        code = self.process.wait(timeout)
        return code, self.process.stderr.read()


def started(*args: str) -> RawClient:
    client = RawClient(*args)
    client.start()
    return client


@pytest.fixture(scope="module")
def log_file(tmp_path_factory):
    return tmp_path_factory.mktemp("lsp") / "server.log"


@pytest.fixture(scope="module")
def raw(log_file):
    """One server for the cases that leave it running; it must still exit cleanly."""
    client = started("--log", str(log_file))
    yield client
    code, err = client.disconnect()
    assert err == b"", err.decode("utf-8", "replace")
    assert code == 0


def hover_at(raw: RawClient, uri: str) -> int:
    return raw.send("textDocument/hover", {"textDocument": {"uri": uri},
                                           "position": {"line": 0, "character": 0}})


def test_a_message_that_is_not_utf8_or_not_json_is_logged_and_the_server_goes_on(raw, log_file):
    raw.send_bytes(b'{"jsonrpc": "2.0", "id": 99, "method": "textDocument/hover", '
                   b'"params": {"x": "\xff\xfe"}}')
    log = raw.notification("window/logMessage")
    assert log["message"].startswith("darch lsp: ignored a message it could not read: 'utf-8'")
    raw.send_bytes(b"this is not json")
    log = raw.notification("window/logMessage")
    assert "could not read" in log["message"]
    assert raw.answer(hover_at(raw, "file:///nowhere.darch"))["result"] is None
    assert "Unable to handle message" in log_file.read_text()  # the details, for `--log`


def test_text_that_is_not_darchlang_gets_diagnostics(raw):
    python = "import os\n\ndef main():\n    print(os.getcwd())\n"
    d, second = raw.open("file:///tmp/not_darch.darch", python)  # each broken statement
    assert d["message"].startswith("unexpected name `os`")
    assert d["range"]["start"] == {"line": 0, "character": 7}
    assert second["message"] == "unexpected `:`; expected `=`"
    assert second["range"]["start"] == {"line": 2, "character": 10}
    [d] = raw.open("file:///tmp/surrogates.darch", "space = \udcff\x00 relu()\n")
    assert d["message"] == ("unexpected byte 0xff, which is not UTF-8 text\n"
                            "help: type or save the text as UTF-8")
    assert d["range"]["start"] == {"line": 0, "character": 8}
    assert raw.open("file:///tmp/empty.darch", "") == []
    answer = raw.answer(hover_at(raw, "file:///tmp/not_darch.darch"))
    assert "error" not in answer


def test_unknown_methods_and_bad_parameters_are_answered_with_errors(raw):
    answer = raw.answer(raw.send("darch/unknown", {}))
    assert answer["error"]["code"] == -32601
    raw.send("darch/unknownNotification", {}, request=False)  # ignored, as the spec says
    answer = raw.answer(raw.send("textDocument/hover", {"textDocument": {"uri": 3}}))
    assert answer["error"]["code"] == -32602
    assert raw.answer(hover_at(raw, "file:///tmp/x.darch"))["result"] is None


@pytest.mark.slow  # a server of its own
def test_a_client_that_disconnects_mid_session_ends_the_server_cleanly():
    raw = started()
    raw.open("file:///tmp/open.darch", "space = concat [relu()]\n")
    hover_at(raw, "file:///tmp/open.darch")  # never read: the client is gone
    code, err = raw.disconnect()
    assert err == b""
    assert code == 0


@pytest.mark.slow  # a server of its own
def test_shutdown_then_exit_ends_the_server():
    raw = started()
    assert raw.answer(raw.send("shutdown", None))["result"] is None
    raw.send("exit", None, request=False)
    assert raw.process.wait(10) == 0
    assert raw.process.stderr.read() == b""
