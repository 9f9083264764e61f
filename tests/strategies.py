"""Hypothesis strategies: random small darchlang programs with shared choices,
derived values (arithmetic, list items picked by a choice, record fields), optional
branches and variable repeats."""

from hypothesis import strategies as st

SHARED = ["w0", "w1"]


@st.composite
def value(draw):
    kind = draw(st.sampled_from(["int", "choice", "shared", "derived", "cond", "index", "field"]))
    if kind == "int":
        return str(draw(st.integers(1, 4)))
    if kind == "choice":
        opts = draw(st.lists(st.integers(1, 4), min_size=1, max_size=3))
        return f"one_of({', '.join(map(str, opts))})"
    if kind == "shared":
        return draw(st.sampled_from(SHARED))
    if kind == "derived":
        return f"{draw(st.sampled_from(SHARED))} * {draw(st.integers(1, 3))}"
    if kind == "index":  # w0 and w1 take 1 to 3: every index is in range
        items = draw(st.lists(st.integers(1, 4), min_size=4, max_size=4))
        at = draw(st.sampled_from(["w0", "w1 - 1", "-w0", "1"]))
        return f"{items}[{at}]"
    if kind == "field":
        return f"{{ a: {draw(st.integers(1, 4))}, b: {draw(st.sampled_from(SHARED))} }}.b"
    return f"if {draw(st.sampled_from(SHARED))} == 1 then 2 else one_of(3, 4)"


@st.composite
def layer(draw, depth=0, allow_fn=True):
    kinds = ["conv", "relu"]
    if depth < 3:
        kinds += ["optional", "one_of", "repeat", "repeat_tied", "residual", "concat", "if",
                  "pick"]
        kinds += ["fn"] if allow_fn else []
    kind = draw(st.sampled_from(kinds))
    sub = layer(depth + 1, allow_fn)
    if kind == "conv":
        return f"conv2d(filters: {draw(value())}, size: {draw(value())})"
    if kind == "relu":
        return "relu()"
    if kind == "optional":
        return f"optional({draw(sub)})"
    if kind == "one_of":
        return f"one_of({draw(sub)}, {draw(sub)})"
    if kind in ("repeat", "repeat_tied"):
        times = draw(st.sampled_from(["one_of(0, 1, 2)", "2", "w0", "one_of(1, 3)"]))
        return f"{kind}({draw(sub)}, times: {times})"
    if kind == "residual":
        return f"residual({draw(sub)})"
    if kind == "concat":
        return f"concat [{', '.join(draw(st.lists(sub, min_size=0, max_size=3)))}]"
    if kind == "if":
        return f"if {draw(st.sampled_from(SHARED))} >= 2 then {draw(sub)} else {draw(sub)}"
    if kind == "pick":  # an item picked by a shared choice (w0 takes 1 to 3)
        return f"[{draw(sub)}, {draw(sub)}, {draw(sub)}][w0 - 1]"
    return "blk()"


@st.composite
def program(draw):
    w0 = draw(st.lists(st.integers(1, 3), min_size=1, max_size=3))
    w1 = draw(st.lists(st.integers(1, 3), min_size=1, max_size=2))
    body = draw(layer(1, allow_fn=False))
    items = draw(st.lists(layer(1), min_size=1, max_size=3))
    hyper = draw(st.booleans())
    text = (
        f"w0 = one_of({', '.join(map(str, w0))})\n"
        f"w1 = one_of({', '.join(map(str, w1))})\n"
        f"def blk() = {body}\n"
        f"space = concat [{', '.join(items)}]\n"
    )
    if hyper:
        text += "train = hyperparams { lr: one_of(0.1, 0.01), depth: w1, fixed: 3 }\n"
    return text
