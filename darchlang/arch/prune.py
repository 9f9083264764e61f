"""Dead steps of a graph block: the ones whose value reaches its output only through `zero()`.

`zero()(v)` is a tensor of zeros shaped like `v`: it does not depend on `v`'s values,
only on its shape. So an `add` drops its zero inputs (`add(a, zero()(b))` is `a`, as a
missing DARTS or NAS-Bench-201 edge), and a step whose value then reaches the block's
output by no path is dead: not built, not counted in parameters or multiply-adds, not
run, not exported. This is the backend's dead-code elimination; the architecture
itself (its decisions, its text, its identity) is unchanged, so counts and replay are
as before.

A nested block that never reads one of its inputs (a cell that ignores its older
input) does not keep the step that makes it alive either: that step's shape is
checked, its layers are not built.

Where a zero's shape is still needed (it is returned, joined with `cat`, applied to a
layer, or every input of an `add` is zero) it stays, with what it was computed from;
an `add` of zeros only keeps the one computed closest to the block's inputs, so a cell
whose every edge into its output is `none` keeps none of its other steps.
"""

from __future__ import annotations

from dataclasses import dataclass

from darchlang.arch.graph import Graph, Layer, Node, Repeat, Seq


def gives_zeros(op: Node | None) -> bool:
    """Whether an applied op's output is all zeros whatever its input holds: `zero()`,
    or a chain (or a repeat) that ends in one."""
    t = type(op)
    if t is Layer:
        return op.kind == "zero"  # type: ignore[union-attr]
    if t is Seq:
        return bool(op.items) and gives_zeros(op.items[-1])  # type: ignore[union-attr]
    if t is Repeat:
        return op.times > 0 and gives_zeros(op.body)  # type: ignore[union-attr]
    return False


@dataclass(frozen=True)
class Liveness:
    """What of a graph block an architecture runs: the value indices that reach the
    output (`live`), and for each step the inputs it reads (`inputs`; an add without
    its zero inputs)."""

    live: frozenset[int]
    inputs: tuple[tuple[int, ...], ...]


def read_inputs(graph: Graph) -> frozenset[int]:
    """The positions of the block's inputs that its output depends on."""
    keep = liveness(graph)
    n = len(graph.inputs)
    if keep is None:
        reads = {i for step in graph.steps for i in step.inputs if i < n}
        return frozenset(reads | ({graph.output} if graph.output < n else set()))
    return frozenset(i for i in keep.live if i < n)


def liveness(graph: Graph) -> Liveness | None:
    """The block's live values and the inputs its steps keep; None when every step is
    live and reads all its inputs (nothing to leave out)."""
    n = len(graph.inputs)
    # For each value: None when it may be nonzero, else the value index it was made
    # from (a zero's input; an add of zeros, the input its kept zero came from).
    origin: list[int | None] = [None] * n
    inputs: list[tuple[int, ...]] = []
    for step in graph.steps:
        ins = step.inputs
        made_from: int | None = None
        if step.kind == "apply" and gives_zeros(step.op) and ins:
            made_from = min(ins)
        elif step.kind == "apply" and type(step.op) is Graph:
            reads = read_inputs(step.op)  # type: ignore[arg-type]
            ins = tuple(i for p, i in enumerate(ins) if p in reads)
        elif step.kind == "add" and ins:
            nonzero = tuple(i for i in ins if origin[i] is None)
            if nonzero:
                ins = nonzero
            else:
                kept = min(ins, key=lambda i: origin[i])  # type: ignore[arg-type,return-value]
                ins, made_from = (kept,), origin[kept]
        origin.append(made_from)
        inputs.append(ins)
    live = {graph.output}
    for k in range(len(graph.steps) - 1, -1, -1):
        if k + n in live:
            live.update(inputs[k])
    if all(k + n in live and inputs[k] == st.inputs for k, st in enumerate(graph.steps)):
        return None
    return Liveness(frozenset(live), tuple(inputs))
