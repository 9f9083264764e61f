"""Compile an architecture to an `nn.Module` whose forward is plain, generated source.

The plan (see `plan.py`) becomes two things: the submodules, registered under names
made from program paths (`space_0_conv2d`, so `state_dict()` keys lead back to the
source), and the text of a `forward` method, one line per call, which is compiled once
per model, as torch.fx does for its GraphModules. Running it is exactly running a
hand-written forward: no loop over a graph, no dispatch per layer. The same text is what
`emit_python` writes into a standalone file, so the compiled and exported models cannot
drift apart.

The generated lines carry the output shape and the `.darch` line as comments, and the
text is registered with `linecache`, so a traceback through the forward shows the
generated line and where the layer came from.
"""

from __future__ import annotations

import functools
import hashlib
import linecache
import re
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from darchlang.arch.graph import Architecture, Node
from darchlang.backends.torch.plan import (
    GraphOpenStep,
    JoinStep,
    LayerStep,
    MergeStep,
    OpenStep,
    Plan,
    plan_network,
)
from darchlang.backends.torch.runtime import kaiming_
from darchlang.environment import Environment
from darchlang.errors import DarchError, Span
from darchlang.layers.shapes import channel_axis, shape_text
from darchlang.text import display_path


def source_where(span: Span | None) -> str:
    """`file:line` of a span, safe to put in a comment; the file named as `display_path`
    does (never this machine's absolute path)."""
    if span is None:
        return ""
    return printable(f"{display_path(span.source.name)}:{span.line}")


def printable(text: str) -> str:
    """Text with no line breaks or other control characters, safe in a `#` comment."""
    return "".join(c if c.isprintable() else "?" for c in text)


def _channel_pad(rank: int, n: int) -> str:
    """F.pad's argument adding `n` zero channels (features, for vectors and tokens)."""
    return f"(0, {n})" if rank <= 2 else f"(0, 0, 0, 0, 0, {n})"


def _comment(shape: tuple[int, ...], span: Span | None) -> str:
    where = source_where(span)
    return f"  # {shape_text(shape)}" + (f"  {where}" if where else "")


def forward_lines(plan: Plan) -> list[str]:
    """The generated `forward(self, x)`, unindented, one line per call."""
    shape = plan.input_shape
    lines = [
        "def forward(self, x):",
        f"    if x.shape[1:] != {shape!r}:",
        f'        raise ValueError(f"expected input N x {shape_text(shape)}, got {{tuple(x.shape)}}")',
    ]
    ops: list[tuple[str, str, str]] = []  # (variable, expression, comment)
    for step in plan.steps:
        if isinstance(step, LayerStep):
            module = f"self.{step.name}" if step.has_module else None
            call = step.lowering.call
            expr = call(step.attrs, step.in_shape, module, step.src) if call else f"{module}({step.src})"
            if expr != "x":
                ops.append(("x", expr, _comment(step.out_shape, step.span)))
        elif isinstance(step, OpenStep):
            where = source_where(step.residual.span)
            ops.append((f"skip{step.depth}", step.src, "  # residual" + (f"  {where}" if where else "")))
        elif isinstance(step, JoinStep):
            ops.append(("x", _join_expr(step), _comment(step.out_shape, step.span)))
        elif isinstance(step, MergeStep):
            if step.kind in ("add", "mul"):
                expr = (" + " if step.kind == "add" else " * ").join(step.srcs)
            else:
                axis = 1 + channel_axis(step.in_shapes[0])  # a token's features, not the tokens
                expr = step.srcs[0] if len(step.srcs) == 1 else f"torch.cat([{', '.join(step.srcs)}], {axis})"
            ops.append((step.dst, expr, _comment(step.out_shape, step.span)))
        elif isinstance(step, GraphOpenStep):
            where = source_where(step.span)
            ops.append(("", "", f"# graph {printable(step.path)}" + (f"  {where}" if where else "")))
        elif step.dst != step.src:
            if step.src == "x" and ops and ops[-1][0] == "x":
                # `x = f(...)` then `v = x`: write `v = f(...)`. Safe because the plan
                # never reads `x` after moving it into a graph value without writing it.
                ops[-1] = (step.dst, ops[-1][1], ops[-1][2])
            else:
                ops.append((step.dst, step.src, ""))
    for var, expr, comment in ops:
        lines.append(f"    {var} = {expr}{comment}" if var else f"    {comment}")
    lines.append("    return x")
    return lines


def _join_expr(step: JoinStep) -> str:
    skip = f"skip{step.depth}"
    rank = len(step.in_shape)
    if step.project is not None:
        skip = f"self.{step.project}({skip})"
    else:
        if step.stride:
            skip += "[:, :, " + ", ".join(f"::{s}" for s in step.stride) + "]"
        if step.pad_shortcut:
            skip = f"F.pad({skip}, {_channel_pad(rank, step.pad_shortcut)})"
    body = "x"
    if step.pad_body:
        body = f"F.pad(x, {_channel_pad(rank, step.pad_body)})"
    return f"{body} + {skip}"


def projection_source(step: JoinStep) -> str:
    """Constructor source of a join's projection: bias-free 1x1 conv (or linear map)."""
    if len(step.in_shape) <= 2:
        cin, cout = step.in_shape[-1], step.body_shape[-1]
        return f"kaiming_(nn.Linear({cin}, {cout}, bias=False), 1.0)"
    cin, cout = step.in_shape[0], step.body_shape[0]
    stride = ""
    if step.stride:
        s = step.stride
        stride = f", stride={s[0] if len(set(s)) == 1 else s}"
    return f"kaiming_(nn.Conv2d({cin}, {cout}, 1{stride}, bias=False), 1.0)"


def _build_projection(step: JoinStep) -> nn.Module:
    if len(step.in_shape) <= 2:
        cin, cout = step.in_shape[-1], step.body_shape[-1]
        return kaiming_(nn.Linear(cin, cout, bias=False), 1.0)
    cin, cout = step.in_shape[0], step.body_shape[0]
    stride = step.stride or (1, 1)
    return kaiming_(nn.Conv2d(cin, cout, 1, stride=stride, bias=False), 1.0)


def build_modules(plan: Plan) -> dict[str, nn.Module]:
    """Every module of the plan, in forward order (the order weights are drawn)."""
    modules: dict[str, nn.Module] = {}
    for step in plan.steps:
        try:
            if isinstance(step, LayerStep):
                if step.lowering.build is not None:
                    modules[step.name] = step.lowering.build(step.attrs, step.in_shape)
            elif isinstance(step, JoinStep) and step.project is not None:
                modules[step.project] = _build_projection(step)
        except (RuntimeError, MemoryError, TypeError, OverflowError) as exc:
            raise _too_large(step, exc) from None
    return modules


def _too_large(step: Any, exc: BaseException) -> BaseException:
    """A layer whose weights cannot be allocated (`affine(units: 10 ** 9)`) or whose
    sizes pass torch's 64-bit integers is an error at its line, not torch's traceback;
    any other error stays as it is."""
    text = str(exc)
    kind = step.layer.kind if isinstance(step, LayerStep) else "residual"
    if "overflow" in text.lower():
        what = "its sizes pass the 64-bit integers torch counts in"
    elif isinstance(exc, MemoryError) or "allocate" in text:
        wanted = re.search(r"allocate (\d+) bytes", text)
        need = f"{int(wanted.group(1)) / 1e9:,.1f} GB, more" if wanted else "more"
        what = f"its weights need {need} memory than this machine can give"
    else:
        return exc
    return DarchError(f"`{kind}` cannot be built: {what}", getattr(step, "span", None),
                      help="lower its width (filters, units) or kernel size")


_GLOBALS = {"torch": torch, "F": F, "nn": nn}


_KEEP_SOURCES = 256
_registered: OrderedDict[str, None] = OrderedDict()


@functools.lru_cache(maxsize=_KEEP_SOURCES)
def compile_forward(source: str) -> Callable[..., Any]:
    """Compile generated forward text once; equal architectures share the function.

    The text goes into `linecache` for tracebacks; only the latest few hundred stay
    there, so a long search does not keep every model's source alive.
    """
    filename = f"<darch forward {hashlib.sha1(source.encode()).hexdigest()[:12]}>"
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    _registered[filename] = None
    _registered.move_to_end(filename)
    while len(_registered) > _KEEP_SOURCES:
        linecache.cache.pop(_registered.popitem(last=False)[0], None)
    namespace: dict[str, Any] = {}
    exec(compile(source, filename, "exec"), dict(_GLOBALS), namespace)
    return namespace["forward"]


MEMORY_FORMATS = ("auto", "contiguous", "channels_last")
_IMAGE_KINDS = ("conv2d", "pool2d")  # layer kinds whose kernels are faster on NHWC images


def choose_memory_format(plan: Plan) -> str:
    """The rule behind `memory_format="auto"`: `channels_last` for a network of images
    with a 2-d convolution or pooling on them, `contiguous` (NCHW) otherwise.

    oneDNN (CPU) and cuDNN run convolutions and pooling natively in NHWC; in NCHW, on
    the CPU, each convolution reorders its input and output and `max_pool2d` takes a
    slow path (over a 64x64x8x8 batch 7.2 ms against 0.97 ms). A network of affine
    layers or tokens has no such kernels and keeps the default layout.
    """
    for step in plan.steps:
        if isinstance(step, LayerStep) and len(step.in_shape) == 3 and any(
            k in step.kind for k in _IMAGE_KINDS
        ):
            return "channels_last"
    return "contiguous"


class CompiledModel(nn.Module):
    """A compiled architecture: named submodules and a generated, straight-line forward.

    `plan` holds every step with its shapes and `.darch` span; `forward_source` is the
    forward's text (the same text `emit_python` writes). With `channels_last`, the
    weights and each input are laid out NHWC (the values, shapes and state_dict keys
    are the same; only the strides differ).
    """

    def __init__(self, plan: Plan, modules: dict[str, nn.Module], forward_source: str,
                 channels_last: bool = False):
        super().__init__()
        for name, module in modules.items():
            self.add_module(name, module)
        self.plan = plan
        self.forward_source = forward_source
        self.channels_last = channels_last
        self._forward_fn = compile_forward(forward_source)
        if channels_last:
            self.to(memory_format=torch.channels_last)

    @property
    def memory_format(self) -> str:
        return "channels_last" if self.channels_last else "contiguous"

    @property
    def input_shape(self) -> tuple[int, ...]:
        return self.plan.input_shape

    @property
    def output_shape(self) -> tuple[int, ...]:
        return self.plan.output_shape

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.channels_last and x.dim() == 4:
            x = x.contiguous(memory_format=torch.channels_last)
        return self._forward_fn(self, x)

    # The generated function is rebuilt from its text, so models pickle like any other.
    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state.pop("_forward_fn", None)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        super().__setstate__(state)
        self._forward_fn = compile_forward(self.forward_source)


def compile_plan(plan: Plan, device: str | torch.device = "cpu",
                 memory_format: str = "contiguous") -> CompiledModel:
    """Build the modules of an already inferred plan and move them to `device`.

    Weights are drawn on the CPU and then moved, so a seed gives the same weights on any
    device; `device="meta"` builds without allocating (to count parameters quickly).
    `memory_format` is `contiguous` (NCHW), `channels_last` (NHWC) or `auto` (decided by
    `choose_memory_format`).
    """
    dev = resolve_device(device)
    if memory_format not in MEMORY_FORMATS:
        raise DarchError(f"unknown memory format `{memory_format}`",
                         help="use " + ", ".join(MEMORY_FORMATS))
    if memory_format == "auto":
        memory_format = choose_memory_format(plan)
    channels_last = memory_format == "channels_last"
    source = "\n".join(forward_lines(plan)) + "\n"
    if dev.type == "meta":
        with torch.device("meta"):
            return CompiledModel(plan, build_modules(plan), source, channels_last)
    model = CompiledModel(plan, build_modules(plan), source, channels_last)
    return model if dev.type == "cpu" else model.to(dev)


def compile_architecture(
    source: Architecture | Node,
    input_shape: Any,
    device: str | torch.device = "cpu",
    env: Environment | None = None,
    memory_format: str = "contiguous",
) -> CompiledModel:
    """Compile an architecture (or a node of one) for inputs of `input_shape`.

    `input_shape` is without the batch dimension: (channels, height, width) or
    (features,). Every shape is inferred first; a shape that cannot work raises a
    DarchError at the offending `.darch` line before any tensor is made.
    `memory_format` is as in `compile_plan`.
    """
    return compile_plan(plan_network(source, input_shape, env), device, memory_format)


def resolve_device(device: str | torch.device) -> torch.device:
    """A torch device, or a DarchError that says what is available."""
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise DarchError(f"unknown device `{device}`: {exc}", help="use cpu or cuda") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise DarchError("CUDA is not available on this machine", help="use --device cpu")
    return dev
