"""Datasets held in memory as tensors, ready to be indexed a batch at a time.

A `Dataset` is three splits of normalised float32 examples with int64 labels, plus
what a model needs to know about them: the input shape (channels first, no batch
dimension) and the number of classes. Keeping everything in one tensor per split lets
the training loop take a batch with one `index_select`, with no loader processes and
no per-example Python.

Datasets are named by a spec string, `NAME` or `npz:PATH`; `load_dataset(spec,
data_dir)` reads one. The built-in `digits` ships with scikit-learn, so it needs no
download; the others read the standard files a user already has. darchlang never
downloads data.

Splits: a dataset that comes without a validation split gives up a fixed 10% of its
training examples, chosen by a permutation with a fixed seed, so every run and every
architecture is scored on the same examples. Normalisation subtracts the per-channel
mean of the training split and divides by its standard deviation.
"""

from __future__ import annotations

import difflib
import zipfile
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import torch

from darchlang.arch.graph import Architecture, layers_of
from darchlang.environment import DatasetDef, Environment, resolve
from darchlang.errors import DarchError
from darchlang.train import formats
from darchlang.train.augment import NO_AUGMENT, Augment

VAL_FRACTION = 0.1
SPLIT_SEED = 0


@dataclass
class Split:
    """Examples `x` (float32, (N, *input_shape)) and their classes `y` (int64, (N,))."""

    x: torch.Tensor
    y: torch.Tensor

    def __len__(self) -> int:
        return int(self.y.shape[0])

    def to(self, device: torch.device | str) -> Split:
        return Split(self.x.to(device), self.y.to(device))


@dataclass
class Dataset:
    """Train, validation and (optionally) test splits, and what a model must fit.

    `augment` is the dataset's standard training augmentation (CIFAR-10's padding,
    crop and flip; nothing for digits, whose orientation matters). `vocab` is set for
    examples of token ids (one more than the largest id), which are kept as they are.
    """

    name: str
    train: Split
    val: Split
    test: Split | None
    num_classes: int
    augment: Augment = field(default=NO_AUGMENT)
    source: str = ""
    vocab: int | None = None

    @property
    def input_shape(self) -> tuple[int, ...]:
        """One example's shape without the batch dimension, e.g. (3, 32, 32)."""
        return tuple(int(d) for d in self.train.x.shape[1:])

    @property
    def device(self) -> torch.device:
        return self.train.x.device

    def to(self, device: torch.device | str) -> Dataset:
        """The same dataset with every split on `device` (a no-op when already there)."""
        if torch.device(device) == self.device:
            return self
        test = self.test.to(device) if self.test is not None else None
        return replace(self, train=self.train.to(device), val=self.val.to(device), test=test)

    def check_feeds(self, architecture: Architecture) -> None:
        """A `DarchError` at the layer when this dataset's token ids overflow one of
        the architecture's `embedding` tables (torch would raise an unlocated
        IndexError on the CPU, and a device-side assert on a GPU), or when an `embedding`
        would read examples that are not ids."""
        for layer in layers_of(architecture.network):
            if layer.kind != "embedding":
                continue
            if self.vocab is None:
                raise DarchError(
                    f"`embedding` looks up token ids, but the examples of `{self.name}` are "
                    f"not ids: save ids in an .npz with layout=\"ids\"", span=layer.span)
            if layer.attrs.get("vocab", self.vocab) < self.vocab:
                raise DarchError(
                    f"`embedding` has room for token ids 0..{layer.attrs['vocab'] - 1}, but "
                    f"the ids of `{self.name}` go up to {self.vocab - 1}: set vocab to at "
                    f"least {self.vocab}", span=layer.span)

    def describe(self) -> str:
        """A one-line summary for the command line."""
        sizes = f"{len(self.train)} train / {len(self.val)} val"
        if self.test is not None:
            sizes += f" / {len(self.test)} test"
        shape = "x".join(str(d) for d in self.input_shape)
        ids = f" token ids (0..{self.vocab - 1})" if self.vocab is not None else ""
        return f"{self.name}: {sizes}, inputs {shape}{ids}, {self.num_classes} classes"


# -- building a dataset from arrays -----------------------------------------------------------
def split_off_validation(n: int, fraction: float = VAL_FRACTION) -> tuple[np.ndarray, np.ndarray]:
    """Indices (train, val) with a fixed `fraction` of `n` held out, the same every run."""
    if n < 2:
        raise DarchError(f"a dataset needs at least 2 training examples to hold some out; it has {n}")
    n_val = min(n - 1, max(1, round(n * fraction)))
    order = np.random.default_rng(SPLIT_SEED).permutation(n)
    return np.sort(order[n_val:]), np.sort(order[:n_val])


def _channel_stats(x: torch.Tensor, channel: int = 1) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean and standard deviation per channel (dim `channel`: 1 for images and
    feature vectors, the last for tokens), shaped to broadcast over x."""
    dims = [d for d in range(x.dim()) if d != channel % x.dim()]
    xs = x.double()
    mean = xs.mean(dim=dims, keepdim=True)
    std = xs.std(dim=dims, keepdim=True, unbiased=False)
    std = torch.where(std > 1e-12, std, torch.ones_like(std))
    return mean.float(), std.float()


def build_dataset(
    name: str,
    train: tuple[np.ndarray, np.ndarray],
    test: tuple[np.ndarray, np.ndarray] | None,
    *,
    val: tuple[np.ndarray, np.ndarray] | None = None,
    num_classes: int | None = None,
    augment: Augment = NO_AUGMENT,
    source: str = "",
    layout: str = "image",
) -> Dataset:
    """Normalise arrays with the training split's statistics and wrap them as tensors.

    `x` arrays are (N, C, H, W) images or (N, D) feature vectors (layout "image" or
    "features"), (N, T, D) sequences of tokens ("tokens", normalised per feature) or
    (N, T) token ids ("ids", kept exact: float32 holds every id below 2**24), any real
    dtype; `y` arrays hold class numbers 0..K-1. Without `val`, a fixed 10% of `train`
    is held out.
    """
    x_train, y_train = train
    if val is None:
        keep, held = split_off_validation(len(y_train))
        val = (x_train[held], y_train[held])
        x_train, y_train = x_train[keep], y_train[keep]
    arrays = {"train": (x_train, y_train), "val": val}
    if test is not None:
        arrays["test"] = test
    if num_classes is None:
        num_classes = int(max(int(y.max()) for _, y in arrays.values() if len(y))) + 1
    tensors = {  # copies, so normalising in place never touches the caller's arrays
        k: torch.from_numpy(np.array(x, dtype=np.float32, order="C", copy=True))
        for k, (x, _) in arrays.items()
    }
    vocab = None
    if layout == "ids":
        vocab = int(max(int(x.max()) for x, _ in arrays.values() if len(x))) + 1
    else:
        mean, std = _channel_stats(tensors["train"], -1 if layout == "tokens" else 1)
    splits = {}
    for key, (_, y) in arrays.items():
        x = tensors[key]
        if vocab is None:
            x.sub_(mean).div_(std)
        splits[key] = Split(x, torch.from_numpy(np.array(y, dtype=np.int64, copy=True)))
    augment.check_shape(tuple(splits["train"].x.shape[1:]))
    return Dataset(
        name,
        splits["train"],
        splits["val"],
        splits.get("test"),
        num_classes,
        augment,
        source,
        vocab,
    )


# -- by name (the datasets live in an Environment) ------------------------------------------------


def list_datasets(env: Environment | None = None) -> list[DatasetDef]:
    """Every registered dataset, by name (the `npz:PATH` form is not a registered name)."""
    datasets = _env(env).datasets
    return [datasets[k] for k in sorted(datasets)]


def _env(env: Environment | None) -> Environment:
    from darchlang.environment import default_environment

    return env or default_environment()


def load_dataset(spec: str, data_dir: str | Path | None = None,
                 env: Environment | None = None) -> Dataset:
    """Read the dataset a spec names: a registered NAME, or `npz:PATH` for any arrays."""
    if spec.startswith("npz:"):
        path = Path(spec[4:]).expanduser()
        if not path.is_absolute() and data_dir is not None:
            path = Path(data_dir).expanduser() / path
        return load_npz(path)
    datasets = _env(env).datasets
    found = datasets.get(spec)
    if found is None:
        close = difflib.get_close_matches(spec, list(datasets), n=1, cutoff=0.5)
        raise DarchError(
            f"unknown dataset `{spec}`",
            help=f"did you mean `{close[0]}`?" if close else None,
            notes=["known datasets: " + ", ".join(sorted(datasets)) + ", and npz:PATH"],
        )
    if found.needs_dir:
        if data_dir is None:
            raise DarchError(
                f"dataset `{spec}` is read from files: give the folder that holds them",
                help=f"--dataset {spec} --data-dir DIR (darchlang never downloads data)",
            )
        directory = Path(data_dir).expanduser()
        if not directory.is_dir():
            raise DarchError(
                f"data folder {directory} does not exist",
                notes=[f"expected the `{spec}` files in it"],
            )
        return resolve(found.load)(directory)
    return resolve(found.load)(None if data_dir is None else Path(data_dir).expanduser())


# -- the datasets ------------------------------------------------------------------------------------
def load_digits(data_dir: Path | None = None) -> Dataset:
    """The built-in default: ships with scikit-learn, so a first run needs no download."""
    from sklearn.datasets import load_digits as sklearn_digits

    bunch = sklearn_digits()
    x = bunch.images.astype(np.float32)[:, None, :, :]  # (1797, 1, 8, 8), values 0..16
    y = bunch.target.astype(np.int64)
    order = np.random.default_rng(SPLIT_SEED).permutation(len(y))
    n_val = n_test = round(len(y) * 0.2)
    test, val, train = order[:n_test], order[n_test : n_test + n_val], order[n_test + n_val :]
    return build_dataset(
        "digits",
        (x[train], y[train]),
        (x[test], y[test]),
        val=(x[val], y[val]),
        num_classes=10,
        source="sklearn.datasets.load_digits",
    )


CIFAR_AUGMENT = Augment(pad=4, p_flip=0.5)


def load_cifar10(data_dir: Path) -> Dataset:
    """CIFAR-10 with DeepArchitect's augmentation (pad 4, random crop, flip p=0.5)."""
    train_files, test_file, version = formats.find_cifar10(data_dir)
    read = formats.read_cifar_binary if version == "binary" else formats.read_cifar_pickle
    parts = [read(p) for p in train_files]
    x = np.concatenate([p[0] for p in parts])
    y = np.concatenate([p[1] for p in parts])
    return build_dataset(
        "cifar10",
        (x, y),
        read(test_file),
        num_classes=10,
        augment=CIFAR_AUGMENT,
        source=f"{test_file.parent} ({version} version)",
    )


def _load_idx_dataset(name: str, data_dir: Path, torchvision_folder: str) -> Dataset:
    places = [data_dir, data_dir / name, data_dir / torchvision_folder / "raw"]
    return build_dataset(
        name,
        formats.read_idx_pair(places, "train"),
        formats.read_idx_pair(places, "test"),
        num_classes=10,
        source=str(data_dir),
    )


def load_mnist(data_dir: Path) -> Dataset:
    return _load_idx_dataset("mnist", data_dir, "MNIST")


def load_fashion_mnist(data_dir: Path) -> Dataset:
    return _load_idx_dataset("fashion-mnist", data_dir, "FashionMNIST")


# -- npz ------------------------------------------------------------------------------------------------
NPZ_LAYOUT = (
    "expected arrays `x` (N examples: images (N, C, H, W), (N, H, W, C) or (N, H, W), "
    "feature vectors (N, D), integer token ids (N, T) with layout=\"ids\", or sequences of "
    "feature vectors (N, T, D) with layout=\"tokens\") "
    "and `y` (N class numbers 0..K-1); optional `x_val`/`y_val`, `x_test`/`y_test` and "
    "`layout` (\"image\", \"features\", \"tokens\" or \"ids\")"
)
NPZ_LAYOUTS = {"image": (3, 4), "features": (2,), "tokens": (3,), "ids": (2,)}
MAX_TOKEN_ID = 2**24  # float32 holds every integer below it exactly


def _channels_first(x: np.ndarray) -> np.ndarray:
    """Images as (N, C, H, W): greyscale gains a channel, channels-last is transposed."""
    if x.ndim == 3:
        return x[:, None, :, :]
    if x.ndim == 4 and x.shape[3] in (1, 3) and x.shape[1] not in (1, 3):
        return x.transpose(0, 3, 1, 2)
    return x


def _npz_layout(path: Path, archive: np.lib.npyio.NpzFile, x: np.ndarray) -> str:
    """The layout an archive's `layout` array names, else the one `x` reads as: (N, D)
    arrays are features and the rest images. Token ids and sequences of feature
    vectors must say so: (N, T) ids are shaped like features (flattened 8-bit images
    are integers too), and (N, T, D) tokens like greyscale images."""
    if "layout" not in archive.files:
        return "features" if x.ndim == 2 else "image"
    try:
        given = archive["layout"]
    except ValueError:  # an object array, which is never unpickled
        given = None
    name = str(given) if given is not None and given.shape == () and given.dtype.kind == "U" \
        else None
    if name not in NPZ_LAYOUTS:
        close = difflib.get_close_matches(name or "", list(NPZ_LAYOUTS), n=1)
        shown = f'"{name}"' if name is not None else "not a string"
        raise DarchError(
            f"{path}: `layout` is {shown}, not a layout darchlang knows",
            help=f"did you mean \"{close[0]}\"?" if close else None,
            notes=["a layout is one of " + ", ".join(f'"{k}"' for k in NPZ_LAYOUTS)])
    return name


def load_npz(path: Path) -> Dataset:
    """Any arrays: `x` and `y`, with optional `x_val`/`y_val`, `x_test`/`y_test` and
    `layout`."""
    if not path.is_file():
        raise DarchError(f"missing file {path}", notes=[f"expected an .npz archive: {NPZ_LAYOUT}"])
    try:
        archive = np.load(path, allow_pickle=False)
    except (ValueError, OSError, zipfile.BadZipFile, EOFError) as err:
        # numpy reads a file that is not a zip archive as a pickle, which is refused;
        # its advice (load it with allow_pickle=True) is not advice to pass on
        why = "it is not a zip archive" if "pickle" in str(err) else f"reading it failed: {err}"
        raise DarchError(
            f"{path} is not an .npz archive",
            notes=[f"{why}; np.savez writes one", NPZ_LAYOUT]) from None
    if not isinstance(archive, np.lib.npyio.NpzFile):
        raise DarchError(f"{path} is a single .npy array, not an .npz archive", notes=[NPZ_LAYOUT])
    with archive:
        names = set(archive.files)
        if not {"x", "y"} <= names:
            raise DarchError(
                f"{path} lacks array `{'x' if 'x' not in names else 'y'}`",
                notes=[f"its arrays: {', '.join(sorted(names)) or '(none)'}", NPZ_LAYOUT],
            )
        pairs: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        for split, (xk, yk) in {"train": ("x", "y"), "val": ("x_val", "y_val"), "test": ("x_test", "y_test")}.items():
            if (xk in names) != (yk in names):
                raise DarchError(f"{path} has `{xk if xk in names else yk}` without its partner", notes=[NPZ_LAYOUT])
            if xk in names:
                try:
                    pairs[split] = (archive[xk], archive[yk])
                except ValueError as err:
                    raise DarchError(f"{path}: cannot read `{xk}`/`{yk}`: {err}", notes=[NPZ_LAYOUT]) from None
        layout = _npz_layout(path, archive, pairs["train"][0])
    shape = None
    for split, (x, y) in pairs.items():
        xk = "x" if split == "train" else f"x_{split}"
        yk = "y" if split == "train" else f"y_{split}"
        if x.dtype.kind not in "biuf" or x.ndim not in (2, 3, 4) or len(x) == 0:
            raise DarchError(
                f"{path}: `{xk}` is a {x.dtype} array of shape {x.shape}",
                notes=["expected N > 0 real-valued examples", NPZ_LAYOUT],
            )
        if y.dtype.kind not in "iu" or y.ndim != 1 or len(y) != len(x):
            raise DarchError(
                f"{path}: `{yk}` is a {y.dtype} array of shape {y.shape}",
                notes=[f"expected {len(x)} integer class numbers, one per example of `{xk}`"],
            )
        if y.min() < 0:
            raise DarchError(f"{path}: `{yk}` has a negative class {int(y.min())}", notes=[NPZ_LAYOUT])
        if x.ndim not in NPZ_LAYOUTS[layout]:
            raise DarchError(
                f"{path}: `{xk}` has shape {x.shape}, which is not {layout} examples",
                notes=[NPZ_LAYOUT])
        if layout == "ids" and (x.dtype.kind not in "biu" or x.min() < 0
                                or x.max() >= MAX_TOKEN_ID):
            raise DarchError(
                f"{path}: `{xk}` holds token ids, which must be integers 0..{MAX_TOKEN_ID - 1}",
                notes=[f"it is a {x.dtype} array from {x.min()} to {x.max()}"])
        if layout == "image":
            x = _channels_first(x)
        if shape is not None and x.shape[1:] != shape:
            raise DarchError(
                f"{path}: `{xk}` examples are shaped {x.shape[1:]}, but `x` examples {shape}"
            )
        shape = x.shape[1:]
        pairs[split] = (x, y.astype(np.int64))
    return build_dataset(
        f"npz:{path}",
        pairs["train"],
        pairs.get("test"),
        val=pairs.get("val"),
        source=str(path),
        layout=layout,
    )
