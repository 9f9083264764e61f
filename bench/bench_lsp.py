"""Language server latency: from an edit to its diagnostics, on the complex CIFAR-10 space.

    python bench/bench_lsp.py [--file examples/cifar10_complex.darch] [--edits 50]

Target (issue 18): diagnostics within 50 ms of a change. A real LSP client (pygls's)
starts `darch lsp`, opens the file and makes `--edits` edits, as typing would: most
change a number (the text still builds), every fifth misspells a layer (an error to
report). Each latency runs from sending `didChange` to receiving the
`publishDiagnostics` of that version. The baseline is `darch check` of the same text
in this process (parse, build, count; no protocol), timed just before each edit, so
the ratio shows what the protocol and the server add.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from pathlib import Path

from lsprotocol import types
from pygls.lsp.client import LanguageClient

from darchlang.errors import DarchError
from darchlang.semantics.program import load_string

ROOT = Path(__file__).resolve().parent.parent
TARGET_MS = 50.0


def edits(text: str, n: int) -> list[str]:
    """`n` versions of `text`: a number changed in each, a layer misspelt in every fifth."""
    out = []
    for i in range(n):
        edited = text.replace("[0.5, 0.9]", f"[0.5, 0.{(i % 8) + 1}]", 1)
        if i % 5 == 4:
            edited = edited.replace("batch_norm()", "batch_nrom()", 1)
        out.append(edited)
    return out


def check_in_process(text: str, name: str) -> float:
    """Seconds for `darch check` of `text` without the protocol."""
    start = time.perf_counter()
    try:
        load_string(text, name).space.count()
    except DarchError:
        pass
    return time.perf_counter() - start


async def measure(path: Path, n: int) -> tuple[list[float], list[float], int]:
    client = LanguageClient("bench", "1")
    arrived: dict[int, asyncio.Future] = {}
    errors = 0

    @client.feature(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
    def on_diagnostics(ls, params: types.PublishDiagnosticsParams) -> None:
        future = arrived.get(params.version)
        if future is not None and not future.done():
            future.set_result(params.diagnostics)

    await client.start_io(sys.executable, "-m", "darchlang.cli", "lsp", cwd=str(ROOT))
    await client.initialize_async(types.InitializeParams(capabilities=types.ClientCapabilities()))
    client.initialized(types.InitializedParams())
    text = path.read_text("utf-8")
    uri = path.resolve().as_uri()
    loop = asyncio.get_running_loop()
    arrived[1] = loop.create_future()
    client.text_document_did_open(types.DidOpenTextDocumentParams(
        types.TextDocumentItem(uri, "darch", 1, text)))
    await arrived[1]
    check_in_process(text, str(path))  # warm, as opening the file warmed the server
    served, baseline = [], []
    for version, edited in enumerate(edits(text, n), start=2):
        baseline.append(check_in_process(edited, str(path)))
        arrived[version] = loop.create_future()
        start = time.perf_counter()
        client.text_document_did_change(types.DidChangeTextDocumentParams(
            types.VersionedTextDocumentIdentifier(version=version, uri=uri),
            [types.TextDocumentContentChangeWholeDocument(edited)]))
        diagnostics = await arrived[version]
        served.append(time.perf_counter() - start)
        errors += bool(diagnostics)
    await client.shutdown_async(None)
    client.exit(None)
    await client.stop()
    return served, baseline, errors


def row(name: str, seconds: list[float]) -> str:
    ms = sorted(s * 1000 for s in seconds)
    p90 = ms[min(len(ms) - 1, int(0.9 * len(ms)))]
    return (f"| {name} | {ms[0]:.1f} | {statistics.median(ms):.1f} | {p90:.1f} | "
            f"{ms[-1]:.1f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--file", default=str(ROOT / "examples" / "cifar10_complex.darch"))
    parser.add_argument("--edits", type=int, default=50)
    args = parser.parse_args()
    served, baseline, errors = asyncio.run(measure(Path(args.file), args.edits))
    print(f"{len(served)} edits of {Path(args.file).name} ({errors} with an error to report)\n")
    print("| ms | min | median | p90 | max |")
    print("| --- | --- | --- | --- | --- |")
    print(row("edit -> diagnostics (darch lsp)", served))
    print(row("darch check in-process (baseline)", baseline))
    ratio = statistics.median(served) / statistics.median(baseline)
    within = sum(s * 1000 <= TARGET_MS for s in served)
    print(f"\nmedian ratio lsp / baseline: {ratio:.2f}x; "
          f"{within}/{len(served)} edits within {TARGET_MS:.0f} ms")


if __name__ == "__main__":
    main()
