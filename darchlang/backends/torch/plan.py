"""Shape inference: walk an architecture once, before any tensor exists, into a flat plan.

The plan is the architecture unrolled into the order the forward pass runs: one
`LayerStep` per layer copy (a tied repeat of 32 gives 32 steps, each with its own
weights), and a `JoinStep` after each residual body. Every step knows its input and
output shapes, its `.darch` span and a module name made from its program path, so the
compiled module, the summary table and the exported source are all read off one plan.

A shape that cannot work is a `DarchError` at the layer's (or the residual's) line.
Shape rules are the layers' own (`darchlang.layers`); each layer's `TorchLowering` is
looked up here once, so the compiler and the exporter only read the plan. This module
needs no torch: shape checking plans with it too.

Residual joins (DeepArchitect's rule, and ResNet's "option A" for the spatial part):
with `join: "pad"` the narrower side is zero-padded in channels, and a body that
downsamples (output ceil(n / s) for a whole stride s, as a strided "same" conv gives)
meets its input subsampled with that stride (`x[:, :, ::s, ::s]`), so the join has no
parameters. With `join: "project"` a shortcut whose shape differs from the body's
output goes through a bias-free 1x1 convolution with stride s (a linear map for
vectors), initialized kaiming(1.0); equal shapes add directly (ResNet's "option B").

Graph blocks keep each named value in a local variable of the forward; a layer chain
works on the variable `x` and reads its first input from the value it is applied to.
`add` needs equal shapes, `mul` too (or a per-channel gate), `cat` joins channels
(see `darchlang.layers.shapes.merge_shape`).
"""

from __future__ import annotations

import builtins
import functools
import keyword
import re
from collections.abc import Container
from dataclasses import dataclass, field
from typing import Any

from darchlang.arch.graph import (
    Architecture,
    Graph,
    GraphStep,
    Layer,
    Node,
    Repeat,
    Residual,
    Seq,
)
from darchlang.arch.prune import liveness
from darchlang.backends.torch.lowering import BACKEND, TorchLowering
from darchlang.environment import Environment, default_environment
from darchlang.errors import DarchError, Span
from darchlang.layers.defs import REQUIRED, LayerDef
from darchlang.layers.shapes import (
    WrongLayout,
    check_input_shape,
    crops,
    describe_shape,
    join_layout,
    layout,
    merge_shape,
    parse_shape,  # noqa: F401  (re-exported: import it from here)
    shape_text,
)

Shape = tuple[int, ...]

# Attribute names an nn.Module already uses; a program path that spells one gets a `_`.
_NOT_WORD = re.compile(r"\W", re.ASCII)


@functools.lru_cache(maxsize=4096)
def _attribute_base(path: str) -> str:
    """A layer's path as the start of a Python name (`stem_0_conv2d`). Kept: a shape
    proof that plans every architecture of a space names the same paths each time."""
    return _NOT_WORD.sub("_", path).strip("_")


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
    lowering: TorchLowering
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
        return self.lowering.build is not None


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
    """`add`, `mul` or `cat` of graph values into the variable `dst`."""

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


def plan_network(
    source: Architecture | Node, input_shape: Any, env: Environment | None = None,
    reserved: Container[str] | None = None,
) -> Plan:
    """Infer every shape and name every module; raise DarchError where a shape fails.

    Module names avoid `reserved` (by default the attributes of `nn.Module`, looked up
    on first use; shape checking, which names nothing, passes an empty set and so
    never imports torch)."""
    shape = check_input_shape(input_shape)
    planner = _Planner(env or default_environment(), _MODULE_ATTRS if reserved is None else reserved)
    out = planner.node(network_of(source), shape, 0)
    return Plan(shape, out, planner.steps)


class _Planner:
    __slots__ = ("env", "reserved", "steps", "used", "rewrites", "pending", "live", "prune")

    def __init__(self, env: Environment, reserved: Container[str], prune: bool = True):
        self.env = env
        self.reserved = reserved
        self.prune = prune  # leave out dead steps (a planner that only checks shapes keeps them)
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
        base = _attribute_base(path) or fallback
        if base[0].isdigit():
            base = "_" + base
        if keyword.iskeyword(base) or base in _RESERVED or base in self.reserved:
            base += "_"
        name, n = base, 1
        while name in self.used:
            n += 1
            name = f"{base}_{n}"
        self.used.add(name)
        return name

    def layer(self, layer: Layer, shape: Shape, depth: int) -> Shape:
        """Plan one layer; an error about it points at the program's call that made it
        (a layer a function makes), with the layer's own line beside."""
        try:
            return self._layer(layer, shape, depth)
        except DarchError as err:
            raise err.at_call_site(layer.trace) from None

    def _layer(self, layer: Layer, shape: Shape, depth: int) -> Shape:
        ldef = layer.definition or self.env.layers.get(layer.kind)
        lowering = self.env.lowering(BACKEND, layer.kind)
        if ldef is None or ldef.shape is None or lowering is None:
            what = ("is not a known layer" if ldef is None else "has no shape rule"
                    if ldef.shape is None else "has no PyTorch lowering")
            raise DarchError(
                f"`{layer.kind}` {what}", layer.span,
                help=None if ldef is None or ldef.shape is None else
                f'give one with env.add_lowering("torch", "{layer.kind}", TorchLowering(...))',
            )
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
                layer_message(layer.kind, shape, exc),
                layer.span,
                notes=[f"the layer is `{path}`"] if path else [],
                help=layout_help(layer.kind, shape, exc, self.token_maker()),
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
                self.name(path, layer.kind), path, layer, ldef, lowering, attrs, shape, out, depth,
                self.take_src(),
            )
        )
        return out

    def token_maker(self) -> LayerStep | None:
        """The latest layer that made tokens of something else (`patch_embed`,
        `embedding`), for a layout error about tokens; None when they are the input's."""
        for step in reversed(self.steps):
            if (isinstance(step, LayerStep) and layout(step.out_shape) == "tokens"
                    and layout(step.in_shape) != "tokens"):
                return step
        return None

    def residual(self, res: Residual, shape: Shape, depth: int) -> Shape:
        path = self.rename(res.path)
        name = self.name(path, "residual")
        if res.join not in ("pad", "project"):
            raise DarchError(
                f'a residual join is "pad" or "project", got {res.join!r}', res.span
            )
        # The shortcut reads the pending value too; the body's first layer consumes it.
        self.steps.append(OpenStep(name, path, res, shape, depth, self.pending or "x"))
        first = len(self.steps)
        body = self.node(res.body, shape, depth + 1)
        self.flush()
        join = JoinStep(name, path, res, shape, body, body, depth)
        if body != shape:
            _plan_join(join)
            _refuse_cropping(self.steps[first:], res.span)
            if res.join == "project":
                join.project = self.name(f"{path}/project", "project")
        self.steps.append(join)
        return join.out_shape


    # -- graph blocks ---------------------------------------------------------------------

    def var(self, name: str) -> str:
        """A fresh local variable for a graph value, named after it where possible."""
        base = _NOT_WORD.sub("_", name) or "v"
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
        """Plan a block whose inputs are in `srcs`; return its output's variable and shape.
        Steps that reach the output only through `zero()` are left out (`arch.prune`),
        and an add reads no zero input; their shapes are checked all the same, as
        `check --shapes` does: a program with a shape error is wrong wherever it is."""
        keep = liveness(graph) if self.prune else None
        n = len(graph.inputs)
        path = self.rename(graph.path)
        self.steps.append(GraphOpenStep(self.name(path, "graph"), path, graph, shapes, depth))
        names = list(srcs)
        values = list(shapes)
        scope: list[str] = []
        for k, step in enumerate(graph.steps):
            span = step.span or graph.span
            every = tuple(values[i] for i in step.inputs)
            if keep is not None and k + n not in keep.live:  # dead: its shape only
                values.append(self.shape_only(graph, step, every, depth))
                names.append("")
                continue
            used = step.inputs if keep is None else keep.inputs[k]
            ins = [names[i] for i in used]
            in_shapes = tuple(values[i] for i in used)
            dst = self.var(step.name)
            scope.append(dst)
            if step.kind == "apply":
                # a nested block is given every input; one it never reads may be dead (no
                # variable), and only its shape is passed on
                read = set(used)
                given = tuple(names[i] if i in read else "" for i in step.inputs)
                out = self.apply(graph, step.name, step.op, given, every, dst, span, depth)
            else:
                out = merge_shape(step.kind, every, span)  # the zeros left out must fit too
                self.steps.append(
                    MergeStep(
                        self.name(f"{path}/{step.name}", step.kind), f"{path}/{step.name}",
                        step.kind, dst, tuple(ins), tuple(graph.value_name(i) for i in used),
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

    def shape_only(self, graph: Graph, step: GraphStep, shapes: tuple[Shape, ...],
                   depth: int) -> Shape:
        """The output shape of a dead step, checked by a planner whose steps are dropped."""
        span = step.span or graph.span
        if step.kind != "apply":
            return merge_shape(step.kind, shapes, span)
        scratch = _Planner(self.env, (), prune=False)
        ins = tuple(f"v{i}" for i in range(len(shapes)))
        return scratch.apply(graph, step.name, step.op, ins, shapes, "dead", span, depth)

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


def layer_message(kind: str, shape: Shape, exc: ValueError) -> str:
    """A shape rule's complaint as the error says it."""
    if isinstance(exc, WrongLayout):
        return f"`{kind}` needs {exc.wanted}; this is {describe_shape(shape)}"
    return f"`{kind}` cannot take {describe_shape(shape)}: {exc}"


def layout_help(kind: str, shape: Shape, exc: ValueError,
                maker: LayerStep | None = None) -> str | None:
    """What to do about a layout a layer cannot take, for the usual slips: an image
    layer after the network went flat, after a layer made tokens (`maker`), and a
    2-number input meant as an image."""
    if not isinstance(exc, WrongLayout) or "an image" not in exc.wanted:
        return None
    if layout(shape) == "vector":
        return (f"`affine`, `flatten` and global pools make a vector; put `{kind}` before "
                "them")
    if layout(shape) == "tokens" and maker is not None:
        where = f" at {maker.span.where}" if maker.span else ""
        return (f"the tokens come from `{maker.kind}`{where}; `tokens_to_image()` turns a "
                "square grid of tokens back into an image")
    if layout(shape) == "tokens":
        return ("two sizes read as tokens x features; an image is channels x height x "
                "width, as in --input 3x32x32")
    return None


def _refuse_cropping(steps: list[Step], span: Span | None) -> None:
    """A residual body that changes the image size must do it by striding alone: a
    "valid" window crops the image, so its pixels no longer line up with the
    subsampled shortcut's (a 3x3 "valid" conv takes 4x4 to 2x2, which only looks like
    stride 2)."""
    for step in steps:
        if isinstance(step, LayerStep) and crops(step.attrs, step.in_shape, step.out_shape):
            raise DarchError(
                f"cannot join a residual: `{step.kind}` in its body crops "
                f"{shape_text(step.in_shape)} to {shape_text(step.out_shape)} with a \"valid\" "
                f"{step.attrs['size']}x{step.attrs['size']} window, so the body's pixels do not "
                "line up with the shortcut's",
                span,
                notes=[f"the cropping layer is at {step.span.where}"] if step.span else [],
                help='use padding: "same" inside the body so it keeps or divides the image size',
            )


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
    joined = join_layout(join.in_shape, join.body_shape, join.residual.join, join.span)
    join.stride, pad_shortcut, pad_body, join.out_shape = joined
    if join.residual.join == "pad":
        join.pad_shortcut, join.pad_body = pad_shortcut, pad_body


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
