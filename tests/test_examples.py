"""Every example loads, counts as documented, samples and prints back."""

import subprocess
import sys
from pathlib import Path

import pytest

import darchlang
from darchlang.syntax.formatter import format_source

COUNTS = {
    "cifar10_simple.darch": 2025,
    "cifar10_complex.darch": 278_628_139_008,
    "cifar10_joint.darch": 1_141_260_857_376_768,
    "shared_choices.darch": 42,
    "derived_values.darch": 6,
    "imports.darch": 48,
    "nasbench201.darch": 15_625,
    "resnet.darch": 54,
    "inception.darch": 4096,
    "digits.darch": 16_848,
    "mobilenet.darch": 23_328,
    "vit.darch": 1_008,
}


@pytest.mark.parametrize("name", sorted(COUNTS))
def test_example(name):
    space = darchlang.load_file(Path("examples") / name).space
    assert space.count() == COUNTS[name]
    arch = space.sample(0)
    assert darchlang.load_string(arch.text).space.count() == 1


def test_every_example_is_listed():
    assert {p.name for p in Path("examples").glob("*.darch")} == set(COUNTS)


@pytest.mark.parametrize("name", sorted(COUNTS))
def test_every_example_is_in_the_canonical_layout(name):
    """A reader copies an example's layout: `darch fmt` leaves each one as it is."""
    text = (Path("examples") / name).read_text()
    assert format_source(text, name) == text


@pytest.mark.parametrize("name", ["digits.darch", "mobilenet.darch", "vit.darch"])
def test_the_digits_examples_compile_for_the_input_they_declare(name):
    """The examples written for the 8x8 digits say so (`# darch: input 1x8x8`), and
    every architecture of theirs compiles for it, so `darch search` trains them all."""
    source = Path("examples") / name
    assert "# darch: input 1x8x8" in source.read_text()
    done = subprocess.run([sys.executable, "-m", "darchlang.cli", "check", "--shapes", str(source)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and done.stdout.startswith("all "), done.stderr


def test_simple_space_choices_are_the_reference_ones():
    space = darchlang.load_file("examples/cifar10_simple.darch").space
    options = {c.name: [o.value for o in c.options] for c in space.choices}
    assert list(options.values()) == [
        [32, 48, 64, 96, 128], [1, 3, 5], [32, 48, 64, 96, 128], [1, 3, 5],
        [256, 512, 1024], [0.25, 0.5, 0.75],
    ]


def test_joint_space_settings():
    import numpy as np

    space = darchlang.load_file("examples/cifar10_joint.darch").space
    train = {c.name.split("/", 1)[1]: [o.value for o in c.options]
             for c in space.choices if c.name.startswith("train/")}
    assert train["optimizer"] == ["adam", "sgd_mom"]
    assert np.allclose(train["learning_rate_init"], np.logspace(-2, -7, 32))
    assert np.allclose(train["rate_mult"], np.logspace(-2, np.log10(0.9), 8))
    assert train["rate_patience"] == list(range(4, 33, 4))
    arch = space.sample(1)
    assert arch.hyperparams["stop_patience"] == 64
    assert arch.hyperparams["learning_rate_min"] == 1e-9
