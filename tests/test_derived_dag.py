"""A value threaded through a recursion reads the previous one more than once, so the
values of a space form a DAG. Every pass computes each part once per architecture
(sample, replay, the largest repeat count, the values a check tries, the shape proof)
and `show` writes each shared part once, so the cost grows with the depth, not with
two to its power; and memoised evaluation gives what evaluating the tree gives."""

import itertools
import operator
import signal
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import darchlang
from darchlang.backends.torch.shape_rules import torch_shape_rules
from darchlang.space.shapes import check_shapes
from darchlang.space.show import describe_value, render_tree

STEP = "def step(n, x) = if n == 0 then x else step(n - 1, x + (if x > 3 then 1 else 0))\n"


# Auto-DeepLab's path through its lattice: each step's level is a choice whose options
# depend on the level before.
LATTICE = ("def nxt(l) = if l == 0 then one_of(0, 1) else if l == 1 then one_of(0, 1, 2)"
           " else one_of(1, 2)\n"
           "def walk(n, l) = if n == 0 then l else walk(n - 1, nxt(l))\n"
           "space = conv2d(filters: 8 * (1 + walk(12, 0)), size: 3)")


def chain(n: int) -> str:
    """The reviewer's repro: each step reads the previous value twice."""
    return STEP + f"space = conv2d(filters: step({n}, one_of(1, 2, 8)), size: 3)\n"


def reference_step(n: int, x: int) -> int:
    for _ in range(n):
        x += 1 if x > 3 else 0
    return x


def _out_of_time(signum, frame):
    raise TimeoutError("over a second of CPU: exponential in the depth?")


def cpu(fn):
    """`fn()` and the CPU seconds it took; stopped after one second (an exponential
    pass at this depth would run for ages)."""
    before = signal.signal(signal.SIGPROF, _out_of_time)
    signal.setitimer(signal.ITIMER_PROF, 1.0)
    start = time.process_time()
    try:
        out = fn()
    finally:
        signal.setitimer(signal.ITIMER_PROF, 0)
        signal.signal(signal.SIGPROF, before)
    return out, time.process_time() - start


@pytest.mark.slow
def test_a_deep_chain_costs_linear_time_in_every_pass():
    (program, load) = cpu(lambda: darchlang.load_string(chain(60), "t.darch"))
    space = program.space
    rules = torch_shape_rules()
    passes = {
        "load and check": load,
        "count": cpu(space.count)[1],
        "sample": cpu(lambda: space.sample(0))[1],
        "show": cpu(lambda: render_tree(space))[1],
        "shapes, enumerated": cpu(lambda: check_shapes(space, (3, 8, 8), rules))[1],
        "shapes, proved": cpu(lambda: check_shapes(space, (3, 8, 8), rules, 0))[1],
    }
    slow = {k: round(v, 2) for k, v in passes.items() if v > 0.25}
    assert not slow, slow


def test_the_chain_computes_what_the_recursion_says():
    space = darchlang.load_string(chain(6), "t.darch").space
    got = sorted(a.network.attrs["filters"] for a in space.enumerate())
    assert got == sorted(reference_step(6, x) for x in (1, 2, 8)) == [1, 2, 14]


def test_show_writes_each_shared_part_once():
    space = darchlang.load_string(chain(2), "t.darch").space
    assert describe_value(space.network.params[0][1]) == (
        "let v1 = one_of(1, 2, 8)  v2 = (v1 + (if (v1 > 3) then 1 else 0)) "
        "in (v2 + (if (v2 > 3) then 1 else 0))")
    deep = render_tree(darchlang.load_string(chain(60), "t.darch").space)
    assert len(deep) < 60 * 80  # a binding per step; as a tree it had 2^60 parts


def test_the_text_show_writes_is_the_same_value():
    """The `let` that `show` writes, read back as darchlang, makes the same space."""
    space = darchlang.load_string(chain(4), "t.darch").space
    text = describe_value(space.network.params[0][1])
    again = darchlang.load_string(f"space = conv2d(filters: {text}, size: 3)", "u.darch").space
    assert again.count() == space.count() == 3
    assert ([a.network.attrs["filters"] for a in again.enumerate()]
            == [a.network.attrs["filters"] for a in space.enumerate()])


def test_a_deep_repeat_count_and_a_lattice_path_are_quick():
    """The largest repeat count (checked when the space is built) and a choice of
    choices per step (Auto-DeepLab's path through its lattice) read a DAG too."""
    tied = ("def step(n, x) = if n == 0 then x else step(n - 1, (x + x) % 7 + 1)\n"
            "space = repeat_tied(conv2d(filters: 4, size: 3), times: step(60, one_of(1, 2, 8)))")
    arch, seconds = cpu(lambda: darchlang.load_string(tied, "t.darch").space.sample(0))
    assert seconds < 0.25 and arch.network.times in range(1, 8)
    space = darchlang.load_string(LATTICE, "l.darch").space
    archs, seconds = cpu(lambda: [space.sample(seed) for seed in range(20)])
    assert seconds < 0.25
    assert {a.network.attrs["filters"] for a in archs} <= {8, 16, 24}


@pytest.mark.slow
def test_show_draws_a_space_too_entangled_to_count():
    """A lattice path of 100 steps: each of its 298 choices is read by the next step's
    condition, and the count is out of reach (12 steps now count), the tree is not."""
    long_path = LATTICE.replace("walk(12, 0)", "walk(100, 0)")
    lines = render_tree(darchlang.load_string(long_path, "l.darch").space).splitlines()
    assert lines[0] == "too entangled to count exactly (`darch count` says why), 298 choices"
    assert lines[-1].endswith("too entangled to count on its own")
    assert "filters = let v1 = one_of(0, 1)  v2 = if (v1 == 0) then" in lines[2]


# ---- memoised evaluation against the tree, on random small DAGs ----------------------

OPS = {"+": operator.add, "-": operator.sub, "*": operator.mul}


@st.composite
def dags(draw):
    """Bindings `a0`, `a1` (choices) then `dK` made from earlier ones by an operator, a
    `max` or an `if`; later bindings may read an earlier one any number of times."""
    options = [draw(st.lists(st.integers(-5, 9), min_size=1, max_size=3, unique=True))
               for _ in range(2)]
    names = ["a0", "a1"]
    parts = []
    for k in range(draw(st.integers(1, 7))):
        kind = draw(st.sampled_from(["op", "max", "if"]))
        args = [draw(st.sampled_from(names)) for _ in range(3 if kind == "if" else 2)]
        op = draw(st.sampled_from(sorted(OPS)))
        parts.append((f"d{k}", kind, op, args))
        names.append(f"d{k}")
    return options, parts


def _source(options, parts) -> str:
    lines = [f"a{i} = one_of({', '.join(map(str, o))})" for i, o in enumerate(options)]
    for name, kind, op, args in parts:
        if kind == "op":
            lines.append(f"{name} = ({args[0]} {op} {args[1]}) % 97")
        elif kind == "max":
            lines.append(f"{name} = max({args[0]}, {args[1]})")
        else:
            lines.append(f"{name} = if {args[0]} < {args[1]} then {args[2]} else {args[1]}")
    return "\n".join(lines) + f"\nspace = conv2d(filters: 1 + {parts[-1][0]} % 16, size: 3)\n"


def _naive(name, env, parts):
    """A binding's value by evaluating its whole tree, every read afresh."""
    if name in env:
        return env[name]
    _, kind, op, args = next(p for p in parts if p[0] == name)
    vals = [_naive(a, env, parts) for a in args]
    if kind == "op":
        return OPS[op](vals[0], vals[1]) % 97
    if kind == "max":
        return max(vals[0], vals[1])
    return vals[2] if vals[0] < vals[1] else vals[1]


@pytest.mark.slow
@settings(max_examples=60, deadline=None)
@given(dags())
def test_memoised_walk_equals_the_tree(dag):
    options, parts = dag
    space = darchlang.load_string(_source(options, parts), "t.darch").space
    used = {c.name for c in space.choices}
    for i, j in itertools.product(range(len(options[0])), range(len(options[1]))):
        env = {"a0": options[0][i], "a1": options[1][j]}
        picked = {k: v for k, v in (("a0", i), ("a1", j)) if k in used}
        arch = space.replay_names(picked)
        assert arch.network.attrs["filters"] == 1 + _naive(parts[-1][0], env, parts) % 16


@pytest.mark.slow
def test_show_names_a_part_once_for_the_whole_tree():
    """A width threaded through every stage (RegNet's, each from the one before by
    `make_divisible`, which reads its value twice) is written once: each stage's line
    names the earlier ones, so no line grows with the stage it is at."""
    text = ("m = one_of(1.25, 1.5)\n"
            "def stages(n, w) = if n == 0 then global_avg_pool()\n"
            "    else concat [conv2d(filters: w, size: 3),"
            " stages(n - 1, min(make_divisible(w * m, 8), 256))]\n"
            "space = stages(40, 16)")
    tree = render_tree(darchlang.load_string(text, "r.darch").space)
    widths = [line.split("filters = ", 1)[1] for line in tree.splitlines() if "filters = " in line]
    assert len(widths) == 39 and max(map(len, widths)) < 200
    assert widths[0] == "min(make_divisible(16 * m, 8), 256)"  # the prelude's, as a call
    assert widths[2] == ("let v2 = min(make_divisible(v1 * m, 8), 256) "
                         "in min(make_divisible(v2 * m, 8), 256)")


def test_show_writes_a_library_functions_call_not_its_body():
    """A width from the prelude's `make_divisible` reads as the call (the user's own
    functions are written out, as their text is the program's); read back, the text
    makes the same values."""
    space = darchlang.load_string(
        "width = one_of(0.5, 0.75, 1.0)\n"
        "space = conv2d(filters: make_divisible(16 * width, 8), size: 3)\n", "t.darch").space
    text = describe_value(space.network.params[0][1])
    assert text == "make_divisible(16 * width, 8)"
    again = darchlang.load_string(f"width = one_of(0.5, 0.75, 1.0)\n"
                                  f"space = conv2d(filters: {text}, size: 3)", "u.darch").space
    assert ([a.network.attrs["filters"] for a in again.enumerate()]
            == [a.network.attrs["filters"] for a in space.enumerate()] == [8, 16, 16])
    assert "make_divisible(16 * width, 8)" in render_tree(space)
