"""Concrete architectures: what is left of a space once every active choice is made."""

from darchlang.arch.graph import Architecture, Init, Layer, Node, Repeat, Residual, Seq

__all__ = ["Architecture", "Init", "Layer", "Node", "Repeat", "Residual", "Seq"]
