"""The largest architecture's size is known without building one, and a space whose
architectures pass `Limits.layers` is refused by every command (issue 16.2)."""

import subprocess
import sys

import pytest

import darchlang
from darchlang import DarchError
from darchlang.environment import Limits, builtin_environment

DOUBLING = "a0 = concat [conv2d(filters: 4, size: 3), relu()]\n" + "".join(
    f"a{k} = concat [a{k - 1}, a{k - 1}]\n" for k in range(1, 41)) + "space = a40\n"


def test_doubling_through_bindings_is_refused_at_the_first_part_too_large():
    with pytest.raises(DarchError, match="up to 2,199,023,255,552 layers") as info:
        _ = darchlang.load_string(DOUBLING, "doubling.darch").space
    # a16 = concat [a15, a15] is the smallest part past 100,000 layers (2 * 2^16)
    assert info.value.span.line == 17
    assert "131,072 layers" in info.value.notes[0]


DEEP = "space = repeat_tied(repeat_tied(relu(), times: 1000), times: one_of(2, 200))\n"


def test_nested_tied_repeats_are_refused():
    # each count is within the repeat limit and the space has a handful of nodes;
    # 1,000 copies of 200 copies is not within the layer limit
    with pytest.raises(DarchError, match="up to 200,000 layers") as info:
        _ = darchlang.load_string(DEEP).space
    assert "repeat count" in info.value.help


def test_the_largest_architecture_is_measured_without_building():
    space = darchlang.load_file("examples/cifar10_complex.darch").space
    # stem inner (4 layers at most) + 32 tied copies of a residual inner (4) ... twice, + head
    assert space.max_layers == 4 + 32 * 4 + 4 + 32 * 4 + 1
    assert max(len(_layers(space.sample(seed).network)) for seed in range(30)) <= space.max_layers
    text = "space = concat [relu(), one_of(relu(), concat [relu(), relu()]), " \
           "repeat(relu(), times: one_of(1, 3))]"
    assert darchlang.load_string(text).space.max_layers == 1 + 2 + 3


def test_the_limit_comes_from_the_environment():
    env = builtin_environment().copy()
    env.limits = Limits(layers=5)
    text = "space = repeat_tied(relu(), times: 6)"
    with pytest.raises(DarchError, match="more than the limit of 5"):
        _ = darchlang.load_string(text, env=env).space
    assert darchlang.load_string(text).space.max_layers == 6


@pytest.mark.parametrize("command", ["check", "count", "sample", "show"])
@pytest.mark.slow
def test_every_command_refuses_it_with_a_source_error(tmp_path, command):
    path = tmp_path / "doubling.darch"
    path.write_text(DOUBLING)
    out = subprocess.run([sys.executable, "-m", "darchlang.cli", command, str(path)],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 1
    assert f"{path}:17:7: error: architectures of this space are too large" in out.stderr
    assert "Traceback" not in out.stderr


@pytest.mark.slow
def test_compile_and_shape_checks_refuse_it(tmp_path):
    path = tmp_path / "tied.darch"
    path.write_text(DEEP)
    for command in (["compile"], ["check", "--shapes"]):
        out = subprocess.run([sys.executable, "-m", "darchlang.cli", *command, str(path)],
                             capture_output=True, text=True, timeout=120)
        assert out.returncode == 1, out.stderr
        assert "too large: up to 200,000 layers" in out.stderr


def _layers(node):
    from darchlang.arch import Layer, Repeat, Residual, Seq

    if isinstance(node, Layer):
        return [node]
    if isinstance(node, Seq):
        return [x for item in node.items for x in _layers(item)]
    if isinstance(node, Residual):
        return _layers(node.body)
    if isinstance(node, Repeat):
        return _layers(node.body) * node.times
    raise TypeError(node)


def test_check_shapes_bounds_the_parameters_and_refuses_past_the_limit():
    from darchlang.backends.torch.shape_rules import torch_shape_rules
    from darchlang.space.shapes import check_shapes

    space = darchlang.load_file("examples/cifar10_simple.darch").space
    report = check_shapes(space, (3, 32, 32), torch_shape_rules(), enumerate_up_to=0)
    # the widest choices everywhere: conv 3->128 5x5, conv 128->128 5x5, affine
    # 8192->1024, affine 1024->10, with biases
    widest = (3 * 128 * 25 + 128) + (128 * 128 * 25 + 128) + 8193 * 1024 + 1025 * 10
    assert report.ok and report.max_params == widest and report.max_layers == 7
    assert "the largest has at most 7 layers and 8,819,338 parameters" in report.summary("3x32x32")
    env = builtin_environment().copy()
    env.limits = Limits(parameters=1_000_000)
    small = darchlang.load_file("examples/cifar10_simple.darch", env=env).space
    refused = check_shapes(small, (3, 32, 32), torch_shape_rules(), enumerate_up_to=0)
    assert not refused.ok
    assert "up to 8,819,338 parameters, more than the limit of 1,000,000" in refused.failure.message
