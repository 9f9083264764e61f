"""Naming is pure: a space names its choices without touching the shared nodes."""

import darchlang

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
