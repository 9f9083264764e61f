"""A layer without choices keeps its printed text for the space's later walks
(`arch.Layer.text`): what a search prints must be what the printer writes afresh."""

from __future__ import annotations

from pathlib import Path

import pytest

import darchlang
from darchlang.arch.graph import layers_of
from darchlang.arch.printer import architecture_text

ROOT = Path(__file__).resolve().parent.parent
FILES = sorted((ROOT / "examples").glob("*.darch")) + [ROOT / "stdlib" / "nasbench201.darch",
                                                        ROOT / "stdlib" / "darts.darch"]


def space_of(path):
    """The file's space; a library file (functions, no `space`) has none to walk."""
    try:
        return darchlang.load_file(path).space
    except darchlang.DarchError:
        pytest.skip("a library file without a `space`")


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_kept_texts_print_as_the_printer_does(path):
    space = space_of(path)
    for seed in range(6):
        arch = space.sample(seed)
        kept = arch.text
        layers = list(layers_of(arch.network))
        assert any(layer.text is not None for layer in layers) or not layers
        for layer in layers:
            layer.text = None
        assert architecture_text(arch) == kept


def test_a_layer_with_a_choice_prints_the_option_taken():
    space = darchlang.load_string(
        "space = concat [conv2d(filters: one_of(8, 16), size: 3), relu()]\n").space
    texts = {space.replay([d]).text for d in (0, 1, 0, 1)}
    assert len(texts) == 2
    conv, relu = layers_of(space.replay([1]).network)
    assert conv.text.startswith("conv2d(filters: 16, size: 3") and relu.text == "relu()"


def test_a_layer_with_choices_keeps_a_text_per_options_taken():
    space = darchlang.load_string(
        "w = one_of(8, 16)\n"
        "space = concat [conv2d(filters: w, size: 3),\n"
        "                conv2d(filters: if w > 8 then one_of(4, 5) else 2 * w, size: 1)]\n").space
    texts = {}
    for seed in range(40):
        arch = space.sample(seed)
        texts[tuple(arch.decisions)] = arch.text
    assert len(texts) == 3  # w = 8; w = 16 with 4 or with 5
    for decisions, text in texts.items():
        arch = space.replay(list(decisions))
        for layer in layers_of(arch.network):
            layer.text = None
        assert architecture_text(arch) == text


@pytest.mark.parametrize("path", FILES[:4], ids=lambda p: p.name)
def test_sampling_draws_what_draw_does(path):
    """`Space.sample` draws each option as `walk.draw` does, from the same stream."""
    import random

    from darchlang.space.walk import draw

    space = space_of(path)
    for seed in range(20):
        rng = random.Random(seed)
        assert space.sample(seed).decisions == space.walk(lambda c: draw(c, rng)).decisions  # noqa: B023
