"""Space nodes: the kinds that give `parts()` without building `children()` give the
same nodes in the same order, for every node of the shipped spaces."""

from pathlib import Path

import pytest

import darchlang
from darchlang.space.nodes import SNode

ROOT = Path(__file__).resolve().parent.parent
SPACES = sorted(ROOT.glob("examples/*.darch")) + sorted(ROOT.glob("stdlib/*.darch"))


def nodes(roots):
    seen, stack = set(), list(roots)
    while stack:
        node = stack.pop()
        if id(node) not in seen:
            seen.add(id(node))
            yield node
            stack.extend(c for _, c in node.children())


def kinds_checked(program) -> set[str]:
    kinds = set()
    for node in nodes(v for v in program.names.values() if isinstance(v, SNode)):
        assert node.parts() == tuple(c for _, c in node.children()), type(node).__name__
        kinds.add(type(node).__name__)
    return kinds


@pytest.mark.slow
@pytest.mark.parametrize("path", SPACES, ids=lambda p: p.name)
def test_parts_are_the_children_without_labels(path):
    kinds = kinds_checked(darchlang.load_file(path))
    if path.name == "cifar10_complex.darch":
        assert {"Choice", "SeqNode", "LayerNode"} <= kinds


def test_parts_of_lists_and_values_over_choices():
    program = darchlang.load_string("w = one_of(16, 32)\nxs = one_of([w, 3], [1, 2])\ny = 2 * w\n"
                                    "z = if w > 16 then 1 else 2\nspace = concat [relu()]\n")
    assert {"ListNode", "Derived", "Cond", "Choice"} <= kinds_checked(program)
