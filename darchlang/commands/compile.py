"""Compile one architecture of a space to a PyTorch model and print its layer table:
each layer with the `.darch` line it came from, its output shape, parameters and
multiply-adds. Optionally write the model as a standalone PyTorch file or as ONNX.

The architecture is the one `darch sample` prints for the same seed (or decisions).
The input is `--input`, else the file's `# darch: input` line, else 3x32x32; the
line above the table says which when it was not given.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from darchlang.app.programs import header, pick
from darchlang.commands.common import (
    add_decision_arguments,
    add_input_argument,
    add_program_arguments,
    check_writable,
    input_from_args,
    load_program_from_args,
    parse_decisions,
    print_json,
    seed_number,
)
from darchlang.errors import DarchError

HELP = "compile an architecture to PyTorch: layer table, standalone source, ONNX"
ORDER = 60


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_program_arguments(parser)
    parser.add_argument("--seed", type=seed_number, default=0,
                        help="random seed of the pick, 0 or more (default 0)")
    add_decision_arguments(parser)
    add_input_argument(parser)
    parser.add_argument("--device", default="cpu", help="cpu (default), cuda or cuda:N")
    parser.add_argument("--emit-python", metavar="FILE", type=Path,
                        help="write a standalone PyTorch module (needs only torch) to FILE")
    parser.add_argument("--emit-onnx", metavar="FILE", type=Path,
                        help="export the model (eval mode, any batch size) to ONNX")
    parser.add_argument("--weights", metavar="CKPT", type=Path,
                        help="load trained weights (a checkpoint of `darch train --model-path`, "
                        "`--keep-best` or `darch export`) before exporting")
    parser.add_argument("--json", action="store_true",
                        help="print the architecture and layer table as JSON")


def run(args: argparse.Namespace) -> int:
    for path in (args.emit_python, args.emit_onnx):
        if path is not None:
            check_writable(path)
    from darchlang.backends.torch.compiler import compile_architecture
    from darchlang.backends.torch.export import emit_python, export_onnx
    from darchlang.backends.torch.summary import summarize

    program = load_program_from_args(args)
    given = input_from_args(args, program)
    shape = given.shape
    decisions = None if args.decisions is None else parse_decisions(args.decisions)
    arch = pick(program.space, args.seed, decisions)
    model = compile_architecture(arch, shape, device=args.device)
    if args.weights is not None:
        _load_weights(model, args.weights)
    summary = summarize(model)
    written: dict[str, str] = {}
    if args.emit_python is not None:
        _write(args.emit_python, emit_python(arch, shape))
        written["python"] = str(args.emit_python)
    if args.emit_onnx is not None:
        export_onnx(model, shape, args.emit_onnx)
        written["onnx"] = str(args.emit_onnx)
    if args.json:
        print_json({"architecture": arch.to_json(), "device": args.device,
                    "input": given.to_json(), "summary": summary.to_json(),
                    "written": written})
        return 0
    print(header(arch))
    if given.origin != "given":
        print(f"# for input {given.described()}")
    print(summary.render())
    for kind, path in written.items():
        print(f"wrote {path} ({'standalone PyTorch source' if kind == 'python' else 'ONNX'})")
    return 0


def _load_weights(model: object, path: Path) -> None:
    """Put a checkpoint's trained weights into the compiled model (eval mode)."""
    import torch

    from darchlang.report.export import fit_weights

    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except OSError as exc:
        raise _unloadable(path, exc.strerror or str(exc)) from None
    except Exception:  # any file at all reaches the unpickler, which fails in many ways
        raise _unloadable(path, "it is not a PyTorch checkpoint of tensors") from None
    weights = state["state_dict"] if isinstance(state, dict) and "state_dict" in state \
        else state
    try:
        model.load_state_dict(fit_weights(model, weights, str(path)))
    except (RuntimeError, KeyError, TypeError, AttributeError) as exc:
        if isinstance(exc, DarchError):
            raise
        raise _unloadable(path, (str(exc).splitlines() or [type(exc).__name__])[0]) from None
    model.eval()


def _unloadable(path: Path, reason: str) -> DarchError:
    return DarchError(f"cannot load weights from `{path}`: {reason}",
                      help="give a checkpoint written by darch train --model-path, "
                           "--keep-best or darch export")


def _write(path: Path, text: str) -> None:
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise DarchError(f"cannot write `{path}`: {exc.strerror or exc}") from None
