"""Naming is pure: a space names its choices without touching the shared nodes."""

import pytest

import darchlang
from darchlang.errors import DarchError, all_errors

PROGRAM = """
block = concat [conv2d(filters: one_of(8, 16), size: one_of(1, 3)), relu()]
space = concat [block, affine(units: one_of(10, 20))]
other = concat [relu(), block]
"""


def _state(node):
    """Every attribute of every node reachable from `node`, to compare before and after."""
    seen, out, stack = set(), [], [node]
    while stack:
        n = stack.pop()
        if id(n) in seen or not hasattr(n, "vars"):
            continue
        seen.add(id(n))
        out.append((type(n).__name__, tuple(repr(getattr(n, s, None))
                                              for c in type(n).__mro__
                                              for s in getattr(c, "__slots__", ()))))
        for v in (getattr(n, s, None) for c in type(n).__mro__ for s in getattr(c, "__slots__", ())):
            if isinstance(v, tuple):
                stack.extend(x for x in v if hasattr(x, "vars"))
                stack.extend(y for x in v if isinstance(x, tuple) for y in x if hasattr(y, "vars"))
            elif hasattr(v, "vars"):
                stack.append(v)
    return out


def test_two_spaces_of_one_program_keep_their_own_names():
    program = darchlang.load_string(PROGRAM)
    root = program.scope.names["other"]
    before = _state(root)
    one = program.space_of("space")
    two = program.space_of("other")
    assert _state(root) == before  # naming mutated nothing
    assert [c.name for c in one.choices] == ["space/0/0/conv2d/filters", "space/0/0/conv2d/size",
                                            "space/1/affine/units"]
    assert [c.name for c in two.choices] == ["other/1/0/conv2d/filters", "other/1/0/conv2d/size"]
    # sampling alternately gives each space its own names and layer paths, every time
    for seed in range(3):
        a, b = one.sample(seed), two.sample(seed)
        assert a.names == [c.name for c in one.choices]
        assert b.names == [c.name for c in two.choices]
        assert a.network.items[0].items[0].path == "space/0/0/conv2d"
        assert b.network.items[1].items[0].path == "other/1/0/conv2d"


# -- names from top-level bindings (review finding 18) -----------------------------------

def _names(source):
    return [c.name for c in darchlang.load_string(source, "t.darch").space.choices]


# genes packed into one number, used by a graph through a pick, as stdlib/darts.darch does
GENES = """
def gene(n) = 100 * one_of(range(n)) + 10 * one_of(range(3)) + one_of(range(3))
n0 = gene(2)
n1 = gene(3)
def op(k) = if k == 0 then relu() else if k == 1 then tanh() else identity()
def pick(i, s0, s1, a) = if i == 0 then s0 else if i == 1 then s1 else a
def mix(g, s0, s1, a) = add(op(g // 10 % 10)(pick(g // 100, s0, s1, a)), op(g % 10)(s1))
space = graph(x) {
    s = relu()(x)
    a = mix(FIRST, x, s, s)
    b = mix(SECOND, x, s, a)
    return cat(a, b)
}
"""


def test_a_derived_binding_names_its_choices_in_written_order_whatever_uses_them_first():
    one = _names(GENES.replace("FIRST", "n0").replace("SECOND", "n1"))
    assert sorted(one) == ["n0/0", "n0/1", "n0/2", "n1/0", "n1/1", "n1/2"]
    # the uses swapped: every choice keeps its name (a path through the first use moved)
    two = _names(GENES.replace("FIRST", "n1").replace("SECOND", "n0"))
    assert sorted(two) == sorted(one) and two != one


def test_records_lists_and_names_given_before():
    names = _names("""
w = one_of(8, 16)
r = { in1: one_of(0, 1), op: 2 * w + one_of(1, 3), more: [one_of(1, 2), 3 * one_of(4, 5)] }
d = w + one_of(0, 8, name: "extra") + one_of(1, 2)
block = concat [conv2d(filters: one_of(4, 8), size: 1)]
space = concat [block, conv2d(filters: w + r.in1 + d, size: r.op + r.more[0] + r.more[1])]
""")
    # w keeps `w` inside r.op and d, `extra` its `name:`; r.op and d number only their own
    assert sorted(names) == ["d/0", "extra", "r/in1", "r/more/0", "r/more/1/0", "r/op/0",
                             "space/0/0/conv2d/filters", "w"]


def test_stdlib_genes_are_named_after_their_bindings():
    enas = [c.name for c in darchlang.load_file("stdlib/enas_micro.darch").space.choices]
    assert sorted(enas[:4]) == ["n0/in1", "n0/in2", "n0/op1", "n0/op2"]
    assert len(set(enas)) == len(enas) == 40 and all("graph" not in n for n in enas)
    assert {n.split("/")[0] for n in enas} == {f"{k}{i}" for k in "nr" for i in range(5)}


@pytest.mark.slow
def test_packed_genes_are_numbered_in_written_order():
    nasnet = [c.name for c in darchlang.load_file("stdlib/nasnet.darch").space.choices]
    assert nasnet[:5] == ["n0/0", "n0/1", "n0/2", "n0/3", "n0/4"]
    assert len(set(nasnet)) == len(nasnet) == 50
    assert {n.split("/")[0] for n in nasnet} == {f"{k}{i}" for k in "nr" for i in range(5)}


def test_decisions_replay_by_the_binding_names_from_the_cli(tmp_path):
    import json
    import subprocess
    import sys

    path = tmp_path / "genes.darch"
    path.write_text("g = 10 * one_of(0, 1) + one_of(range(3))\n"
                    "space = conv2d(filters: 8 + g, size: 3)\n")
    out = subprocess.run([sys.executable, "-m", "darchlang.cli", "sample", "--json",
                          "--decisions", "1,2", str(path)], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    arch = json.loads(out.stdout)
    assert [c["name"] for c in arch["choices"]] == ["g/0", "g/1"]
    assert "filters: 20" in arch["text"]


# -- two choices of one name: the note points at the other one --------------------------

def _error(source):
    with pytest.raises(DarchError) as info:
        _ = darchlang.load_string(source, "t.darch").space
    return info.value


def test_one_spot_two_calls_names_the_two_calls():
    err = _error('def cell(c) = conv2d(filters: c, size: one_of(1, 3, name: "k"))\n'
                 "space = concat [cell(8), cell(16)]\n")
    assert err.span.where == "t.darch:1:40"
    assert [(r.span.where, r.message) for r in err.related] == [
        ("t.darch:2:17", "the other one is made by this call of `cell`"),
        ("t.darch:2:26", "this one by this call of `cell`")]
    assert "tied(cell)" in err.help


def test_calls_that_part_deeper_name_where_they_part():
    err = _error('def inner(c) = conv2d(filters: c, size: one_of(1, 3, name: "k"))\n'
                 "def outer(c) = concat [inner(c), inner(2 * c)]\n"
                 "space = outer(8)\n")
    assert [r.span.where for r in err.related] == ["t.darch:2:24", "t.darch:2:34"]


def test_two_spots_point_at_the_other_spot_and_every_duplicate_is_reported():
    err = _error('space = concat [conv2d(filters: one_of(8, 16, name: "w"), size: 3),\n'
                 '    conv2d(filters: one_of(8, 32, name: "w"), size: one_of(1, 3, name: "k")),\n'
                 '    conv2d(filters: 4, size: one_of(1, 5, name: "k"))]\n')
    errors = all_errors(err)
    assert [(e.message, e.span.where, [r.span.where for r in e.related]) for e in errors] == [
        ("two different choices are named `w`", "t.darch:2:21", ["t.darch:1:33"]),
        ("two different choices are named `k`", "t.darch:3:30", ["t.darch:2:53"])]
    assert "the other one is written here" in err.render()


def test_copies_of_a_repeat_name_their_paths():
    err = _error('space = repeat(conv2d(filters: one_of(8, 16, name: "w"), size: 3), times: 2)\n')
    assert err.related == []
    assert err.notes == ["both are made here: the other one is `space/repeat/0/conv2d/filters`, "
                         "this one `space/repeat/1/conv2d/filters`"]
    assert "repeat_tied" in err.help

