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
from darchlang.extend import Environment, LayerDef, Param, builtin_environment, default_environment
from darchlang.layers.defs import Int
from darchlang.plugins import apply_plugin

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "extending.md"


def test_extending_doc_runs_in_order():
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(), re.S)
    assert len(blocks) >= 6
    namespace: dict = {}
    for code in blocks:
        exec(compile(code, str(DOC), "exec"), namespace)
    assert "sepconv2d" not in default_environment().layers  # the doc's environment was a copy


def test_duplicate_names_and_bad_signatures_are_clear():
    env = builtin_environment()
    with pytest.raises(ValueError, match=r"a layer named `conv2d` is already registered \(from darchlang\)"):
        env.add_layer(LayerDef("conv2d", (), "again"))
    with pytest.raises(ValueError, match="lists a parameter twice"):
        env.add_layer(LayerDef("twice", (Param("a", Int()), Param("a", Int())), ""))
    with pytest.raises(ValueError, match="is not a valid darchlang name"):
        env.add_layer(LayerDef("bad-name", (), ""))
    with pytest.raises(ValueError, match="the default of `k` is invalid"):
        env.add_layer(LayerDef("k_layer", (Param("k", Int(min=1), 0),), ""))
    with pytest.raises(TypeError, match="needs a Param with a type"):
        env.add_layer(LayerDef("typeless", ("k",), ""))  # type: ignore[arg-type]


def test_every_table_refuses_a_taken_name_naming_both_origins():
    env = builtin_environment()
    env.origin = "plugin second"
    both = r"already registered \(from {}\); plugin second cannot add another"
    with pytest.raises(ValueError, match="a searcher named `random` is " + both.format("darchlang")):
        env.add_searcher(object, "random")
    with pytest.raises(ValueError, match="a dataset named `digits` is " + both.format("darchlang")):
        env.add_dataset("digits", lambda data_dir: None)
    with pytest.raises(ValueError, match="a function named `one_of` is " + both.format("darchlang")):
        env.add_layer(LayerDef("one_of", (), ""))
    env.add_evaluator("mine", object, origin="plugin first")
    with pytest.raises(ValueError, match="an? evaluator named `mine` is " + both.format("plugin first")):
        env.add_evaluator("mine", object)
    env.add_lowering("torch", "mine", object(), origin="plugin first")
    with pytest.raises(ValueError, match="lowering named `mine` is " + both.format("plugin first")):
        env.add_lowering("torch", "mine", object())
    assert env.origins[("evaluators", "mine")] == "plugin first"


def test_a_plugin_adds_a_layer_a_searcher_and_a_dataset():
    from darchlang.search import make_searcher, searcher_names
    from darchlang.search.simple import RandomSearcher
    from darchlang.train.data import list_datasets, load_dataset

    env = builtin_environment()

    class Firsts(RandomSearcher):
        name = "firsts"

    def register(plugin: Environment) -> None:
        plugin.add_layer(LayerDef("twice", (), "x + x"))
        plugin.add_searcher(Firsts)
        plugin.add_dataset("tiny", lambda data_dir: "tiny data", "a tiny dataset")

    assert apply_plugin(env, register, "tiny") is None
    assert env.layers["twice"].origin == "plugin tiny"
    assert env.origins[("searchers", "firsts")] == "plugin tiny"
    assert "firsts" in searcher_names(env) and "firsts" not in searcher_names()
    assert "tiny" in [d.name for d in list_datasets(env)]
    assert load_dataset("tiny", env=env) == "tiny data"
    space = darchlang.load_string("space = twice()", env=env).space
    assert isinstance(make_searcher("firsts", space, 0, env=env), Firsts)


def test_a_failing_plugin_is_reported_not_fatal():
    env = builtin_environment()

    def broken(plugin: Environment) -> None:
        plugin.add_layer(LayerDef("half_done", (), ""))
        plugin.add_searcher(object, "half_searcher")
        raise RuntimeError("boom")

    error = apply_plugin(env, broken, "broken")
    assert error is not None and error.startswith("RuntimeError: boom")
    assert "half_done" not in env.layers  # nothing of a failed plugin is kept
    assert "half_searcher" not in env.searchers


def test_user_shape_rule_bugs_point_at_the_primitive_and_the_program():
    from darchlang.backends.torch.compiler import compile_architecture
    from darchlang.backends.torch.lowering import TorchLowering

    def buggy_shape(attrs, shape):
        return (shape[0] // 0,)

    env = default_environment().copy()
    env.add_layer(LayerDef("buggy", (), "a layer whose shape rule has a bug", shape=buggy_shape))
    env.add_lowering("torch", "buggy", TorchLowering(call=lambda attrs, shape, module, x: x))
    arch = darchlang.load_string("space = concat [relu(), buggy()]", "p.darch",
                                 env=env).space.sample(0)
    with pytest.raises(DarchError) as info:
        compile_architecture(arch, (3, 8, 8), env=env)
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


@pytest.mark.slow
def test_installed_plugin_from_the_cli(plugin_path):
    listed = darch(plugin_path, "plugins")
    assert listed.returncode == 0
    assert ("sepconv: sepconv2d, evaluator toy_regression, searcher hill_climb, dataset stripes"
            in listed.stdout)
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


@pytest.mark.slow
def test_search_with_the_plugins_evaluator_from_the_cli(plugin_path, tmp_path):
    journal = tmp_path / "plugin.db"
    done = darch(plugin_path, "search", "examples/plugin/sepconv.darch", "--evaluator",
                 "toy_regression", "--searcher", "hill_climb", "--budget", "2", "--seed", "0", "--journal", str(journal),
                 "--no-progress")
    assert done.returncode == 0, done.stderr
    assert "best architecture" in done.stdout
    report = darch(plugin_path, "report", str(journal), "--json")
    assert report.returncode == 0, report.stderr
    data = json.loads(report.stdout)
    assert len(data["evaluations"]) == 2
    assert all(e["status"] == "ok" and e["score"] <= 0 for e in data["evaluations"])


@pytest.mark.slow
def test_training_on_the_plugins_dataset_from_the_cli(plugin_path, tmp_path):
    program = tmp_path / "stripes.darch"
    program.write_text("space = concat [sepconv2d(filters: 4, size: 3), relu(), "
                       "global_avg_pool(), affine(units: 2)]\n")
    done = darch(plugin_path, "train", str(program), "--dataset", "stripes", "--max-epochs", "1",
                 "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["status"] == "ok"
