"""Concrete architectures: what is left of a space once every active choice is made."""

from darchlang.arch.graph import (
    Architecture,
    Graph,
    GraphStep,
    Init,
    Layer,
    Node,
    Ref,
    Repeat,
    Residual,
    Seq,
)

__all__ = [
    "Architecture", "Graph", "GraphStep", "Init", "Layer", "Node", "Ref", "Repeat", "Residual", "Seq",
]
