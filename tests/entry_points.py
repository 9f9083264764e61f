"""Drive a program through every front-end path the commands take, for fault tests."""

import json

import darchlang


def every_path(text: str, name: str = "t.darch", seeds: int = 3) -> None:
    """Load, count, sample, print, JSON, replay and uniform sampling, as the commands do;
    raises whatever they raise."""
    space = darchlang.load_string(text, name).space
    space.count()
    for seed in range(seeds):
        arch = space.sample(seed)
        json.dumps(arch.to_json())
        assert space.replay(arch.decisions).text == arch.text
    space.sample_uniform(0)
