"""Passes over a space as visitors: one method per node kind they treat specially.

`Visitor.visit(node)` calls the method named after the node's class, `visit_Choice`
for a `Choice`, looking along the class's bases (`visit_SNode` catches every space
node), else `generic_visit`. Nodes declare their children (`SNode.children`), so a
default case can walk into a kind it knows nothing about: a new node kind touches the
node and the passes that care, not every pass.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar


class Visitor:
    """Dispatch on the node's class; the method found is cached per class."""

    __slots__ = ()

    _table: ClassVar[dict[type, Callable[..., Any]]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls._table = {}

    def visit(self, node: Any, *args: Any) -> Any:
        fn = self._table.get(type(node))
        if fn is None:
            fn = self._method(type(node))
        return fn(self, node, *args)

    @classmethod
    def _method(cls, kind: type) -> Callable[..., Any]:
        for k in kind.__mro__:
            fn = getattr(cls, f"visit_{k.__name__}", None)
            if fn is not None:
                break
        else:
            fn = cls.generic_visit
        cls._table[kind] = fn
        return fn

    def generic_visit(self, node: Any, *args: Any) -> Any:
        raise TypeError(f"{type(self).__name__} has no case for {type(node).__name__}")
