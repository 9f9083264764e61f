"""Standalone exports: the emitted Python file, imported in a fresh process without
darchlang, matches the compiled model; the ONNX file matches in onnxruntime."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import textwrap

import pytest
import torch
import torch.nn.functional as F

import darchlang
from darchlang import DarchError
from darchlang.arch.graph import Architecture, Init, Layer, Residual, Seq
from darchlang.backends.torch.compiler import compile_architecture
from darchlang.backends.torch.export import emit_python, export_onnx

torch.set_num_threads(1)

MIXED = """
space = concat [
    conv2d(filters: 6, size: 4, stride: 2),
    maybe_swap(relu(), batch_norm()),
    residual(concat [conv2d(filters: 8, size: 3), layer_norm()]),
    avg_pool2d(size: 3, stride: 2),
    dropout(keep: 0.5),
    affine(units: 5),
]
"""

GRAPHS = """
def pair(c) = graph(a, b) {
    s = add(conv2d(filters: c, size: 1)(a), b)
    return cat(s, max_pool2d(size: 3, stride: 1)(a))
}
space = concat [
    conv2d(filters: 4, size: 3),
    graph(x) {
        y = batch_norm()(x)
        z = pair(4)(y, x)
        return residual(relu())(z)
    },
    global_avg_pool(),
    affine(units: 3),
]
"""


def every_kind() -> Architecture:
    """Each layer kind, both joins, the stride-1 even pool crop and the ceil-mode pools."""
    def L(kind, path, **attrs):
        return Layer(kind, attrs, f"net/{path}/{kind}")

    network = Seq((
        L("conv2d", 0, filters=6, size=3, stride=2, init=Init("xavier", 0.5)),
        L("max_pool2d", 1, size=2, stride=1),
        L("gelu", 2),
        Residual(Seq((L("conv2d", "3/residual/body/0", filters=8, size=3, stride=2),
                      L("batch_norm", "3/residual/body/1"))), "project", "net/3/residual"),
        L("avg_pool2d", 4, size=2, stride=2),
        L("tanh", 5),
        L("identity", 6),
        L("max_pool2d", 7, size=3, stride=1, padding="valid"),
        L("layer_norm", 8),
        L("global_avg_pool", 9),
        Residual(L("affine", "10/residual/body", units=12), "project", "net/10/residual"),
        Residual(L("affine", "11/residual/body", units=16), "pad", "net/11/residual"),
        L("batch_norm", 12),
        L("sigmoid", 13),
        L("flatten", 14),
        L("affine", 15, units=4, init=Init("invsqrt_gaussian", 1.4142135623730951)),
    ))
    return Architecture(network, network_name="net")


def models():
    """(architecture, input shape) pairs that together use every code path."""
    mixed = darchlang.load_string(MIXED, "mixed.darch").space.sample(0)
    complex_space = darchlang.load_file("examples/cifar10_complex.darch").space
    small_complex = complex_space.walk(
        lambda c: 0 if c.name.endswith(("/times", "/filters")) else 1
    )
    graphs = darchlang.load_string(GRAPHS, "graphs.darch").space.sample(0)
    return [(mixed, (3, 9, 9)), (every_kind(), (3, 25, 23)), (graphs, (3, 8, 8)),
            (small_complex, (3, 32, 32))]


def trained(arch, shape, seed):
    """A compiled model whose batch-norm statistics have moved, in eval mode."""
    torch.manual_seed(seed)
    model = compile_architecture(arch, shape)
    fresh = {k: v.clone() for k, v in model.state_dict().items()}
    with torch.no_grad():
        for _ in range(2):
            model(torch.randn(4, *shape))
    return model.eval(), fresh


@pytest.mark.slow
def test_emitted_python_runs_without_darchlang_and_matches(tmp_path):
    cases = []
    for i, (arch, shape) in enumerate(models()):
        model, fresh = trained(arch, shape, seed=i)
        x = torch.randn(3, *shape)
        (tmp_path / f"model{i}.py").write_text(emit_python(arch, shape))
        torch.save(model.state_dict(), tmp_path / f"state{i}.pt")
        torch.save(x, tmp_path / f"x{i}.pt")
        with torch.no_grad():
            cases.append((model(x), fresh))
    script = textwrap.dedent(f"""
        import importlib.util, runpy, sys
        sys.modules["darchlang"] = None  # the export must not need darchlang
        import torch
        torch.set_num_threads(1)
        for i in range({len(cases)}):
            spec = importlib.util.spec_from_file_location(f"model{{i}}", f"model{{i}}.py")
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
            torch.manual_seed(i)
            model = module.Model()
            torch.save(model.state_dict(), f"fresh{{i}}.pt")
            model.load_state_dict(torch.load(f"state{{i}}.pt"))
            model.eval()
            with torch.no_grad():
                torch.save(model(torch.load(f"x{{i}}.pt")), f"y{{i}}.pt")
        runpy.run_path("model0.py", run_name="__main__")
    """)
    done = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "torch.Size([2, 5])"
    for i, (expected, fresh) in enumerate(cases):
        torch.testing.assert_close(torch.load(tmp_path / f"y{i}.pt"), expected, rtol=1e-5, atol=1e-5)
        same_seed = torch.load(tmp_path / f"fresh{i}.pt")
        assert list(same_seed) == list(fresh)
        assert all(torch.equal(same_seed[k], fresh[k]) for k in fresh), f"model {i}"


def test_emitted_python_is_readable_source():
    arch = darchlang.load_string(MIXED, "mixed.darch").space.sample(0)
    text = emit_python(arch, (3, 9, 9))
    assert "import darchlang" not in text and "from darchlang" not in text
    assert "class Model(nn.Module):" in text
    assert "self.space_0_conv2d = kaiming_(nn.Conv2d(3, 6, 4, stride=2), 1.0)  # mixed.darch:3" in text
    assert "x = self.space_0_conv2d(F.pad(x, (1, 2, 1, 2)))  # 6x5x5  mixed.darch:3" in text
    assert "# space = concat [" in text  # the architecture, as a comment
    compile(text, "model.py", "exec")


def test_emitted_python_passes_ruff(tmp_path):
    ruff = shutil.which("ruff")
    assert ruff is not None, "ruff is a test dependency"
    arch, shape = models()[1]
    path = tmp_path / "model.py"
    path.write_text(emit_python(arch, shape))
    done = subprocess.run(
        [ruff, "check", "--isolated", "--no-cache", "--select", "E,F,W,I,B,UP",
         "--ignore", "E501", str(path)],
        capture_output=True, text=True,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_emit_from_a_compiled_model_and_a_class_name():
    model = compile_architecture(every_kind(), (3, 25, 23))
    text = emit_python(model, class_name="Net")
    assert "class Net(nn.Module):" in text and model.forward_source.splitlines()[1] in text
    with pytest.raises(DarchError, match="not a valid Python class name"):
        emit_python(model, class_name="my net")


@pytest.mark.slow
def test_onnx_matches_in_onnxruntime(tmp_path):
    import numpy as np
    import onnxruntime

    for i, (arch, shape) in enumerate(models()[:3]):
        model, _ = trained(arch, shape, seed=i)
        model.train()  # export must switch to eval and back
        path = export_onnx(model, shape, tmp_path / f"m{i}.onnx")
        assert model.training
        model.eval()
        session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        for batch in (1, 5):  # the batch dimension stays dynamic
            x = torch.randn(batch, *shape)
            (got,) = session.run(None, {"input": x.numpy()})
            with torch.no_grad():
                np.testing.assert_allclose(got, model(x).numpy(), rtol=1e-4, atol=1e-5)


def test_onnx_export_without_its_package_is_a_clear_error(tmp_path, monkeypatch):
    def missing(*args, **kwargs):
        raise ModuleNotFoundError("No module named 'onnxscript'", name="onnxscript")

    monkeypatch.setattr(torch.onnx, "export", missing)
    model = compile_architecture(Layer("relu", {}), (3,))
    with pytest.raises(DarchError) as info:
        export_onnx(model, None, tmp_path / "m.onnx")
    assert info.value.message == "ONNX export needs the Python package `onnxscript`"


def test_export_onnx_needs_a_shape_for_foreign_models(tmp_path):
    with pytest.raises(DarchError, match="needs the input shape"):
        export_onnx(torch.nn.ReLU(), None, tmp_path / "m.onnx")


@pytest.mark.slow
def test_cli_compile_writes_both_exports(tmp_path, capsys):
    from darchlang.cli import main

    py, onnx_path = tmp_path / "model.py", tmp_path / "model.onnx"
    code = main(["compile", "examples/cifar10_simple.darch", "--seed", "3", "--input", "3x32x32",
                 "--emit-python", str(py), "--emit-onnx", str(onnx_path), "--json"])
    assert code == 0
    data = json.loads(capsys.readouterr().out)
    assert data["written"] == {"python": str(py), "onnx": str(onnx_path)}
    assert data["summary"]["output_shape"] == [10]
    assert data["summary"]["layers"][0]["where"] == "examples/cifar10_simple.darch:9"
    sample = darchlang.load_file("examples/cifar10_simple.darch").space.sample(3)
    assert data["architecture"]["decisions"] == sample.decisions
    assert py.read_text().startswith('"""A 3x32x32 -> 10 network')
    assert onnx_path.stat().st_size > 0


def test_cli_compile_table_and_errors(tmp_path, capsys):
    from darchlang.cli import main

    assert main(["compile", "examples/cifar10_complex.darch", "--seed", "1"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("# architecture ")
    # a layer `inner` made reads as the call in the program and the line in `inner`
    assert "examples/cifar10_complex.darch:30, in inner at :13" in out
    assert "multiply-adds per example" in out
    assert main(["compile", "examples/cifar10_simple.darch", "--input", "3xab"]) == 2
    assert "cannot read the input shape `3xab`" in capsys.readouterr().err
    assert main(["compile", "examples/cifar10_simple.darch", "--input", "10"]) == 1
    err = capsys.readouterr().err
    assert "error: `conv2d` needs an image; this is a vector of 10 features" in err
    missing = tmp_path / "no" / "model.py"
    assert main(["compile", "examples/cifar10_simple.darch", "--emit-python", str(missing)]) == 1
    assert "does not exist" in capsys.readouterr().err


def test_relu_only_network_exports_without_unused_imports():
    text = emit_python(Architecture(Layer("relu", {}, "space/relu")), (4,))
    assert "import math" not in text and "F.relu(x)" in text
    assert F is not None
