"""A loaded program is freed by reference counting as soon as it is no longer used.

A reference cycle (a module's scope holding its functions, each function holding the
scope) would keep every loaded program alive until Python's cyclic collector runs, and
that collection's pass over it would land inside some later, unrelated piece of work.
"""

from __future__ import annotations

import gc
import weakref
from pathlib import Path

import pytest

import darchlang
from darchlang.errors import DarchError

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"

# prelude functions, imports (a namespace and named imports), graph cells, tied choices
PROGRAMS = ["cifar10_complex.darch", "imports.darch", "inception.darch",
            "nasbench201.darch", "shared_choices.darch", "resnet.darch"]


def _darchlang_garbage() -> list[str]:
    """The types, defined by darchlang, of objects that only the cyclic collector frees."""
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        gc.collect()
        found = sorted({type(o).__qualname__ for o in gc.garbage
                        if type(o).__module__.startswith("darchlang")})
    finally:
        gc.garbage.clear()
        gc.set_debug(0)
    return found


@pytest.mark.parametrize("name", PROGRAMS)
def test_a_dropped_program_leaves_no_cycles(name):
    gc.collect()
    program = darchlang.load_file(EXAMPLES / name)
    space = program.space
    space.count()
    space.sample(0)
    scope = weakref.ref(program.scope)
    was_on = gc.isenabled()
    gc.disable()
    try:
        del program, space
        assert scope() is None, "the program's scope outlived the program"
    finally:
        if was_on:
            gc.enable()
    assert _darchlang_garbage() == []


def test_functions_work_while_their_program_is_held():
    program = darchlang.load_string(
        "def twice(x) = concat [x, x]\n"
        "def block(f) = twice(conv2d(filters: f, size: 3))\n"
        "space = concat [block(one_of(8, 16)), optional(relu())]\n")
    gc.collect()
    assert program.space.count() == 4
    assert program.get("block").scope is program.scope


def test_a_function_whose_program_is_gone_says_so():
    block = darchlang.load_string("def block(f) = conv2d(filters: f, size: 3)\nspace = block(8)\n").get("block")
    gc.collect()
    with pytest.raises(DarchError, match="no longer loaded"):
        _ = block.scope
