"""`check --shapes` is exact under shared choices: it conditions on them, as counting
does, so it proves the space or names a concrete failing architecture (issue 16.4)."""

import subprocess
import sys

import pytest

import darchlang
import darchlang.space.shapes as shapes
from darchlang.backends.torch.plan import plan_network
from darchlang.backends.torch.shape_rules import torch_shape_rules
from darchlang.errors import DarchError
from darchlang.space.shapes import check_shapes

# two branches of one shared width always agree, so `add` always works; treated as
# independent choices they would not
SHARED_ADD = """
w = one_of(8, 16, 24)
def branch(size) = conv2d(filters: w, size: size)
space = concat [graph(x) {
    a = branch(3)(x)
    b = branch(one_of(1, 3))(x)
    return add(a, b)
}, relu()]
"""

# the same, but the second branch has its own width: 8 + 16 is a real failure
UNSHARED_ADD = SHARED_ADD.replace("b = branch(one_of(1, 3))(x)",
                                  "b = conv2d(filters: one_of(8, 16, 24), size: 1)(x)")

# NATS-Bench's skip edge: identity when the widths match, else a 1x1 projection; the
# widths are chosen in other stages, and every stage shares its width with the next
STAGES = """
def width() = one_of(8, 16, 24, 32)
def skip(cin, c) = if cin == c then identity() else conv2d(filters: c, size: 1)
def stage(cin, c) = graph(x) {
    y = add(skip(cin, c)(x), conv2d(filters: c, size: 3)(x))
    return y
}
def net(c1, c2, c3, c4) = concat [
    conv2d(filters: c1, size: 3), stage(c1, c2), stage(c2, c3), stage(c3, c4), relu(),
]
space = net(width(), width(), width(), width())
"""

# a tied repeat shares its body's choice between copies: every copy has one width
TIED = """
def block() = graph(x) {
    y = add(x, conv2d(filters: one_of(8, 16), size: 3)(x))
    return y
}
space = concat [conv2d(filters: one_of(8, 16, name: "stem"), size: 1),
                repeat_tied(block(), times: one_of(1, 2, 3))]
"""


def analyse(text):
    space = darchlang.load_string(text, "exact.darch").space
    return space, check_shapes(space, (3, 8, 8), torch_shape_rules(), enumerate_up_to=0)


def every_architecture_plans(space):
    bad = []
    for arch in space.enumerate():
        try:
            plan_network(arch, (3, 8, 8))
        except DarchError:
            bad.append(arch)
    return bad


@pytest.mark.parametrize("text", [SHARED_ADD, STAGES])
def test_shared_choices_that_rule_out_the_bad_combinations_are_proved(text):
    space, report = analyse(text)
    assert report.ok and report.method == "analysed", report.failure
    assert not every_architecture_plans(space)  # the proof is right: enumeration agrees


def test_a_real_failure_among_shared_choices_is_a_concrete_architecture():
    space, report = analyse(UNSHARED_ADD)
    assert not report.ok and not report.spurious
    assert "`add`" in report.failure.message
    with pytest.raises(DarchError):
        plan_network(space.replay(report.architecture.decisions), (3, 8, 8))


def test_a_tied_body_with_a_failing_width_names_the_copy_count_and_width():
    space, report = analyse(TIED)
    # stem 8 and block 16 (or the other way round) cannot be added
    assert not report.ok and not report.spurious
    arch = report.architecture
    assert arch is not None
    with pytest.raises(DarchError):
        plan_network(space.replay(arch.decisions), (3, 8, 8))
    fixed = TIED.replace('one_of(8, 16, name: "stem")', "16")
    fixed = fixed.replace("filters: one_of(8, 16), size: 3", "filters: 16, size: 3")
    assert analyse(fixed)[1].ok


def test_stages_with_a_real_mismatch_are_caught():
    # the second stage ignores its input's width when it projects: 8 -> 16 added to 8
    text = STAGES.replace("stage(c1, c2), stage(c2, c3)", "stage(c1, c2), stage(c1, c3)")
    space, report = analyse(text)
    assert not report.ok and not report.spurious
    assert len(every_architecture_plans(space)) > 0
    with pytest.raises(DarchError):
        plan_network(space.replay(report.architecture.decisions), (3, 8, 8))


def test_cli_proves_the_shared_space_in_one_pass(tmp_path):
    # each state knows the option of each width that made it, and the skip's `if` is a
    # table over the two widths: the identity meets only the states of its own width
    path = tmp_path / "stages.darch"
    path.write_text(STAGES)
    out = subprocess.run([sys.executable, "-m", "darchlang.cli", "check", "--shapes", "--input",
                          "3x8x8", "--enumerate-up-to", "0", str(path)],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("all 256 architectures compile for input 3x8x8: proved")
    assert "rounds" not in out.stdout


@pytest.fixture
def one_way_per_value(monkeypatch):
    """No value tables: each value keeps one way, whose options are what all its ways
    agree on, so a shared choice is conditioned on where a value loses it."""
    monkeypatch.setattr(shapes, "TABLE_LIMIT", 0)


def test_without_tables_the_shared_choices_are_conditioned_on(one_way_per_value):
    space, report = analyse(STAGES)
    assert report.ok and report.analyses > 1, report.failure
    assert "rounds conditioning on shared choices" in report.summary("3x8x8")
    assert not every_architecture_plans(space)


def test_without_tables_a_real_mismatch_is_planned_from_what_its_states_must_take(
        one_way_per_value):
    # the failure's witness mixes two ways to one width, but every way to each state
    # takes one option of each width: that architecture is planned, and fails
    text = STAGES.replace("stage(c1, c2), stage(c2, c3)", "stage(c1, c2), stage(c1, c3)")
    space, report = analyse(text)
    assert not report.ok and not report.spurious and report.analyses == 1, report.failure
    with pytest.raises(DarchError, match="add"):
        plan_network(space.replay(report.architecture.decisions), (3, 8, 8))


# ---- property: the analysis agrees with planning every architecture ----------------
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

WIDTHS = ["w0", "w1", "4", "8", "one_of(4, 8)", "2 * w2"]


@st.composite
def _block(draw):
    kind = draw(st.sampled_from(["conv", "add", "if", "repeat", "residual"]))
    width = draw(st.sampled_from(WIDTHS))
    if kind == "residual":
        return draw(_residual())
    if kind == "conv":
        size = draw(st.sampled_from(["1", "3", "one_of(1, 5)", "w2 + 1"]))
        pad = draw(st.sampled_from(['"same"', '"valid"', 'one_of("same", "valid")']))
        return f"conv2d(filters: {width}, size: {size}, padding: {pad})"
    if kind == "add":
        other = draw(st.sampled_from(WIDTHS))
        return (f"graph(x) {{ a = conv2d(filters: {width}, size: 1)(x) "
                f"b = conv2d(filters: {other}, size: 1)(x) return add(a, b) }}")
    if kind == "if":
        return f"if w0 == 4 then conv2d(filters: {width}, size: 1) else relu()"
    return f"repeat_tied(conv2d(filters: {width}, size: 3, padding: \"valid\"), times: one_of(0, 1, w2))"


@st.composite
def _residual(draw):
    """A residual whose body keeps the size, strides, crops (a "valid" 3x3), or both,
    depending on shared and local choices; directly, nested, or in a graph block."""
    width = draw(st.sampled_from(WIDTHS))
    size = draw(st.sampled_from(["1", "3", "one_of(1, 3)", "w2 + 1", "if w0 == 4 then 3 else 1"]))
    pad = draw(st.sampled_from(['"same"', '"valid"', 'one_of("same", "valid")',
                                'if w2 == 1 then "valid" else "same"']))
    stride = draw(st.sampled_from(["1", "2", "w2", "one_of(1, 2)"]))
    conv = f"conv2d(filters: {width}, size: {size}, padding: {pad}, stride: {stride})"
    body = draw(st.sampled_from([conv, f"concat [relu(), {conv}]", f"residual({conv})",
                                 f"concat [residual({conv}), max_pool2d(size: 1, stride: w2)]",
                                 f"graph(x) {{ a = {conv}(x) return a }}",
                                 f"graph(x) {{ a = {conv}(x) b = max_pool2d(size: 3, "
                                 f"stride: 2, padding: \"same\")(x) return one_of(a, b) }}",
                                 f"repeat_tied({conv}, times: one_of(1, w2))"]))
    return f"residual({body})"


PROLOGUE = "w0 = one_of(4, 8)\nw1 = one_of(4, 8)\nw2 = one_of(1, 2)\n"


@st.composite
def _program(draw):
    blocks = draw(st.lists(_block(), min_size=1, max_size=4))
    return PROLOGUE + f"space = concat [{', '.join(blocks)}]\n"


@st.composite
def _residual_program(draw):
    blocks = draw(st.lists(_residual(), min_size=1, max_size=3))
    return PROLOGUE + f"space = concat [{', '.join(blocks)}]\n"


@pytest.mark.slow
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_program())
def test_the_analysis_agrees_with_planning_every_architecture(text):
    agrees_with_planning(text)


@pytest.mark.slow
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_residual_program())
def test_residuals_that_crop_fail_in_the_analysis_as_in_the_planner(text):
    agrees_with_planning(text)


def agrees_with_planning(text, shape=(3, 6, 6), decides=True):
    """The proof's verdict is planning's over every architecture: a proof only where all
    plan, a failure only with an architecture that does not; `decides`: it has one."""
    space = darchlang.load_string(text, "random.darch").space
    report = check_shapes(space, shape, torch_shape_rules(), enumerate_up_to=0)
    bad = []
    for arch in space.enumerate():
        try:
            plan_network(arch, shape)
        except DarchError:
            bad.append(arch)
    assert not (decides and report.spurious), (text, report.failure)
    if report.spurious:
        return
    assert report.ok == (not bad), (text, report.failure)
    if bad:
        with pytest.raises(DarchError):
            plan_network(space.replay(report.architecture.decisions), shape)


@pytest.mark.slow
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_program())
def test_with_one_way_per_value_the_analysis_is_still_sound(text):
    saved, shapes.TABLE_LIMIT = shapes.TABLE_LIMIT, 0  # hypothesis runs outside fixtures
    try:
        agrees_with_planning(text, decides=False)
    finally:
        shapes.TABLE_LIMIT = saved


# ---- NASNet's cells in small: states and widths picked by packed genes ---------------
# A block reads one of the states before it by an index packed with how it combines
# into one gene, its operation fixes the width with the width the gene implies (right,
# wrongly, or not at all), and the cells share the genes. Each variant is planned in
# full: the proof must say what planning says.
CELL = """
g0 = one_of(0, 1) + 2 * one_of(0, 1)
g1 = one_of(0, 1) + 2 * one_of(0, 1, 2)
def width(g) = if g % 2 == 1 then 8 else 4
def pick(i, s, a) = if i == 0 then s else if i == 1 then s else a
def fix(w) = {fix}
def mix(g, s, a, wa) = let
    i = g // 2
    x = fix(if i == 2 then wa else 4)(pick(i, s, a))
    y = conv2d(filters: 4, size: 1)(s)
in if g % 2 == 1 then cat(x, y) else {join}(x, y)
def cell() = graph(p) {{
    s = conv2d(filters: 4, size: 1)(p)
    a = mix(g0, s, s, 4)
    b = mix(g1, s, a, width(g0))
    return {out}
}}
space = concat [cell(), {between}cell(), relu()]
"""
FIXES = ["if w == 4 then identity() else conv2d(filters: 4, size: 1)",  # right
         "if w == 8 then identity() else conv2d(filters: 4, size: 1)",  # wrong
         "identity()", "conv2d(filters: 4, size: 1)"]
OUTS = ["conv2d(filters: 4, size: 1)(b)", "b", "add(b, s)", "cat(a, b)"]


@pytest.mark.slow
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(FIXES), st.sampled_from(["add", "cat"]), st.sampled_from(OUTS),
       st.sampled_from(["", "max_pool2d(size: 2, stride: 2), "]))
def test_cells_that_pick_states_by_packed_genes_agree_with_planning(fix, join, out, between):
    agrees_with_planning(CELL.format(fix=fix, join=join, out=out, between=between), (3, 4, 4))


def test_a_cell_whose_width_fix_is_wrong_fails_at_the_add_with_its_genes():
    text = CELL.format(fix=FIXES[1], join="add", out=OUTS[0], between="")
    space, report = analyse(text)
    assert not report.ok and not report.spurious, report.failure
    assert "`add`" in report.failure.message and report.failure.span.line == 11
    with pytest.raises(DarchError, match="add"):
        plan_network(space.replay(report.architecture.decisions), (3, 8, 8))


def test_a_cell_whose_width_fix_is_right_is_proved_in_one_pass():
    space, report = analyse(CELL.format(fix=FIXES[0], join="add", out=OUTS[0], between=""))
    assert report.ok and report.analyses == 1, report.failure
    assert not every_architecture_plans(space)


# ---- a residual body that crops (issue 16.4): refused by the analysis as by the planner --
STEM = "repeat(conv2d(filters: one_of(8, 16, 24, 32), size: 1), times: 4)"
CROPPING = {  # each crops 4x4 to 2x2 in some architecture, which looks like stride 2
    "plain": 'residual(conv2d(filters: one_of(8, 16), size: 3, padding: "valid"))',
    "shared": 'residual(conv2d(filters: 8, size: k, padding: p))',
    "nested": 'residual(concat [residual(conv2d(filters: 8, size: k, padding: "valid")), '
              'max_pool2d(size: 1, stride: 1)])',
    "graph": 'residual(graph(x) { a = conv2d(filters: 8, size: 3, padding: "valid")(x) '
             'b = conv2d(filters: 8, size: 3, stride: 2)(x) return add(one_of(a, b), b) })',
    "tied": 'repeat_tied(residual(concat [relu(), conv2d(filters: 8, size: k, padding: '
            '"valid")]), times: one_of(1, 2))',
}


@pytest.mark.parametrize("kind", sorted(CROPPING))
def test_a_residual_body_that_crops_is_a_concrete_failure(kind):
    text = (f'k = one_of(1, 3)\np = one_of("same", "valid")\n'
            f"space = concat [{STEM}, {CROPPING[kind]}, affine(units: 4)]\n")
    space = darchlang.load_string(text, "crop.darch").space
    report = check_shapes(space, (3, 4, 4), torch_shape_rules(), enumerate_up_to=0)
    assert not report.ok and not report.spurious, report.failure
    assert "crops" in report.failure.message and report.failure.span is not None
    with pytest.raises(DarchError, match="crops"):
        plan_network(space.replay(report.architecture.decisions), (3, 4, 4))


CROP_RULED_OUT = (f'p = one_of("same", "valid")\nspace = concat [{STEM}, residual(conv2d('
                  'filters: 8, size: if p == "valid" then 1 else 3, padding: p, stride: 2)), '
                  'affine(units: 4)]\n')


def test_a_crop_that_shared_choices_rule_out_is_proved():
    # "valid" goes with size 1 (no crop) through the shared `p`; apart, they would crop
    space, report = analyse(CROP_RULED_OUT)
    assert report.ok and report.analyses == 1, report.failure
    assert not every_architecture_plans(space)



def test_cli_says_where_a_cropping_residual_is_and_how_to_fix_it(tmp_path):
    path = tmp_path / "crop.darch"
    path.write_text(f"space = concat [\n    {STEM},\n    {CROPPING['plain']},\n]\n")
    out = subprocess.run([sys.executable, "-m", "darchlang.cli", "check", "--shapes", "--input",
                          "3x4x4", "--enumerate-up-to", "0", str(path)],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 1 and "Traceback" not in out.stderr
    lines = out.stderr.splitlines()
    assert lines[0].startswith(f"{path}:3:5: error: cannot join a residual: `conv2d` in its "
                               "body crops 8x4x4 to 8x2x2"), out.stderr
    assert lines[2].endswith(CROPPING["plain"] + ",") and lines[3].endswith(
        "    " + "^" * len(CROPPING["plain"])), out.stderr
    assert f"the cropping layer is at {path}:3:14" in out.stderr
    assert "a failing architecture: decisions" in out.stderr
    assert 'help: use padding: "same"' in out.stderr
