"""Shape inference: walk an architecture once, before any tensor exists, into a flat plan.

The plan is the architecture unrolled into the order the forward pass runs: one
`LayerStep` per layer copy (a tied repeat of 32 gives 32 steps, each with its own
weights), and a `JoinStep` after each residual body. Every step knows its input and
output shapes, its `.darch` span and a module name made from its program path, so the
compiled module, the summary table and the exported source are all read off one plan.

A shape that cannot work is a `DarchError` at the layer's (or the residual's) line.
This module needs no torch.

Residual joins (DeepArchitect's rule, and ResNet's "option A" for the spatial part):
with `join: "pad"` the narrower side is zero-padded in channels, and a body that
downsamples (output ceil(n / s) for a whole stride s, as a strided "same" conv gives)
meets its input subsampled with that stride (`x[:, :, ::s, ::s]`), so the join has no
parameters. With `join: "project"` a shortcut whose shape differs from the body's
output goes through a bias-free 1x1 convolution with stride s (a linear map for
vectors), initialized kaiming(1.0); equal shapes add directly (ResNet's "option B").

Graph blocks keep each named value in a local variable of the forward; a layer chain
works on the variable `x` and reads its first input from the value it is applied to.
`add` needs equal shapes, `cat` joins channels and needs the rest equal.
"""

from __future__ import annotations

import builtins
import keyword
import re
from dataclasses import dataclass, field
from typing import Any

from darchlang.arch.graph import Architecture, Graph, Layer, Node, Repeat, Residual, Seq
from darchlang.backends.torch.ops import describe_shape, shape_text
from darchlang.environment import Environment, default_environment
from darchlang.errors import DarchError, Span
from darchlang.layers.defs import REQUIRED, LayerDef

Shape = tuple[int, ...]

# Attribute names an nn.Module already uses; a program path that spells one gets a `_`.
_RESERVED = {
    "training", "forward", "plan", "forward_source", "input_shape", "output_shape",
    "T_destination", "dump_patches", "call_super_init",
}  # fmt: skip


@dataclass(eq=False)
class LayerStep:
    """One layer copy: `name` is its attribute on the model (and state_dict prefix)."""

    name: str
    path: str
    layer: Layer
    ldef: LayerDef
    attrs: dict[str, Any]
    in_shape: Shape
    out_shape: Shape
    depth: int
    src: str = "x"  # the variable the layer reads; it always writes `x`

    @property
    def kind(self) -> str:
        return self.layer.kind

    @property
    def span(self) -> Span | None:
        return self.layer.span

    @property
    def has_module(self) -> bool:
        return self.ldef.build is not None


@dataclass(eq=False)
class OpenStep:
    """The start of a residual: the forward saves its input as the shortcut."""

    name: str
    path: str
    residual: Residual
    in_shape: Shape
    depth: int
    src: str = "x"


@dataclass(eq=False)
class JoinStep:
    """The end of a residual: add the (adapted) shortcut to the body's output.

    `stride` subsamples the shortcut, `pad_shortcut` / `pad_body` are the zero channels
    added to the narrower side; `project` names the 1x1 projection module, if any.
    """

    name: str
    path: str
    residual: Residual
    in_shape: Shape
    body_shape: Shape
    out_shape: Shape
    depth: int
    stride: tuple[int, ...] = ()
    pad_shortcut: int = 0
    pad_body: int = 0
    project: str | None = None

    @property
    def span(self) -> Span | None:
        return self.residual.span


@dataclass(eq=False)
class GraphOpenStep:
    """The start of a graph block (a row of the summary; it runs no code)."""

    name: str
    path: str
    graph: Graph
    in_shapes: tuple[Shape, ...]
    depth: int

    @property
    def span(self) -> Span | None:
        return self.graph.span


@dataclass(eq=False)
class MergeStep:
    """`add` or `cat` of graph values into the variable `dst`."""

    name: str
    path: str
    kind: str
    dst: str
    srcs: tuple[str, ...]
    args: tuple[str, ...]  # the merged values' names in the program
    in_shapes: tuple[Shape, ...]
    out_shape: Shape
    span: Span | None
    depth: int


@dataclass(eq=False)
class MoveStep:
    """`dst = src` between the working variable `x` and graph values (no tensor copy)."""

    dst: str
    src: str


Step = LayerStep | OpenStep | JoinStep | GraphOpenStep | MergeStep | MoveStep


@dataclass(eq=False)
class Plan:
    """The whole network as a flat list of steps, with its input and output shapes."""

    input_shape: Shape
    output_shape: Shape
    steps: list[Step] = field(default_factory=list)

    def layer_steps(self) -> list[LayerStep]:
        return [s for s in self.steps if isinstance(s, LayerStep)]


def network_of(source: Architecture | Node) -> Node:
    """The root node of an architecture (or the node itself)."""
    if isinstance(source, Architecture):
        if source.network is None:
            raise DarchError(
                "this program has no network to compile",
                help=f"bind the network to `{source.network_name}`",
            )
        return source.network
    if isinstance(source, Node):
        return source
    raise TypeError(f"expected an Architecture or an architecture node, got {type(source).__name__}")


def check_input_shape(shape: Any) -> Shape:
    """A tuple of positive ints (channels x height x width, or features)."""
    try:
        dims = tuple(shape)
    except TypeError:
        dims = ()
    if not dims or any(isinstance(d, bool) or not isinstance(d, int) or d < 1 for d in dims):
        raise DarchError(
            f"an input shape is a list of positive sizes, got {shape!r}",
            help="give channels x height x width (3x32x32) or a feature count (784)",
        )
    return dims


def parse_shape(text: str) -> Shape:
    """`3x32x32` (or `3,32,32`, `784`) as a shape tuple; a DarchError otherwise."""
    parts = [p for p in re.split(r"[x,\s]+", text.strip().lower()) if p]
    try:
        dims = tuple(int(p) for p in parts)
    except ValueError:
        dims = ()
    if not dims or any(d < 1 for d in dims):
        raise DarchError(
            f"cannot read the input shape `{text}`",
            help="write channels x height x width, for example 3x32x32, or a feature count",
        )
    return dims


def plan_network(
    source: Architecture | Node, input_shape: Any, env: Environment | None = None
) -> Plan:
    """Infer every shape and name every module; raise DarchError where a shape fails."""
    shape = check_input_shape(input_shape)
    planner = _Planner(env or default_environment())
    out = planner.node(network_of(source), shape, 0)
    return Plan(shape, out, planner.steps)


class _Planner:
    __slots__ = ("env", "steps", "used", "rewrites", "pending", "live")

    def __init__(self, env: Environment):
        self.env = env
        self.steps: list[Step] = []
        self.used: set[str] = set()
        # The graph value the next layer reads instead of `x` (set when a chain is applied
        # to a value), and the variable names of the graph values in scope.
        self.pending: str | None = None
        self.live: set[str] = set()
        # (prefix, replacement): inside copy k of a tied repeat at path P, the body's
        # paths `P/body/...` become `P/k/...`, like an untied repeat's copies.
        self.rewrites: list[tuple[str, str]] = []

    def node(self, node: Node, shape: Shape, depth: int) -> Shape:
        t = type(node)
        if t is Layer:
            return self.layer(node, shape, depth)
        if t is Seq:
            for item in node.items:
                shape = self.node(item, shape, depth)
            return shape
        if t is Repeat:
            for k in range(node.times):
                if node.path:
                    self.rewrites.append((f"{node.path}/body", f"{node.path}/{k}"))
                shape = self.node(node.body, shape, depth)
                if node.path:
                    self.rewrites.pop()
            return shape
        if t is Residual:
            return self.residual(node, shape, depth)
        if t is Graph:
            return self.chain_graph(node, shape, depth)
        raise TypeError(f"cannot compile architecture node {t.__name__}")

    def take_src(self) -> str:
        """The variable the next layer reads: a pending graph value, else `x`."""
        src, self.pending = self.pending or "x", None
        return src

    def flush(self) -> None:
        """Put a pending graph value in `x` (before a step that reads `x` itself)."""
        if self.pending is not None:
            self.steps.append(MoveStep("x", self.pending))
            self.pending = None

    def rename(self, path: str) -> str:
        """The path of this copy: the innermost repeat first, all in the original spelling."""
        for prefix, new in reversed(self.rewrites):
            if path == prefix or path.startswith(prefix + "/"):
                path = new + path[len(prefix) :]
        return path

    def name(self, path: str, fallback: str) -> str:
        base = re.sub(r"\W", "_", path, flags=re.ASCII).strip("_") or fallback
        if base[0].isdigit():
            base = "_" + base
        if keyword.iskeyword(base) or base in _RESERVED or base in _MODULE_ATTRS:
            base += "_"
        name, n = base, 1
        while name in self.used:
            n += 1
            name = f"{base}_{n}"
        self.used.add(name)
        return name

    def layer(self, layer: Layer, shape: Shape, depth: int) -> Shape:
        ldef = layer.definition or self.env.layers.get(layer.kind)
        if ldef is None or ldef.shape is None or (ldef.build is None and ldef.call is None):
            what = "is not a known layer" if ldef is None else "has no PyTorch implementation"
            raise DarchError(f"`{layer.kind}` {what}", layer.span)
        attrs = dict(layer.attrs)
        for p in ldef.params:
            if p.name not in attrs:
                if p.default is REQUIRED:
                    raise DarchError(f"`{layer.kind}` needs the argument `{p.name}`", layer.span)
                attrs[p.name] = p.default
        path = self.rename(layer.path)
        try:
            out = tuple(ldef.shape(attrs, shape))
        except ValueError as exc:
            raise DarchError(
                f"`{layer.kind}` cannot take {describe_shape(shape)}: {exc}",
                layer.span,
                notes=[f"the layer is `{path}`"] if path else [],
            ) from None
        except Exception as exc:  # a bug in a user's shape rule: point at both places
            raise hook_error(ldef, "shape rule", exc, layer.span) from None
        if not out or any(d < 1 for d in out):
            raise DarchError(
                f"`{layer.kind}` would turn {shape_text(shape)} into an empty output",
                layer.span,
            )
        self.steps.append(
            LayerStep(
                self.name(path, layer.kind), path, layer, ldef, attrs, shape, out, depth,
                self.take_src(),
            )
        )
        return out

    def residual(self, res: Residual, shape: Shape, depth: int) -> Shape:
        path = self.rename(res.path)
        name = self.name(path, "residual")
        if res.join not in ("pad", "project"):
            raise DarchError(
                f'a residual join is "pad" or "project", got {res.join!r}', res.span
            )
        # The shortcut reads the pending value too; the body's first layer consumes it.
        self.steps.append(OpenStep(name, path, res, shape, depth, self.pending or "x"))
        body = self.node(res.body, shape, depth + 1)
        self.flush()
        join = JoinStep(name, path, res, shape, body, body, depth)
        if body != shape:
            _plan_join(join)
            if res.join == "project":
                join.project = self.name(f"{path}/project", "project")
        self.steps.append(join)
        return join.out_shape


    # -- graph blocks ---------------------------------------------------------------------

    def var(self, name: str) -> str:
        """A fresh local variable for a graph value, named after it where possible."""
        base = re.sub(r"\W", "_", name, flags=re.ASCII) or "v"
        if base[0].isdigit() or base in _RESERVED_VARS or _SKIP.fullmatch(base):
            base += "_"
        var, n = base, 1
        while var in self.live or var in _RESERVED_VARS:
            n += 1
            var = f"{base}_{n}"
        self.live.add(var)
        return var

    def chain_graph(self, graph: Graph, shape: Shape, depth: int) -> Shape:
        """A one-input graph block used as a layer: its input is `x` (or the pending value)."""
        if len(graph.inputs) != 1:
            raise DarchError(
                f"a graph block with {len(graph.inputs)} inputs cannot be used as a layer",
                graph.span,
                help="apply it to values inside another graph block, as in `g(a, b)`",
            )
        scope: list[str] = []
        if self.pending is not None:
            src = self.take_src()
        else:
            src = self.var(graph.inputs[0])
            scope.append(src)
            self.steps.append(MoveStep(src, "x"))
        out_var, out = self.graph(graph, (src,), (shape,), depth)
        self.steps.append(MoveStep("x", out_var))
        self.release(out_var, (src,))
        self.live.difference_update(scope)
        return out

    def graph(
        self, graph: Graph, srcs: tuple[str, ...], shapes: tuple[Shape, ...], depth: int
    ) -> tuple[str, Shape]:
        """Plan a block whose inputs are in `srcs`; return its output's variable and shape."""
        path = self.rename(graph.path)
        self.steps.append(GraphOpenStep(self.name(path, "graph"), path, graph, shapes, depth))
        names = list(srcs)
        values = list(shapes)
        scope: list[str] = []
        for step in graph.steps:
            span = step.span or graph.span
            ins = [names[i] for i in step.inputs]
            in_shapes = tuple(values[i] for i in step.inputs)
            dst = self.var(step.name)
            scope.append(dst)
            if step.kind == "apply":
                out = self.apply(graph, step.name, step.op, tuple(ins), in_shapes, dst, span, depth)
            else:
                out = merge_shape(step.kind, in_shapes, span)
                self.steps.append(
                    MergeStep(
                        self.name(f"{path}/{step.name}", step.kind), f"{path}/{step.name}",
                        step.kind, dst, tuple(ins), tuple(graph.value_name(i) for i in step.inputs),
                        in_shapes, out, span, depth + 1,
                    )
                )
            names.append(dst)
            values.append(out)
        out_var, out_shape = names[graph.output], values[graph.output]
        # The block's values go out of scope; the output's variable stays taken until
        # the caller has moved it (see `release`).
        self.live.difference_update(v for v in scope if v != out_var)
        return out_var, out_shape

    def release(self, var: str, keep: tuple[str, ...]) -> None:
        if var not in keep:
            self.live.discard(var)

    def apply(
        self, graph: Graph, name: str, op: Node | None, ins: tuple[str, ...],
        shapes: tuple[Shape, ...], dst: str, span: Span | None, depth: int,
    ) -> Shape:
        wanted = len(op.inputs) if isinstance(op, Graph) else 1
        if op is None or len(ins) != wanted:
            raise DarchError(
                f"`{name}` applies a block of {wanted} input{'s' if wanted != 1 else ''} "
                f"to {len(ins)} value{'s' if len(ins) != 1 else ''}",
                span,
            )
        if isinstance(op, Graph):
            out_var, out = self.graph(op, ins, shapes, depth + 1)
            self.steps.append(MoveStep(dst, out_var))
            self.release(out_var, ins)
            return out
        self.pending = ins[0]
        out = self.node(op, shapes[0], depth + 1)
        self.flush()
        self.steps.append(MoveStep(dst, "x"))
        return out


def merge_shape(kind: str, shapes: tuple[Shape, ...], span: Span | None) -> Shape:
    listed = ", ".join(shape_text(s) for s in shapes)
    if kind == "add":
        if len(set(shapes)) != 1:
            raise DarchError(
                f"`add` needs inputs of one shape, got {listed}",
                span,
                help="make the branches agree in channels and size, e.g. with a 1x1 conv2d",
            )
        return shapes[0]
    if kind == "cat":
        if len({(len(s), s[1:]) for s in shapes}) != 1:
            raise DarchError(
                f"`cat` joins channels and needs the other sizes equal, got {listed}",
                span,
            )
        return (sum(s[0] for s in shapes), *shapes[0][1:])
    raise DarchError(f"unknown merge `{kind}`", span)



def hook_error(ldef: Any, what: str, exc: Exception, span: Span | None) -> DarchError:
    """A user hook that raised: name the primitive, its origin and the hook's own line."""
    import traceback

    frames = traceback.extract_tb(exc.__traceback__)
    where = f"{frames[-1].filename}:{frames[-1].lineno}" if frames else "?"
    return DarchError(
        f"the {what} of `{ldef.name}` ({ldef.origin}) raised {type(exc).__name__}: {exc}",
        span,
        notes=[f"the {what} is at {where}"],
        help="a shape rule should raise ValueError with a sentence when an input cannot work",
    )


def _plan_join(join: JoinStep) -> None:
    """Work out how a shortcut of shape `in_shape` meets a body output of `body_shape`."""
    layout = join_layout(join.in_shape, join.body_shape, join.residual.join, join.span)
    join.stride, pad_shortcut, pad_body, join.out_shape = layout
    if join.residual.join == "pad":
        join.pad_shortcut, join.pad_body = pad_shortcut, pad_body


def join_layout(x: Shape, y: Shape, kind: str, span: Span | None
                ) -> tuple[tuple[int, ...], int, int, Shape]:
    """How a residual joins input `x` and body output `y`: the shortcut's stride, the
    zero channels added to each side (for "pad"), and the output shape."""
    if len(x) != len(y) or len(x) not in (1, 3):
        raise DarchError(
            f"cannot join a residual: its body turns {_words(x)} into {_words(y)}",
            span,
            help="a residual body must keep the rank (image to image, or vector to vector)",
        )
    stride = []
    for n, m in zip(x[1:], y[1:], strict=True):
        s = -(-n // m)
        if m > n or -(-n // s) != m:
            raise DarchError(
                f"cannot join a residual: its body turns {_words(x)} into {_words(y)}, "
                f"and {m} is not {n} downsampled by a whole stride",
                span,
                help='use padding: "same" inside the body so it keeps or divides the image size',
            )
        stride.append(s)
    strides = tuple(stride) if any(s != 1 for s in stride) else ()
    if kind == "pad":
        return strides, max(y[0] - x[0], 0), max(x[0] - y[0], 0), (max(x[0], y[0]), *y[1:])
    return strides, 0, 0, y


def _words(shape: Shape) -> str:
    return f"{shape[0]} features" if len(shape) == 1 else shape_text(shape)


def _module_attrs() -> frozenset[str]:
    """Names nn.Module defines, computed lazily so planning does not import torch."""
    try:
        from torch import nn
    except ImportError:  # pragma: no cover - torch is a dependency
        return frozenset()
    return frozenset(dir(nn.Module))


class _LazyAttrs:
    __slots__ = ("_names",)

    def __init__(self) -> None:
        self._names: frozenset[str] | None = None

    def __contains__(self, name: object) -> bool:
        if self._names is None:
            self._names = _module_attrs()
        return name in self._names


_MODULE_ATTRS = _LazyAttrs()
# Names the generated forward uses itself, so graph values never shadow them.
_RESERVED_VARS = frozenset({"x", "self", "F", "torch", "nn", "math"}) | frozenset(
    keyword.kwlist
) | frozenset(dir(builtins))
_SKIP = re.compile(r"skip\d+")
