"""Each layer records the calls of darchlang functions that made it (issue 19.3): the
layer table can then show the call site beside the `def` line (`:31, in inner at :9`)."""

import darchlang
from darchlang.arch import Layer, Repeat, Residual, Seq

PROGRAM = """\
def conv(f) = conv2d(filters: f, size: 3)
def block(f) = concat [conv(f), relu()]
space = concat [
    block(8),
    block(16),
    repeat_tied(conv(one_of(4, 8)), times: 2),
    residual(block(8)),
    tanh(),
]
"""


def layers(node):
    if isinstance(node, Layer):
        return [node]
    if isinstance(node, Seq):
        return [x for item in node.items for x in layers(item)]
    if isinstance(node, Repeat | Residual):
        return layers(node.body)
    raise TypeError(node)


def trace_of(layer):
    return [(site.function, site.span.line, site.span.col) for site in layer.trace]


def test_layers_carry_their_call_sites_outermost_first():
    space = darchlang.load_string(PROGRAM, "t.darch").space
    arch = space.sample(0)
    got = [(x.kind, x.span.line, trace_of(x)) for x in layers(arch.network)]
    assert got == [
        ("conv2d", 1, [("block", 4, 5), ("conv", 2, 24)]),
        ("relu", 2, [("block", 4, 5)]),
        ("conv2d", 1, [("block", 5, 5), ("conv", 2, 24)]),
        ("relu", 2, [("block", 5, 5)]),
        ("conv2d", 1, [("conv", 6, 17)]),
        ("conv2d", 1, [("block", 7, 14), ("conv", 2, 24)]),
        ("relu", 2, [("block", 7, 14)]),
        ("tanh", 8, []),
    ]
    assert [trace_of(x) for x in layers(space.replay(arch.decisions).network)] == \
        [trace_of(x) for x in layers(arch.network)]


def test_the_simple_space_tells_its_two_convolutions_apart():
    arch = darchlang.load_file("examples/cifar10_simple.darch").space.sample(0)
    convs = [x for x in layers(arch.network) if x.kind == "conv2d"]
    assert [x.span.line for x in convs] == [9, 9]
    assert [[(s.function, s.span.line) for s in x.trace] for x in convs] == [[("conv", 22)],
                                                                            [("conv", 24)]]
