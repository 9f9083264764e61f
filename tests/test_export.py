"""Taking the result home: `--keep-best`, `darch export` and `compile --weights`."""

import json
import subprocess
import sys

import numpy as np
import pytest

import darchlang
from darchlang.search.keep_best import prune

SPACE = """param num_classes = 10
space = concat [
    conv2d(filters: one_of(8, 16), size: one_of(1, 3)), relu(),
    max_pool2d(size: 2, stride: 2),
    affine(units: num_classes),
]
train = hyperparams { learning_rate_init: one_of(0.01, 0.003), max_epochs: 15 }
"""


def darch(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "darchlang.cli", *args], capture_output=True,
                          text=True, cwd=cwd, timeout=600)


def test_prune_keeps_the_k_best_scores(tmp_path):
    for name, score in [("a", 0.5), ("b", 0.9), ("c", 0.7), ("d", 0.1)]:
        (tmp_path / f"{name}.pt").write_bytes(b"x")
        (tmp_path / f"{name}.json").write_text(json.dumps({"score": score}))
    (tmp_path / "e.json").write_text("{half written")
    prune(tmp_path, 2)
    assert sorted(p.name for p in tmp_path.glob("*.pt")) == ["b.pt", "c.pt"]


@pytest.fixture(scope="module")
def searched(tmp_path_factory):
    root = tmp_path_factory.mktemp("export")
    (root / "net.darch").write_text(SPACE)
    r = darch("search", "net.darch", "--dataset", "digits", "--searcher", "random", "--budget",
              "4", "--max-epochs", "1", "--keep-best", "2", "--journal", "run.db", cwd=root)
    assert r.returncode == 0, r.stderr
    return root


@pytest.mark.slow
def test_keep_best_keeps_the_two_best(searched):
    from darchlang.search import Journal
    from darchlang.search.results import top

    kept = sorted(p.stem for p in (searched / "run.db.best").glob("*.pt"))
    best = top(Journal(searched / "run.db", create=False).evaluations(), 2)
    assert kept == sorted(e.identity for e in best)


@pytest.mark.slow
def test_export_reproduces_the_journals_validation_accuracy(searched):
    from darchlang.search import Journal
    from darchlang.search.results import top

    r = darch("export", "run.db", "-o", "best", cwd=searched)
    assert r.returncode == 0, r.stderr
    out = searched / "best"
    text = (out / "architecture.darch").read_text()
    assert "max_epochs: 1," in text and "max_epochs: 15" not in text  # what it trained with
    best = top(Journal(searched / "run.db", create=False).evaluations(), 1)[0]
    # model.py says what it was exported from: the journal, the rank, the architecture
    head = (out / "model.py").read_text().split("\n\n", 1)[0]
    assert f"darchlang {darchlang.__version__} from rank 1 (evaluation #{best.index}, " \
           f"architecture {best.identity}) of the search journal " \
           f"{(searched / 'run.db').resolve()}" in " ".join(head.split())
    # the standalone module needs torch alone, and its weights score what the journal says
    check = (
        "import sys, torch, model\n"
        "m = model.load()\n"
        "assert not any(k.startswith('darchlang') for k in sys.modules), 'imports darchlang'\n"
        "from sklearn.datasets import load_digits\n"
        "print(m(torch.zeros(2, 1, 8, 8)).shape)\n"
    )
    r = subprocess.run([sys.executable, "-c", check], capture_output=True, text=True, cwd=out,
                       timeout=120)
    assert r.returncode == 0 and "torch.Size([2, 10])" in r.stdout, r.stderr
    import torch

    from darchlang.train.data import load_dataset
    from darchlang.train.evaluator import accuracy

    sys.path.insert(0, str(out))
    try:
        import model as exported
    finally:
        sys.path.remove(str(out))
    net = exported.load(str(out / "checkpoint.pt"))
    val = load_dataset("digits").val
    assert accuracy(net, val) == pytest.approx(best.score, abs=1e-9)
    # ONNX carries the trained weights: the same outputs as the module
    import onnxruntime as ort

    x = val.x[:16].numpy()
    session = ort.InferenceSession(str(out / "model.onnx"), providers=["CPUExecutionProvider"])
    got = session.run(None, {session.get_inputs()[0].name: x})[0]
    np.testing.assert_allclose(got, net(torch.from_numpy(x)).detach().numpy(), atol=1e-4)
    # compile --weights puts the checkpoint into a model compiled from the exported text
    r = darch("compile", "best/architecture.darch", "--input", "1x8x8", "--weights",
              "best/checkpoint.pt", "--emit-onnx", "again.onnx", cwd=searched)
    assert r.returncode == 0, r.stderr
    again = ort.InferenceSession(str(searched / "again.onnx"), providers=["CPUExecutionProvider"])
    np.testing.assert_allclose(again.run(None, {again.get_inputs()[0].name: x})[0], got, atol=1e-5)


@pytest.mark.slow
def test_export_errors(searched, tmp_path):
    r = darch("export", "run.db", "--rank", "9", "-o", "x", cwd=searched)
    assert r.returncode == 1 and "there is no rank 9" in r.stderr and "--rank between 1 and" in r.stderr
    r = darch("export", str(tmp_path / "none.db"), "-o", str(tmp_path / "x"))
    assert r.returncode == 1 and "no journal" in r.stderr and "Traceback" not in r.stderr
    r = darch("compile", "net.darch", "--input", "1x8x8", "--weights", "run.db", cwd=searched)
    assert r.returncode == 1 and "not a PyTorch checkpoint" in r.stderr
    r = darch("search", "net.darch", "--dataset", "digits", "--budget", "1", "--keep-best", "-1",
              "--max-epochs", "1", "--journal", "other.db", cwd=searched)
    assert r.returncode == 2 and "--keep-best: must be at least 0" in r.stderr


@pytest.mark.slow
def test_export_retrain_reproduces_the_score(searched):
    r = darch("export", "run.db", "--rank", "2", "-o", "second", "--retrain", cwd=searched)
    assert r.returncode == 0, r.stderr
    assert "reproduces the journal's" in r.stdout
