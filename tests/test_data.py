"""Dataset loaders against small files written here in the real formats, and the
errors a wrong or missing file gives (each must name the file and what was expected)."""

from __future__ import annotations

import gzip
import os
import pickle
import struct
from pathlib import Path

import numpy as np
import pytest
import torch

from darchlang.errors import DarchError
from darchlang.train import formats
from darchlang.train.data import (
    CIFAR_AUGMENT,
    build_dataset,
    list_datasets,
    load_dataset,
    split_off_validation,
)

torch.set_num_threads(1)


# -- writers for the real formats -------------------------------------------------------------------
def cifar_arrays(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (n, 3072), dtype=np.uint8), rng.integers(0, 10, n).astype(np.uint8)


def write_cifar_binary(folder: Path, n: int = 6) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    folder.mkdir(parents=True, exist_ok=True)
    written = {}
    names = [f"data_batch_{i}.bin" for i in range(1, 6)] + ["test_batch.bin"]
    for seed, name in enumerate(names):
        data, labels = cifar_arrays(n, seed)
        records = np.concatenate([labels[:, None], data], axis=1)
        (folder / name).write_bytes(records.tobytes())
        written[name] = (data, labels)
    return written


def _short(b: bytes) -> bytes:
    return b"U" + bytes([len(b)]) + b  # SHORT_BINSTRING: a Python 2 `str`


def python2_cifar_pickle(data: np.ndarray, labels: np.ndarray) -> bytes:
    """The bytes cPickle (protocol 2) wrote for CIFAR-10's python batches under Python 2."""
    n = len(data)
    out = bytearray(b"\x80\x02}q\x01(")
    out += _short(b"batch_label") + _short(b"training batch 1 of 5")
    out += _short(b"labels") + b"](" + b"".join(b"K" + bytes([int(v)]) for v in labels) + b"e"
    out += _short(b"data")
    out += b"cnumpy.core.multiarray\n_reconstruct\nq\x02cnumpy\nndarray\nq\x03K\x00\x85"
    out += _short(b"b") + b"\x87R(K\x01"
    out += b"M" + struct.pack("<H", n) + b"M" + struct.pack("<H", 3072) + b"\x86"
    out += b"cnumpy\ndtype\n" + _short(b"u1") + b"K\x00K\x01\x87R"
    out += b"(K\x03" + _short(b"|") + b"NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00tb"
    raw = data.tobytes()
    out += b"\x89T" + struct.pack("<I", len(raw)) + raw + b"tb"
    out += _short(b"filenames") + b"](" + b"".join(_short(b"img%d.png" % i) for i in range(n)) + b"e"
    out += b"u."
    return bytes(out)


def write_cifar_python(folder: Path, n: int = 6, python2: bool = True) -> dict:
    folder.mkdir(parents=True, exist_ok=True)
    written = {}
    for seed, name in enumerate([f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]):
        data, labels = cifar_arrays(n, seed)
        if python2:
            blob = python2_cifar_pickle(data, labels)
        else:
            batch = {b"batch_label": b"x", b"labels": [int(v) for v in labels], b"data": data}
            blob = pickle.dumps(batch, protocol=2)
        (folder / name).write_bytes(blob)
        written[name] = (data, labels)
    return written


def idx_bytes(array: np.ndarray) -> bytes:
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(struct.pack(">I", d) for d in array.shape)
    return header + array.astype(np.uint8).tobytes()


def write_idx(folder: Path, n_train: int = 12, n_test: int = 5, compress: bool = False) -> dict:
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(1)
    arrays = {
        "train-images-idx3-ubyte": rng.integers(0, 256, (n_train, 7, 7)),
        "train-labels-idx1-ubyte": np.arange(n_train) % 10,
        "t10k-images-idx3-ubyte": rng.integers(0, 256, (n_test, 7, 7)),
        "t10k-labels-idx1-ubyte": np.arange(n_test) % 10,
    }
    for name, array in arrays.items():
        blob = idx_bytes(array)
        if compress:
            (folder / f"{name}.gz").write_bytes(gzip.compress(blob))
        else:
            (folder / name).write_bytes(blob)
    return arrays


def error_of(fn, *args) -> DarchError:
    with pytest.raises(DarchError) as info:
        fn(*args)
    return info.value


# -- digits -------------------------------------------------------------------------------------------
def test_digits_is_built_in_split_and_normalised():
    d = load_dataset("digits")
    assert d.input_shape == (1, 8, 8) and d.num_classes == 10
    assert (len(d.train), len(d.val), len(d.test)) == (1079, 359, 359)
    assert d.train.x.dtype == torch.float32 and d.train.y.dtype == torch.int64
    assert abs(d.train.x.mean().item()) < 1e-4 and abs(d.train.x.std().item() - 1) < 1e-3
    again = load_dataset("digits")
    assert torch.equal(again.val.x, d.val.x) and torch.equal(again.test.y, d.test.y)
    assert not d.augment.active  # a mirrored digit is another digit
    assert "digits: 1079 train / 359 val / 359 test" in d.describe()


def test_registry_and_spec_errors():
    assert [x.name for x in list_datasets()] == ["cifar10", "digits", "fashion-mnist", "mnist"]
    err = error_of(load_dataset, "cifar")
    assert "unknown dataset `cifar`" in err.message and err.help == "did you mean `cifar10`?"
    assert "npz:PATH" in err.notes[0]
    err = error_of(load_dataset, "mnist")
    assert "--data-dir" in err.help
    err = error_of(load_dataset, "cifar10", "/nonexistent/folder")
    assert "does not exist" in err.message


def test_validation_split_is_fixed():
    a, b = split_off_validation(100)
    assert len(b) == 10 and len(a) == 90 and not set(a) & set(b)
    assert np.array_equal(b, split_off_validation(100)[1])


def test_build_dataset_leaves_caller_arrays_alone():
    x = np.random.default_rng(0).normal(size=(20, 5)).astype(np.float32)
    before = x.copy()
    d = build_dataset("mine", (x, np.arange(20) % 4), None)
    assert np.array_equal(x, before) and d.input_shape == (5,) and d.num_classes == 4


# -- CIFAR-10 -------------------------------------------------------------------------------------------
def test_cifar_binary(tmp_path):
    written = write_cifar_binary(tmp_path / "cifar-10-batches-bin")
    images, labels = formats.read_cifar_binary(tmp_path / "cifar-10-batches-bin" / "data_batch_2.bin")
    data, want = written["data_batch_2.bin"]
    assert np.array_equal(images.reshape(-1, 3072), data) and np.array_equal(labels, want)
    d = load_dataset("cifar10", tmp_path)
    assert d.input_shape == (3, 32, 32) and d.num_classes == 10
    assert (len(d.train), len(d.val), len(d.test)) == (27, 3, 6)
    assert d.augment == CIFAR_AUGMENT and "binary" in d.source


def test_cifar_python_version_from_python2_and_python3_pickles(tmp_path):
    written = write_cifar_python(tmp_path / "py2", python2=True)
    images, labels = formats.read_cifar_pickle(tmp_path / "py2" / "test_batch")
    data, want = written["test_batch"]
    assert images.shape == (6, 3, 32, 32)
    assert np.array_equal(images.reshape(-1, 3072), data) and np.array_equal(labels, want)
    write_cifar_python(tmp_path / "py3" / "cifar-10-batches-py", python2=False)
    d = load_dataset("cifar10", tmp_path / "py3")
    assert len(d.train) + len(d.val) == 30 and "python" in d.source
    py2 = load_dataset("cifar10", tmp_path / "py2")
    assert torch.equal(py2.test.x, d.test.x)  # same pixels whichever way they were pickled


def test_cifar_pickle_cannot_run_code(tmp_path):
    target = tmp_path / "pwned"

    class Attack:
        def __reduce__(self):
            return (os.makedirs, (str(target),))

    path = tmp_path / "data_batch_1"
    path.write_bytes(pickle.dumps({b"data": Attack()}, protocol=2))
    err = error_of(formats.read_cifar_pickle, path)
    assert "refusing to unpickle" in err.message and str(path) in err.message
    assert "makedirs" in err.message and not target.exists()


@pytest.mark.parametrize(
    "blob, expected",
    [
        (b"\x80\x02}q\x00(U\x04data", "is not a CIFAR-10 python batch"),  # truncated
        (pickle.dumps([1, 2, 3], protocol=2), "holds a list"),
        (pickle.dumps({b"data": b"x"}, protocol=2), "its keys are: data"),
        (pickle.dumps({b"data": np.zeros((2, 5), np.uint8), b"labels": [0, 1]}), "(N, 3072)"),
        (pickle.dumps({b"data": np.zeros((2, 3072), np.uint8), b"labels": [0]}), "expected a list of 2"),
        (pickle.dumps({b"data": np.zeros((1, 3072), np.uint8), b"labels": [11]}), "label 11"),
    ],
)
def test_cifar_pickle_errors(tmp_path, blob, expected):
    path = tmp_path / "data_batch_1"
    path.write_bytes(blob)
    err = error_of(formats.read_cifar_pickle, path)
    assert str(path) in err.message
    assert expected in err.message + " ".join(err.notes)


def test_cifar_binary_errors(tmp_path):
    write_cifar_binary(tmp_path)
    (tmp_path / "data_batch_3.bin").write_bytes(b"\x00" * 3074)
    err = error_of(load_dataset, "cifar10", tmp_path)
    assert "data_batch_3.bin is not a CIFAR-10 binary batch" in err.message
    assert "3073 bytes" in err.notes[0] and "3074 bytes" in err.notes[0]
    (tmp_path / "data_batch_3.bin").write_bytes(b"\x0c" + b"\x00" * 3072)
    err = error_of(load_dataset, "cifar10", tmp_path)
    assert "label 12 of example 0 is not a class 0-9" in err.message
    (tmp_path / "test_batch.bin").unlink()
    err = error_of(load_dataset, "cifar10", tmp_path)
    assert err.message == f"missing file {tmp_path / 'test_batch.bin'}"
    err = error_of(load_dataset, "cifar10", tmp_path / "cifar-10-batches-bin")
    assert "does not exist" in err.message
    (tmp_path / "empty").mkdir()
    err = error_of(load_dataset, "cifar10", tmp_path / "empty")
    assert err.message.startswith("no CIFAR-10 files in") and "data_batch_1.bin" in err.notes[0]


# -- IDX --------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("compress", [False, True])
def test_mnist_idx(tmp_path, compress):
    arrays = write_idx(tmp_path, compress=compress)
    d = load_dataset("mnist", tmp_path)
    assert d.input_shape == (1, 7, 7) and d.num_classes == 10
    assert (len(d.train), len(d.val), len(d.test)) == (11, 1, 5)
    assert torch.equal(d.test.y, torch.from_numpy(arrays["t10k-labels-idx1-ubyte"]).long())
    name = "train-images-idx3-ubyte" + (".gz" if compress else "")
    raw = formats.read_idx(tmp_path / name, 3, "images")
    assert np.array_equal(raw, arrays["train-images-idx3-ubyte"])


def test_fashion_mnist_in_torchvision_layout(tmp_path):
    write_idx(tmp_path / "FashionMNIST" / "raw", compress=True)
    d = load_dataset("fashion-mnist", tmp_path)
    assert d.name == "fashion-mnist" and d.input_shape == (1, 7, 7)


def test_idx_errors(tmp_path):
    arrays = write_idx(tmp_path)
    images = tmp_path / "train-images-idx3-ubyte"
    images.write_bytes(b"\x12\x34" + images.read_bytes()[2:])
    err = error_of(load_dataset, "mnist", tmp_path)
    assert err.message == f"{images} is not an IDX file"
    images.write_bytes(idx_bytes(arrays["train-images-idx3-ubyte"])[:-10])
    err = error_of(load_dataset, "mnist", tmp_path)
    assert err.message == f"{images} is truncated" and "12 x 7 x 7 values" in err.notes[0]
    images.write_bytes(idx_bytes(arrays["train-images-idx3-ubyte"][:4]))
    err = error_of(load_dataset, "mnist", tmp_path)
    assert "do not match" in err.message and "4 images but 12 labels" in err.notes[0]
    images.write_bytes(idx_bytes(arrays["train-labels-idx1-ubyte"]))
    err = error_of(load_dataset, "mnist", tmp_path)
    assert "1-dimensional" in err.message
    images.unlink()
    (tmp_path / "train-images-idx3-ubyte.gz").write_bytes(b"\x1f\x8b garbage")
    err = error_of(load_dataset, "mnist", tmp_path)
    assert "damaged gzip" in err.message
    (tmp_path / "train-images-idx3-ubyte.gz").unlink()
    err = error_of(load_dataset, "mnist", tmp_path)
    assert err.message == f"missing file {images}"
    assert "t10k-labels-idx1-ubyte" in err.notes[0]


# -- npz --------------------------------------------------------------------------------------------------
def test_npz_channels_last_with_test_split(tmp_path):
    rng = np.random.default_rng(0)
    path = tmp_path / "toy.npz"
    np.savez(
        path,
        x=rng.integers(0, 256, (40, 6, 6, 3), dtype=np.uint8),
        y=np.arange(40) % 3,
        x_test=rng.integers(0, 256, (8, 6, 6, 3), dtype=np.uint8),
        y_test=np.arange(8) % 3,
    )
    d = load_dataset(f"npz:{path}")
    assert d.input_shape == (3, 6, 6) and d.num_classes == 3
    assert (len(d.train), len(d.val), len(d.test)) == (36, 4, 8)
    rel = load_dataset("npz:toy.npz", tmp_path)  # relative to --data-dir
    assert torch.equal(rel.val.x, d.val.x)


def test_npz_features_without_test_split(tmp_path):
    path = tmp_path / "f.npz"
    np.savez(path, x=np.random.default_rng(0).normal(size=(30, 4)), y=np.arange(30) % 2)
    d = load_dataset(f"npz:{path}")
    assert d.input_shape == (4,) and d.test is None and d.num_classes == 2


@pytest.mark.parametrize(
    "arrays, expected",
    [
        ({"x": np.zeros((4, 3))}, "lacks array `y`"),
        ({"x": np.zeros((4, 3)), "y": np.zeros(4)}, "`y` is a float64 array"),
        ({"x": np.zeros((4, 3)), "y": np.zeros(3, int)}, "expected 4 integer class numbers"),
        ({"x": np.zeros((4, 3)), "y": np.array([0, 1, -1, 0])}, "negative class -1"),
        ({"x": np.zeros((4, 3)), "y": np.zeros(4, int), "x_test": np.zeros((2, 3))}, "without its partner"),
        ({"x": np.zeros((4, 3)), "y": np.zeros(4, int), "x_test": np.zeros((2, 5)), "y_test": np.zeros(2, int)},
         "examples are shaped (5,)"),
        ({"x": np.array(["a", "b"]), "y": np.zeros(2, int)}, "expected N > 0 real-valued examples"),
    ],
)
def test_npz_errors(tmp_path, arrays, expected):
    path = tmp_path / "bad.npz"
    np.savez(path, **arrays)
    err = error_of(load_dataset, f"npz:{path}")
    assert str(path) in err.message and expected in err.message + " ".join(err.notes)


def test_npz_not_an_archive(tmp_path):
    path = tmp_path / "junk.npz"
    path.write_bytes(b"not a zip at all")
    err = error_of(load_dataset, f"npz:{path}")
    assert err.message == f"{path} is not an .npz archive"
    assert err.notes[0] == "it is not a zip archive; np.savez writes one"
    assert "allow_pickle" not in err.render()  # numpy's advice to unpickle it is not passed on
    err = error_of(load_dataset, f"npz:{tmp_path / 'missing.npz'}")
    assert err.message.startswith("missing file") and "`x`" in err.notes[0]


# -- npz sequences: token ids and tokens ------------------------------------------------------------
def test_npz_token_ids_are_kept_exact(tmp_path):
    ids = np.random.default_rng(0).integers(0, 50, (40, 7))
    path = tmp_path / "ids.npz"
    np.savez(path, x=ids, y=np.arange(40) % 3, layout="ids")
    d = load_dataset(f"npz:{path}")
    assert d.input_shape == (7,) and d.vocab == int(ids.max()) + 1
    kept = torch.cat([d.train.x, d.val.x])
    assert sorted(map(tuple, kept.long().tolist())) == sorted(map(tuple, ids.tolist()))
    assert "token ids (0..49)" in d.describe()


def test_npz_tokens_are_normalised_per_feature(tmp_path):
    rng = np.random.default_rng(1)
    x = rng.normal(size=(50, 6, 3)) * np.array([1.0, 10.0, 100.0]) + np.array([5.0, -3.0, 7.0])
    path = tmp_path / "seq.npz"
    np.savez(path, x=x, y=np.arange(50) % 2, layout="tokens")
    d = load_dataset(f"npz:{path}")
    assert d.input_shape == (6, 3) and d.vocab is None  # a sequence, not a greyscale image
    features = d.train.x.reshape(-1, 3)
    assert torch.allclose(features.mean(0), torch.zeros(3), atol=1e-5)
    assert torch.allclose(features.std(0, unbiased=False), torch.ones(3), atol=1e-4)


@pytest.mark.parametrize(("arrays", "expected"), [
    ({"layout": "tokns"}, 'did you mean "tokens"?'),
    ({"layout": np.array(["ids", "ids"])}, "`layout` is not a string"),
    ({"layout": "ids", "x": np.zeros((4, 3))}, "must be integers"),
    ({"layout": "ids", "x": -np.ones((4, 3), dtype=int)}, "must be integers"),
    ({"layout": "tokens", "x": np.zeros((4, 3))}, "which is not tokens examples"),
])
def test_npz_layout_errors(tmp_path, arrays, expected):
    path = tmp_path / "bad.npz"
    np.savez(path, **{"x": np.zeros((4, 3, 2)), "y": np.arange(4), **arrays})
    err = error_of(load_dataset, f"npz:{path}")
    assert expected in err.render()


def test_an_embedding_is_checked_against_the_ids(tmp_path):
    import darchlang

    path = tmp_path / "ids.npz"
    np.savez(path, x=np.arange(80).reshape(20, 4), y=np.arange(20) % 2, layout="ids")
    ids = load_dataset(f"npz:{path}")
    program = "space = concat [\n    embedding(vocab: {v}, dim: 4),\n    token_pool(),\n]\n"
    arch = darchlang.load_string(program.format(v=80)).space.sample(seed=0)
    ids.check_feeds(arch)  # room for every id
    arch = darchlang.load_string(program.format(v=79)).space.sample(seed=0)
    err = error_of(ids.check_feeds, arch)
    assert (err.span.line, err.span.col) == (2, 5)
    assert "room for token ids 0..78, but the ids of" in err.message
    assert "set vocab to at least 80" in err.message
    np.savez(path, x=np.arange(80.0).reshape(20, 4), y=np.arange(20) % 2)  # features
    err = error_of(load_dataset(f"npz:{path}").check_feeds, arch)
    assert 'save ids in an .npz with layout="ids"' in err.message
