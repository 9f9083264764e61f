"""docs/extending.md runs as written; the example plugin installs and works from the CLI."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

import darchlang
from darchlang import DarchError
from darchlang.extend import LayerDef, Param, Registry, builtin_registry, default_registry
from darchlang.layers.registry import Int
from darchlang.plugins import apply_plugin

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "extending.md"


def test_extending_doc_runs_in_order():
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(), re.S)
    assert len(blocks) >= 6
    namespace: dict = {}
    for code in blocks:
        exec(compile(code, str(DOC), "exec"), namespace)
    assert "sepconv2d" not in default_registry().layers  # the doc's registry was a copy


def test_duplicate_names_and_bad_signatures_are_clear():
    registry = builtin_registry()
    with pytest.raises(ValueError, match=r"a layer named `conv2d` is already registered \(from darchlang\)"):
        registry.add(LayerDef("conv2d", (), "again"))
    with pytest.raises(ValueError, match="lists a parameter twice"):
        registry.add(LayerDef("twice", (Param("a", Int()), Param("a", Int())), ""))
    with pytest.raises(ValueError, match="is not a valid darchlang name"):
        registry.add(LayerDef("bad-name", (), ""))
    with pytest.raises(ValueError, match="the default of `k` is invalid"):
        registry.add(LayerDef("k_layer", (Param("k", Int(min=1), 0),), ""))
    with pytest.raises(TypeError, match="needs a Param with a type"):
        registry.add(LayerDef("typeless", ("k",), ""))  # type: ignore[arg-type]


def test_a_failing_plugin_is_reported_not_fatal():
    registry = builtin_registry()

    def broken(reg: Registry) -> None:
        reg.add(LayerDef("half_done", (), ""))
        raise RuntimeError("boom")

    error = apply_plugin(registry, broken, "broken")
    assert error is not None and error.startswith("RuntimeError: boom")
    assert "half_done" not in registry.layers  # nothing of a failed plugin is kept


def test_user_shape_rule_bugs_point_at_the_primitive_and_the_program():
    from darchlang.backends.torch import compile_architecture

    def buggy_shape(attrs, shape):
        return (shape[0] // 0,)

    registry = default_registry().copy()
    registry.add(LayerDef("buggy", (), "a layer whose shape rule has a bug", shape=buggy_shape,
                          call=lambda attrs, shape, module, x: x))
    arch = darchlang.load_string("space = concat [relu(), buggy()]", "p.darch",
                                 registry=registry).space.sample(0)
    with pytest.raises(DarchError) as info:
        compile_architecture(arch, (3, 8, 8))
    text = info.value.render()
    assert "p.darch:1:25" in text and "buggy" in text and "ZeroDivisionError" in text
    assert "test_extending.py" in text  # where the rule is written


@pytest.fixture(scope="module")
def plugin_path(tmp_path_factory):
    target = tmp_path_factory.mktemp("plugin")
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps",
                    "--no-build-isolation", "--target", str(target), str(ROOT / "examples" / "plugin")],
                   check=True, capture_output=True, timeout=300)
    return target


def darch(plugin_path, *args):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(plugin_path), str(ROOT)]))
    return subprocess.run([sys.executable, "-m", "darchlang.cli", *args], capture_output=True,
                          text=True, env=env, cwd=ROOT, timeout=300)


def test_installed_plugin_from_the_cli(plugin_path):
    listed = darch(plugin_path, "plugins")
    assert listed.returncode == 0
    assert "sepconv: sepconv2d, evaluator toy_regression" in listed.stdout
    assert darch(plugin_path, "count", "examples/plugin/sepconv.darch").stdout.strip() == "8"
    shown = darch(plugin_path, "show", "examples/plugin/sepconv.darch").stdout
    assert "sepconv2d" in shown
    compiled = darch(plugin_path, "compile", "examples/plugin/sepconv.darch", "--seed", "1",
                     "--input", "3x8x8")
    assert compiled.returncode == 0, compiled.stderr
    assert "sepconv2d" in compiled.stdout
    checked = darch(plugin_path, "check", "--shapes", "--input", "3x8x8",
                    "examples/plugin/sepconv.darch")
    assert checked.returncode == 0, checked.stderr
    assert checked.stdout.startswith("all 8 architectures compile for input 3x8x8")


def test_search_with_the_plugins_evaluator_from_the_cli(plugin_path, tmp_path):
    journal = tmp_path / "plugin.db"
    done = darch(plugin_path, "search", "examples/plugin/sepconv.darch", "--evaluator",
                 "toy_regression", "--budget", "2", "--seed", "0", "--journal", str(journal),
                 "--no-progress")
    assert done.returncode == 0, done.stderr
    assert "best architecture" in done.stdout
    report = darch(plugin_path, "report", str(journal), "--json")
    assert report.returncode == 0, report.stderr
    data = json.loads(report.stdout)
    assert len(data["evaluations"]) == 2
    assert all(e["status"] == "ok" and e["score"] <= 0 for e in data["evaluations"])
