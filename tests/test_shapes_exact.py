"""`check --shapes` is exact under shared choices: it conditions on them, as counting
does, so it proves the space or names a concrete failing architecture (issue 16.4)."""

import subprocess
import sys

import pytest

import darchlang
from darchlang.backends.torch import plan_network
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


def test_cli_proves_the_shared_space_and_says_so(tmp_path):
    path = tmp_path / "stages.darch"
    path.write_text(STAGES)
    out = subprocess.run([sys.executable, "-m", "darchlang.cli", "check", "--shapes", "--input",
                          "3x8x8", "--enumerate-up-to", "0", str(path)],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("all 256 architectures compile for input 3x8x8: proved")
    assert "rounds conditioning on shared choices" in out.stdout


# ---- property: the analysis agrees with planning every architecture ----------------
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

WIDTHS = ["w0", "w1", "4", "8", "one_of(4, 8)", "2 * w2"]


@st.composite
def _block(draw):
    kind = draw(st.sampled_from(["conv", "add", "if", "repeat"]))
    width = draw(st.sampled_from(WIDTHS))
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
def _program(draw):
    blocks = draw(st.lists(_block(), min_size=1, max_size=4))
    return ("w0 = one_of(4, 8)\nw1 = one_of(4, 8)\nw2 = one_of(1, 2)\n"
            f"space = concat [{', '.join(blocks)}]\n")


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_program())
def test_the_analysis_agrees_with_planning_every_architecture(text):
    space = darchlang.load_string(text, "random.darch").space
    report = check_shapes(space, (3, 6, 6), torch_shape_rules(), enumerate_up_to=0)
    bad = []
    for arch in space.enumerate():
        try:
            plan_network(arch, (3, 6, 6))
        except DarchError:
            bad.append(arch)
    assert not report.spurious, report.failure
    assert report.ok == (not bad), (text, report.failure)
    if bad:
        with pytest.raises(DarchError):
            plan_network(space.replay(report.architecture.decisions), (3, 6, 6))
