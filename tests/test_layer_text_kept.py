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


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_kept_texts_print_as_the_printer_does(path):
    try:
        space = darchlang.load_file(path).space
    except darchlang.DarchError:
        pytest.skip("a library file without a `space`")
    for seed in range(6):
        arch = space.sample(seed)
        kept = arch.text
        layers = list(layers_of(arch.network))
        assert any(layer.text is not None for layer in layers) or not layers
        for layer in layers:
            layer.text = None
        assert architecture_text(arch) == kept


def test_a_layer_with_a_choice_prints_each_walk_afresh():
    space = darchlang.load_string(
        "space = concat [conv2d(filters: one_of(8, 16), size: 3), relu()]\n").space
    texts = {space.replay([d]).text for d in (0, 1)}
    assert len(texts) == 2
    conv, relu = layers_of(space.replay([1]).network)
    assert conv.text is None and relu.text == "relu()"
