"""`darch draw`: an architecture as a graph, read off the shape plan."""

import subprocess
import sys
import xml.etree.ElementTree as ET

import pytest

import darchlang
from darchlang.backends.torch.plan import plan_network
from darchlang.report.draw import dataflow, layout, to_dot, to_svg

RESIDUAL = """
space = concat [
    conv2d(filters: 8, size: 3), relu(),
    residual(concat [conv2d(filters: 16, size: 3, stride: 2), relu()]),
    affine(units: 10),
]
"""


def darch(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "darchlang.cli", *args], capture_output=True,
                          text=True, cwd=cwd, timeout=120)


def nodes_of(text, shape=(3, 16, 16)):
    arch = darchlang.load_string(text, "t.darch").space.sample(0)
    return dataflow(plan_network(arch, shape))


def test_a_residual_is_drawn_as_a_join_of_the_body_and_the_shortcut():
    nodes = nodes_of(RESIDUAL)
    kinds = [n.kind for n in nodes]
    assert kinds == ["input", "layer", "layer", "layer", "layer", "join", "layer", "output"]
    join = nodes[5]
    assert join.label == "add (pad)" and join.shape == "16x8x8"
    assert sorted(join.inputs) == [2, 4]  # the body's relu and the shortcut from the first relu
    assert nodes[3].label == "conv2d(filters: 16, size: 3, stride: 2)"
    assert nodes[3].where == "t.darch:4"
    assert nodes[-1].shape == "10"


def test_graph_blocks_merge_their_values():
    text = """
    space = graph(x) {
        a = conv2d(filters: 4, size: 1)(x)
        b = conv2d(filters: 4, size: 3)(x)
        return add(a, b)
    }
    """
    nodes = nodes_of(text)
    merge = [n for n in nodes if n.kind == "merge"]
    assert len(merge) == 1 and merge[0].label == "add" and len(merge[0].inputs) == 2


def test_dot_and_svg_hold_every_box_and_edge():
    nodes = nodes_of(RESIDUAL)
    dot = to_dot(nodes)
    assert dot.startswith('digraph "architecture" {') and dot.rstrip().endswith("}")
    assert dot.count("->") == sum(len(n.inputs) for n in nodes)
    assert 'label="conv2d(filters: 8, size: 3)\\n8x16x16\\nt.darch:3"' in dot
    root = ET.fromstring(to_svg(nodes))
    ns = "{http://www.w3.org/2000/svg}"
    assert len(root.findall(f".//{ns}rect")) == len(nodes)
    assert len(root.findall(f"{ns}path")) == sum(len(n.inputs) for n in nodes)
    placed, width, _ = layout(nodes)
    assert all(0 <= p.x - p.w / 2 and p.x + p.w / 2 <= width for p in placed)


@pytest.mark.slow
def test_cli_writes_svg_png_and_dot(tmp_path):
    src = tmp_path / "net.darch"
    src.write_text(RESIDUAL)
    r = darch("draw", str(src), "--input", "3x16x16", "-o", str(tmp_path / "a.png"))
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "a.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    r = darch("draw", str(src), "--input", "3x16x16", "-o", str(tmp_path / "a.svg"))
    assert r.returncode == 0 and ET.parse(tmp_path / "a.svg").getroot().tag.endswith("svg")
    r = darch("draw", str(src), "--input", "3x16x16")
    assert r.returncode == 0 and r.stdout.startswith("digraph")


@pytest.mark.slow
def test_cli_errors(tmp_path):
    src = tmp_path / "net.darch"
    src.write_text(RESIDUAL)
    r = darch("draw", str(src), "--format", "png")
    assert r.returncode == 2 and "-o FILE.png" in r.stderr
    r = darch("draw", str(src), "-o", str(tmp_path / "a.jpeg"))
    assert r.returncode == 2 and "suffix" in r.stderr
    bad = tmp_path / "bad.darch"
    bad.write_text("space = concat [affine(units: 4), conv2d(filters: 2, size: 3)]\n")
    r = darch("draw", str(bad))
    assert r.returncode == 1 and f"{bad}:1:" in r.stderr and "Traceback" not in r.stderr
    r = darch("draw", str(src), "-o", str(tmp_path / "missing" / "a.svg"))
    assert r.returncode == 1 and "cannot write" in r.stderr
