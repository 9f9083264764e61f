"""Training and scoring architectures: the evaluator, datasets, augmentation, results.

    from darchlang.train.data import load_dataset
    from darchlang.train.evaluator import ClassifierEvaluator
    evaluator = ClassifierEvaluator(load_dataset("digits"), {"max_epochs": 10})
    result = evaluator.evaluate(architecture)   # an EvalResult, never an exception

Each name is imported from the module that defines it; this package's own import
imports nothing, so searchers and journals read results and settings without torch:
`result` (`EvalResult`), `settings` (`Settings`), `schedule` (`Schedule`), `budget`,
`progress` (`ProgressEvent`, `ProgressBar`). These import torch: `evaluator`
(`ClassifierEvaluator`, `accuracy`, `build_optimizer`), `data` (`load_dataset`,
`Dataset`, `Split`, `build_dataset`, `list_datasets`) and `augment` (`Augment`).
"""
