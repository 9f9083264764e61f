"""Taking a search's result home: the architecture with the settings it really trained
with, its trained weights, a standalone PyTorch file that loads them, and ONNX.

`darch export runs/x.db --rank 1 -o best/` writes into `best/`:

- `architecture.darch`: the architecture as darchlang text, its `train` block holding
  the settings the evaluation used, command-line overrides included (`max_epochs: 3`
  after `--max-epochs 3`, not the program's 15);
- `checkpoint.pt`: the weights, from the checkpoint that `darch search --keep-best K`
  kept, or trained again with the evaluation's seed and settings (`--retrain`), which
  on the CPU reproduces the journal's score; loadable with `weights_only=True`;
- `model.py`: the standalone module (needs only torch) with a `load()` that returns
  it with those weights;
- `model.onnx`: the trained model in ONNX (eval mode, any batch size).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from darchlang.errors import DarchError

CHECKPOINTS_SUFFIX = ".best"


def checkpoint_dir(journal: str | Path) -> Path:
    """Where `--keep-best` keeps the checkpoints of a journal's best architectures."""
    journal = Path(journal)
    return journal.with_name(journal.name + CHECKPOINTS_SUFFIX)


def kept_checkpoint(journal: str | Path, identity: str) -> Path:
    return checkpoint_dir(journal) / f"{identity}.pt"


@dataclass
class Exported:
    folder: Path
    rank: int
    index: int
    score: float
    reproduced: float | None  # the score of the retrained model, when retrained
    files: list[Path]
    values: str = ""  # each objective's value, with several objectives (else empty)


def ranked(evaluations: list[Any], rank: int, objectives: Any = None) -> Any:
    """The evaluation at `rank` (1 is the best) among distinct successful architectures;
    with several objectives, ranks 1, 2, ... go along the Pareto front in the order of
    the first objective, then on to the next front (`darchlang.search.results.top`)."""
    from darchlang.search.results import top

    best = top([e for e in evaluations if e.done], max(rank, 1), objectives)
    if rank < 1 or rank > len(best):
        have = len(best)
        raise DarchError(
            f"there is no rank {rank}: the journal has {have} successful "
            f"architecture{'' if have == 1 else 's'}",
            help=f"give --rank between 1 and {have}" if have else
            "the search has no successful evaluation to export yet")
    return best[rank - 1]


def architecture_with_settings(text: str, settings: dict[str, Any]) -> Any:
    """The architecture of `text` whose `train` block is exactly `settings`, read from
    its own text as `architecture.darch`, so the `.darch` lines that `model.py` and
    errors name are lines of the exported file."""
    import darchlang

    arch = darchlang.load_string(text, "<journal>").space.sample(0)
    arch.hyperparams = dict(settings)
    arch._text = None  # print again with the settings it trained with
    return darchlang.load_string(arch.text, "architecture.darch").space.sample(0)


def standalone_source(model: Any, origin: str | None = None) -> str:
    """`emit_python`'s module, with a `load()` that puts the checkpoint's weights in it;
    `origin` says what it was exported from (the journal, rank and architecture)."""
    from darchlang.backends.torch.export import emit_python

    source = emit_python(model, origin=origin)
    head, _, _ = source.rpartition('if __name__ == "__main__":')
    return head + '''def load(path=None):
    """This network with the trained weights of `path` (default: checkpoint.pt beside
    this file), in eval mode."""
    import os

    path = path or os.path.join(os.path.dirname(os.path.abspath(__file__)), "checkpoint.pt")
    model = Model()
    state = torch.load(path, map_location="cpu", weights_only=True)
    model.load_state_dict(state["state_dict"])
    return model.eval()


if __name__ == "__main__":
    model = load()
    print(model)
'''


def export_best(journal: str | Path, folder: str | Path, rank: int = 1, retrain: bool = False,
                data_dir: str | None = None) -> Exported:
    """Write the files of the module docstring for the evaluation at `rank`."""
    import shutil

    import torch

    from darchlang.backends.torch.compiler import compile_architecture
    from darchlang.backends.torch.export import export_onnx
    from darchlang.search import Journal

    with Journal(journal, create=False) as j:
        evaluations = j.evaluations()
        config = j.config() or {}
    from darchlang.search.objectives import Objectives
    from darchlang.search.progress import objectives_text

    objectives = Objectives.from_config(config)
    e = ranked(evaluations, rank, objectives)
    arch = architecture_with_settings(e.text, e.settings)
    kept = kept_checkpoint(journal, e.identity)
    evaluator = (config.get("settings") or {}).get("evaluator", "classifier")
    if not kept.is_file() and evaluator != "classifier":
        raise DarchError(
            f"#{e.index} was scored by the evaluator `{evaluator}`, which keeps no trained "
            "weights: there is no model to export",
            help=f"`darch report {journal}` prints its architecture; a search with "
                 "--dataset NAME trains each architecture, and its export has the model")
    if not kept.is_file() and not retrain:  # before the folder: none is left empty
        raise DarchError(
            f"no trained weights of #{e.index} were kept ({kept} does not exist)",
            help="run the search with --keep-best K to keep the best models' weights, or "
                 "add --retrain to train this architecture again with its seed and settings")
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise DarchError(f"cannot create {folder}: {err.strerror or err}") from None
    ckpt = folder / "checkpoint.pt"
    reproduced = None
    if retrain:
        reproduced = _retrain(arch, config, e, ckpt, data_dir)
    else:
        shutil.copyfile(kept, ckpt)
        _rename_weights(arch, ckpt)
    state = torch.load(ckpt, map_location="cpu", weights_only=True)
    model = compile_architecture(arch, tuple(state["input_shape"]))
    model.load_state_dict(state["state_dict"])
    model.eval()
    files = [folder / "architecture.darch", ckpt, folder / "model.py", folder / "model.onnx"]
    files[0].write_text(arch.text)
    files[2].write_text(standalone_source(model, exported_from(journal, rank, e)))
    export_onnx(model, tuple(state["input_shape"]), files[3])
    values = objectives_text(objectives, e) if not objectives.default else ""
    return Exported(folder, rank, e.index, float(e.score), reproduced, files, values)


def exported_from(journal: str | Path, rank: int, e: Any) -> str:
    """`rank 1 (evaluation #7, architecture 3f2a...) of the search journal runs/x.db`:
    what a `model.py` was exported from, enough to find it again."""
    return (f"rank {rank} (evaluation #{e.index}, architecture {e.identity}) of the "
            f"search journal {Path(journal).resolve()}")


def fit_weights(model: Any, weights: dict[str, Any], name: str) -> dict[str, Any]:
    """`weights` named as `model` names its parameters, ready for `load_state_dict`.

    Module names come from program paths, and the same architecture built from another
    program (its text re-read alone, say) has other paths: `space/0/0/conv2d` in the
    searched program, `space/0/conv2d` in the exported text. The two models are the
    same network, so their tensors come in the same order with the same shapes; names
    that match are taken as they are, otherwise the order is used, checked entry by
    entry."""
    ours = model.state_dict()
    if set(ours) == set(weights):
        return weights
    if len(ours) != len(weights) or any(
            a.shape != b.shape for a, b in zip(ours.values(), weights.values(), strict=True)):
        raise DarchError(f"the weights in {name} do not fit this architecture",
                         help="they belong to another architecture: check the seed or "
                              "decisions, or export with --retrain")
    return dict(zip(ours, weights.values(), strict=True))


def _rename_weights(arch: Any, ckpt: Path) -> None:
    """Give a kept checkpoint the parameter names of the exported model."""
    import torch

    from darchlang.backends.torch.compiler import compile_architecture

    state = torch.load(ckpt, map_location="cpu", weights_only=True)
    model = compile_architecture(arch, tuple(state["input_shape"]))
    state["state_dict"] = fit_weights(model, state["state_dict"], ckpt.name)
    torch.save(state, ckpt)


def _retrain(arch: Any, config: dict[str, Any], e: Any, ckpt: Path,
             data_dir: str | None) -> float:
    """Train the architecture again as the search did; return the score it got."""
    from darchlang.train.data import load_dataset
    from darchlang.train.evaluator import ClassifierEvaluator

    settings = config.get("settings") or {}
    if settings.get("evaluator", "classifier") != "classifier":
        raise DarchError(f"--retrain trains with the built-in classifier; this search used "
                         f"the evaluator `{settings.get('evaluator')}`",
                         help="export from a search run with --keep-best K instead")
    dataset = load_dataset(settings.get("dataset", "digits"), data_dir)
    seed = int((e.metrics or {}).get("seed", settings.get("train_seed", 0)) or 0)
    evaluator = ClassifierEvaluator(dataset, e.settings, seed=seed, progress=False)
    result = evaluator.evaluate(arch, model_path=ckpt)
    if not result.ok:
        raise DarchError(f"retraining #{e.index} failed: {result.reason}")
    return float(result.score)
