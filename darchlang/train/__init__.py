"""Training and scoring architectures: the evaluator, datasets, augmentation, results.

    from darchlang.train import ClassifierEvaluator, load_dataset
    evaluator = ClassifierEvaluator(load_dataset("digits"), {"max_epochs": 10})
    result = evaluator.evaluate(architecture)   # an EvalResult, never an exception

Names resolve lazily (PEP 562): `darchlang.train.result` is imported by searchers and
journals that must not pay for importing torch.
"""

from __future__ import annotations

from darchlang.lazy import lazy_exports

_EXPORTS = {
    "EvalResult": "result",
    "ClassifierEvaluator": "evaluator",
    "accuracy": "evaluator",
    "build_optimizer": "evaluator",
    "Settings": "settings",
    "Schedule": "schedule",
    "ProgressEvent": "progress",
    "ProgressBar": "progress",
    "Augment": "augment",
    "Dataset": "data",
    "Split": "data",
    "build_dataset": "data",
    "list_datasets": "data",
    "load_dataset": "data",
}

__all__ = sorted(_EXPORTS)


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals())
