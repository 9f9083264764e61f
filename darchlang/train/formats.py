"""Readers for the standard dataset file formats, each returning plain numpy arrays.

Every reader checks what it reads and, when a file is missing, truncated or not what
it should be, raises a `DarchError` that names the file and says what was expected.
CIFAR-10's python batches are pickles: they go through `RestrictedUnpickler`, which
admits only the few numpy and codec globals a batch needs, so a crafted file cannot
run code.
"""

from __future__ import annotations

import gzip
import io
import pickle
from pathlib import Path
from typing import Any

import numpy as np

from darchlang.errors import DarchError

CIFAR_IMAGE_BYTES = 3 * 32 * 32
CIFAR_RECORD_BYTES = 1 + CIFAR_IMAGE_BYTES
CIFAR_TRAIN_BATCHES = 5


def read_bytes(path: Path, what: str) -> bytes:
    """A whole file, or a clear error saying which file was wanted for what."""
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise DarchError(f"missing file {path}", notes=[f"expected {what} here"]) from None
    except IsADirectoryError:
        raise DarchError(f"{path} is a directory", notes=[f"expected {what}"]) from None
    except OSError as err:
        raise DarchError(f"cannot read {path}: {err.strerror or err}") from None


# -- CIFAR-10, binary version ------------------------------------------------------------
def read_cifar_binary(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """One batch of the binary version: records of a label byte and 3072 pixel bytes.

    Returns images as uint8 (N, 3, 32, 32) and labels as int64 (N,).
    """
    data = read_bytes(path, "a CIFAR-10 binary batch")
    if not data or len(data) % CIFAR_RECORD_BYTES:
        raise DarchError(
            f"{path} is not a CIFAR-10 binary batch",
            notes=[
                f"expected records of {CIFAR_RECORD_BYTES} bytes (1 label byte and "
                f"{CIFAR_IMAGE_BYTES} pixel bytes); the file has {len(data)} bytes, "
                f"which is not a positive multiple of {CIFAR_RECORD_BYTES}"
            ],
        )
    records = np.frombuffer(data, dtype=np.uint8).reshape(-1, CIFAR_RECORD_BYTES)
    labels = records[:, 0].astype(np.int64)
    _check_labels(path, labels, 10, "the first byte of each record")
    images = records[:, 1:].reshape(-1, 3, 32, 32).copy()
    return images, labels


# -- CIFAR-10, python version ----------------------------------------------------------------
def _numpy_reconstruct() -> Any:
    core = getattr(np, "_core", None)
    if core is not None and hasattr(core, "multiarray"):
        return core.multiarray._reconstruct
    return np.core.multiarray._reconstruct  # numpy < 2


def _latin1_encode(text: str, encoding: str = "latin1") -> bytes:
    """What protocol-2 pickles use to rebuild `bytes`; only the latin-1 codec is allowed."""
    if not isinstance(text, str) or encoding.replace("-", "").lower() != "latin1":
        raise pickle.UnpicklingError("only latin-1 text may be turned into bytes")
    return text.encode("latin1")


class RestrictedUnpickler(pickle.Unpickler):
    """An unpickler that rebuilds dicts, lists, strings, bytes and numpy arrays only.

    A pickle may name any importable callable and call it; this one refuses every
    global except the numpy array constructors and the latin-1 codec, so loading a
    downloaded file cannot run its author's code.
    """

    def __init__(self, file: io.BufferedIOBase, path: Path):
        super().__init__(file, encoding="bytes")
        self.path = path
        reconstruct = _numpy_reconstruct()
        self.allowed = {
            ("numpy.core.multiarray", "_reconstruct"): reconstruct,
            ("numpy._core.multiarray", "_reconstruct"): reconstruct,
            ("numpy", "ndarray"): np.ndarray,
            ("numpy", "dtype"): np.dtype,
            ("_codecs", "encode"): _latin1_encode,
        }

    def find_class(self, module: str, name: str) -> Any:
        found = self.allowed.get((module, name))
        if found is None:
            raise DarchError(
                f"{self.path}: refusing to unpickle `{module}.{name}`",
                notes=[
                    "a CIFAR-10 python batch holds only a dict of bytes, strings, lists "
                    "and numpy arrays; loading anything else could run code from the file"
                ],
            )
        return found


def _get(batch: dict, key: str) -> Any:
    if key.encode() in batch:
        return batch[key.encode()]
    return batch.get(key)


def read_cifar_pickle(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """One batch of the python version: a pickled dict with `data` and `labels`.

    Returns images as uint8 (N, 3, 32, 32) and labels as int64 (N,).
    """
    raw = read_bytes(path, "a CIFAR-10 python batch (a pickled dict)")
    try:
        batch = RestrictedUnpickler(io.BytesIO(raw), path).load()
    except DarchError:
        raise
    except Exception as err:  # truncated or garbled pickles raise many kinds of errors
        raise DarchError(
            f"{path} is not a CIFAR-10 python batch",
            notes=[f"expected a pickled dict with `data` and `labels`; reading it failed: {err}"],
        ) from None
    expected = "expected a dict with `data` (uint8 array of N x 3072) and `labels` (N integers)"
    if not isinstance(batch, dict):
        raise DarchError(
            f"{path} is not a CIFAR-10 python batch",
            notes=[f"{expected}; the file holds a {type(batch).__name__}"],
        )
    data, labels = _get(batch, "data"), _get(batch, "labels")
    if data is None or labels is None:
        keys = ", ".join(sorted(k.decode() if isinstance(k, bytes) else str(k) for k in batch))
        raise DarchError(
            f"{path} is not a CIFAR-10 python batch",
            notes=[f"{expected}; its keys are: {keys or '(none)'}"],
        )
    if (
        not isinstance(data, np.ndarray)
        or data.dtype != np.uint8
        or data.ndim != 2
        or data.shape[1] != CIFAR_IMAGE_BYTES
    ):
        got = (
            f"{data.dtype} array of shape {data.shape}"
            if isinstance(data, np.ndarray)
            else type(data).__name__
        )
        raise DarchError(
            f"{path}: `data` is not CIFAR-10 images",
            notes=[f"expected a uint8 array of shape (N, {CIFAR_IMAGE_BYTES}); got a {got}"],
        )
    if not isinstance(labels, list | np.ndarray) or len(labels) != len(data):
        got = f"{len(labels)} labels" if isinstance(labels, list | np.ndarray) else type(labels).__name__
        raise DarchError(
            f"{path}: `labels` does not match `data`",
            notes=[f"expected a list of {len(data)} integers; got {got}"],
        )
    try:
        label_array = np.asarray(labels)
    except (TypeError, ValueError):
        label_array = np.asarray([], dtype=object)
    if label_array.dtype.kind not in "iu":
        raise DarchError(f"{path}: `labels` must be integers", notes=["expected class numbers 0-9"])
    label_array = label_array.astype(np.int64)
    _check_labels(path, label_array, 10, "`labels`")
    return data.reshape(-1, 3, 32, 32), label_array


def _check_labels(path: Path, labels: np.ndarray, classes: int, where: str) -> None:
    bad = np.flatnonzero((labels < 0) | (labels >= classes))
    if bad.size:
        i = int(bad[0])
        raise DarchError(
            f"{path}: label {int(labels[i])} of example {i} is not a class 0-{classes - 1}",
            notes=[f"{where} should hold the class; is this really a CIFAR-10 file?"],
        )


def find_cifar10(data_dir: Path) -> tuple[list[Path], Path, str]:
    """Locate CIFAR-10's batches under `data_dir`: (train files, test file, version).

    Looks in `data_dir` itself and in the folders the official archives unpack to,
    preferring the binary version when both are present.
    """
    places = [data_dir, data_dir / "cifar-10-batches-bin", data_dir / "cifar-10-batches-py"]
    for version, suffix in (("binary", ".bin"), ("python", "")):
        for place in places:
            first = place / f"data_batch_1{suffix}"
            if first.is_file():
                train = [place / f"data_batch_{i}{suffix}" for i in range(1, CIFAR_TRAIN_BATCHES + 1)]
                test = place / f"test_batch{suffix}"
                for path in [*train, test]:
                    if not path.is_file():
                        raise DarchError(
                            f"missing file {path}",
                            notes=[
                                f"found {first.name}, so expected the rest of CIFAR-10's "
                                f"{version} version beside it: "
                                + ", ".join(p.name for p in [*train, test])
                            ],
                        )
                return train, test, version
    raise DarchError(
        f"no CIFAR-10 files in {data_dir}",
        notes=[
            "expected data_batch_1.bin ... data_batch_5.bin and test_batch.bin (the binary "
            "version) or data_batch_1 ... data_batch_5 and test_batch (the python version), "
            "in that folder or in its cifar-10-batches-bin / cifar-10-batches-py folder"
        ],
        help="unpack cifar-10-binary.tar.gz or cifar-10-python.tar.gz there; darchlang never downloads data",
    )


# -- IDX (MNIST, Fashion-MNIST) ---------------------------------------------------------------
IDX_TYPES = {
    0x08: np.dtype(np.uint8),
    0x09: np.dtype(np.int8),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}


def read_idx(path: Path, ndim: int, what: str) -> np.ndarray:
    """An IDX array (gzip-compressed or not) with `ndim` dimensions.

    IDX is a 4-byte magic number (two zero bytes, a type code, the number of
    dimensions), one big-endian int32 per dimension, then the data.
    """
    raw = read_bytes(path, what)
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError) as err:
            raise DarchError(
                f"{path} is a damaged gzip file", notes=[f"decompressing it failed: {err}"]
            ) from None
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in IDX_TYPES:
        raise DarchError(
            f"{path} is not an IDX file",
            notes=[
                f"expected {what}: an IDX file starts with two zero bytes, a type code "
                "(0x08 for unsigned bytes) and the number of dimensions"
            ],
        )
    dtype, dims = IDX_TYPES[raw[2]], raw[3]
    if dims != ndim:
        raise DarchError(
            f"{path} holds a {dims}-dimensional array", notes=[f"expected {what}, with {ndim} dimensions"]
        )
    header = 4 + 4 * dims
    if len(raw) < header:
        raise DarchError(f"{path} is truncated", notes=["the file ends inside its IDX header"])
    shape = tuple(int(d) for d in np.frombuffer(raw, dtype=">u4", count=dims, offset=4))
    need = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if len(raw) - header != need:
        size = " x ".join(str(d) for d in shape)
        raise DarchError(
            f"{path} is truncated" if len(raw) - header < need else f"{path} has extra bytes",
            notes=[
                f"its header promises {size} values of type {dtype.name} ({need} bytes of data); "
                f"the file has {len(raw) - header}"
            ],
        )
    return np.frombuffer(raw, dtype=dtype, offset=header).reshape(shape)


IDX_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}


def find_idx_file(places: list[Path], stem: str) -> Path:
    """`stem` or `stem.gz` in the first place that has it (the names MNIST ships with)."""
    for place in places:
        for name in (stem, f"{stem}.gz"):
            if (place / name).is_file():
                return place / name
    raise DarchError(
        f"missing file {places[0] / stem}",
        notes=[
            "expected the four IDX files, gzip-compressed or not: "
            + ", ".join(n for pair in IDX_FILES.values() for n in pair),
            "looked in " + ", ".join(str(p) for p in places),
        ],
        help="darchlang never downloads data; point --data-dir at the folder holding these files",
    )


def read_idx_pair(places: list[Path], split: str) -> tuple[np.ndarray, np.ndarray]:
    """Images (N, 1, H, W) and labels (N,) of one split of an MNIST-style dataset."""
    image_stem, label_stem = IDX_FILES[split]
    image_path = find_idx_file(places, image_stem)
    label_path = find_idx_file(places, label_stem)
    images = read_idx(image_path, 3, "images: an N x height x width array")
    labels = read_idx(label_path, 1, "labels: a vector of N class numbers")
    if len(images) != len(labels):
        raise DarchError(
            f"{image_path} and {label_path} do not match",
            notes=[f"{len(images)} images but {len(labels)} labels"],
        )
    labels = labels.astype(np.int64)
    _check_labels(label_path, labels, 10, "each byte")
    return images[:, None, :, :], labels
