"""A value the user writes is refused where it is written, before anything trains: the
`train` block's values over choices, the stdlib's squeeze-and-excitation ratio, the
Python evaluator's arguments, and input shapes (`--input`, `darch report --html`)."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

import darchlang
from darchlang.app.programs import all_errors_of, check_settings
from darchlang.errors import DarchError
from darchlang.layers.shapes import parse_shape

ROOT = Path(__file__).resolve().parents[1]
NET = "space = concat [conv2d(filters: 4, size: 3), global_avg_pool(), affine(units: 10)]\n"
HELP = "every value the choices allow must be valid here"


def darch(*args, cwd=None):
    env = dict(os.environ, PYTHONPATH=str(ROOT), OMP_NUM_THREADS="1")
    return subprocess.run([sys.executable, "-m", "darchlang.cli", *map(str, args)], cwd=cwd,
                          capture_output=True, text=True, timeout=300, env=env)


def settings_errors(block):
    program = darchlang.load_string(f"{NET}train = hyperparams {{\n{block}\n}}\n", "p.darch")
    return [(e.span.where, e.message) for e in all_errors_of(check_settings, program)]


# ---- the train block: every value a choice allows, each wrong one named -----------------
@pytest.mark.parametrize(("field", "where", "message"), [
    ("learning_rate_init: 0.1 / one_of(0, 1)", "p.darch:3:21",
     "division by zero, when `one_of(0, 1)` is 0"),
    ("batch_size: one_of(0, 32)", "p.darch:3:13",
     "training setting `batch_size` in the `train` block must be a positive integer, got 0, "
     "when `one_of(0, 32)` is 0"),
    ("max_epochs: one_of(-1, 2)", "p.darch:3:13",
     "training setting `max_epochs` in the `train` block must be a positive integer, got -1, "
     "when `one_of(-1, 2)` is -1"),
    ("weight_decay: 1e-4 * one_of(1, -1)", "p.darch:3:15",
     "training setting `weight_decay` in the `train` block must be a number >= 0, got -0.0001, "
     "when `one_of(1, -1)` is -1"),
    ("label_smoothing: one_of(0.1, 0.2) * 5", "p.darch:3:18",
     "training setting `label_smoothing` in the `train` block must be a number in [0, 1), "
     "got 1.0, when `one_of(0.1, 0.2)` is 0.2"),
])
def test_a_wrong_value_over_choices_is_an_error_naming_the_option(field, where, message):
    assert settings_errors(field) == [(where, message)]


def test_every_wrong_setting_is_reported_at_once():
    found = settings_errors("batch_size: one_of(0, 32),\nmax_epochs: 1 - one_of(1, 2)")
    assert [w for w, _ in found] == ["p.darch:3:13", "p.darch:4:13"]


def test_a_choice_shared_by_a_value_is_decided_once():
    """`a * 32 + (1 - a) * 16` is 32 or 16: the combination that gives 0 takes `a` as 0
    and as 1 at once, which no architecture does (it used to be refused)."""
    program = darchlang.load_string(
        f"{NET}a = one_of(0, 1)\ntrain = hyperparams {{ batch_size: a * 32 + (1 - a) * 16 }}\n")
    check_settings(program)
    space = program.space
    assert sorted(space.replay([i]).hyperparams["batch_size"] for i in (0, 1)) == [16, 32]


def test_a_setting_of_the_whole_search_stays_one_value():
    assert settings_errors('direction: one_of("maximize", "minimize")') == [
        ("p.darch:3:12", "`direction` belongs to the whole search, so it cannot be a choice")]
    assert settings_errors('direction: if 1 > 0 then "minimize" else "maximize"') == []


BROKEN = NET + "train = hyperparams {\n    max_epochs: 1,\n    learning_rate_init: 0.1 / one_of(0, 1),\n}\n"
SAID = "p.darch:4:25: error: division by zero, when `one_of(0, 1)` is 0\n"


def test_darch_check_shows_the_value_with_a_caret(tmp_path):
    (tmp_path / "p.darch").write_text(BROKEN)
    done = darch("check", "p.darch", cwd=tmp_path)
    assert done.returncode == 1 and done.stderr.startswith(SAID), done.stderr
    assert "^^^^^^^^^^^^^^^^^^" in done.stderr and HELP in done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.slow
@pytest.mark.parametrize("command", [["train", "--no-progress"],
                                     ["search", "--budget", "2", "--journal", "j.db"]])
def test_train_and_search_refuse_it_before_training(tmp_path, command):
    (tmp_path / "p.darch").write_text(BROKEN)
    done = darch(command[0], "p.darch", *command[1:], cwd=tmp_path)
    assert done.returncode == 1 and done.stderr.startswith(SAID), done.stderr
    assert not (tmp_path / "j.db").exists()


# ---- the stdlib's squeeze-and-excitation ratio ------------------------------------------
def mbconv(se):
    return darchlang.load_string('from "blocks" import inverted_residual\n'
                                 f"space = inverted_residual(6, 3, 16, se: {se})\n", "m.darch")


@pytest.mark.parametrize("se", ["true", "1", "4", "-0.25"])
def test_an_se_that_is_no_ratio_is_an_error_at_the_call(se):
    """`se: true` (the old switch) read as 1 made a gate as wide as the block's input;
    `se: 4` (the old reduction ratio) one four times wider."""
    with pytest.raises(DarchError) as info:
        _ = mbconv(se).space
    assert info.value.span.where == "m.darch:2:9"
    assert info.value.message.startswith("`se` is squeeze-and-excitation's ratio, at least 0 "
                                         "(no gate) and below 1: write `se: 0.25`")


def test_se_false_is_no_gate_and_a_choice_of_ratios_is_searched():
    assert mbconv("false").space.sample(0).identity == mbconv("0").space.sample(0).identity
    assert "squeeze" not in mbconv("0").space.sample(0).text
    space = mbconv("one_of(0, 0.25)").space
    texts = {space.replay([i]).text for i in (0, 1)}
    assert space.count() == 2 and len(texts) == 2
    assert any("conv2d(filters: 4, size: 1" in t for t in texts)  # 16 * 0.25


# ---- the Python evaluator's arguments ---------------------------------------------------
@pytest.mark.parametrize(("kwargs", "message"), [
    ({"seed": -1}, "ClassifierEvaluator(seed=...) must be an integer of at least 0"),
    ({"seed": 1.5}, "ClassifierEvaluator(seed=...) must be an integer of at least 0"),
    ({"seed": "3"}, "ClassifierEvaluator(seed=...) must be an integer of at least 0"),
    ({"seed": True}, "ClassifierEvaluator(seed=...) must be an integer of at least 0"),
    ({"device": "gpu"}, "unknown device `gpu`"),
    ({"device": "cuda:x"}, "unknown device `cuda:x`"),
    ({"device": 0}, "unknown device integer 0"),
    ({"device": "meta"}, "device `meta` is not supported"),
    ({"threads": 2.5}, "ClassifierEvaluator(threads=...) must be None or an integer of at least 1"),
    ({"threads": 0}, "ClassifierEvaluator(threads=...) must be None or an integer of at least 1"),
    ({"progress": "yes"}, "ClassifierEvaluator(progress=...) must be None, True or False"),
    ({"settings": {"batch_size": 0}}, "training setting `batch_size` in the evaluator's settings"),
    ({"settings": {"max_epochs": -1}}, "training setting `max_epochs` in the evaluator's settings"),
    ({"overrides": {"batch_size": 2.5}}, "training setting `batch_size` in the command line"),
    ({"settings": [("batch_size", 8)]}, "ClassifierEvaluator(settings=...) must be None, a Settings"),
])
def test_a_wrong_evaluator_argument_is_refused_when_it_is_made(kwargs, message):
    from darchlang.train.data import load_dataset
    from darchlang.train.evaluator import ClassifierEvaluator

    with pytest.raises(DarchError) as info:
        ClassifierEvaluator(load_dataset("digits"), **kwargs)
    assert info.value.message.startswith(message), info.value.message


def test_the_dataset_and_a_seed_for_one_evaluation_are_checked_too():
    from darchlang.train.data import load_dataset
    from darchlang.train.evaluator import ClassifierEvaluator

    with pytest.raises(DarchError, match=r"ClassifierEvaluator\(dataset=...\) must be a Dataset"):
        ClassifierEvaluator("digits")
    evaluator = ClassifierEvaluator(load_dataset("digits"), progress=False)
    arch = darchlang.load_string(NET).space.sample(0)
    with pytest.raises(DarchError, match=r"evaluate\(seed=...\) must be an integer of at least 0"):
        evaluator.evaluate(arch, seed=-2)
    space = darchlang.load_string(NET).space  # a space is many architectures: pick one
    with pytest.raises(DarchError, match=r"evaluate\(architecture=...\) must be an Architecture, "
                                         r"one point of a space: space.sample\(seed\)"):
        evaluator(space)
    with pytest.raises(DarchError, match=r"evaluate\(budget=...\) must be None or a Budget"):
        evaluator.evaluate(arch, budget=3)


# ---- input shapes -----------------------------------------------------------------------
@pytest.mark.parametrize(("text", "message"), [
    ("0x8x8", "dimension 1 (channels) of the input shape `0x8x8` is 0"),
    ("3x8x-2", "dimension 3 (width) of the input shape `3x8x-2` is -2"),
    ("16x0", "dimension 2 (features) of the input shape `16x0` is 0"),
    ("0", "dimension 1 (features) of the input shape `0` is 0"),
])
def test_a_size_below_one_is_named(text, message):
    with pytest.raises(DarchError) as info:
        parse_shape(text)
    assert info.value.message == message + ": every size must be at least 1"
    assert "3x32x32" in info.value.help


def test_input_zero_is_a_usage_error_naming_the_dimension(tmp_path):
    (tmp_path / "p.darch").write_text(NET)
    done = darch("check", "p.darch", "--shapes", "--input", "0x8x8", cwd=tmp_path)
    assert done.returncode == 2
    assert ("argument --input: dimension 1 (channels) of the input shape `0x8x8` is 0: every "
            "size must be at least 1") in done.stderr
    (tmp_path / "q.darch").write_text("# darch: input 3x0x8\n" + NET)
    done = darch("check", "q.darch", "--shapes", cwd=tmp_path)
    assert done.returncode == 1 and done.stderr.startswith(
        "q.darch:1:16: error: dimension 2 (height) of the input shape `3x0x8` is 0"), done.stderr


@pytest.mark.slow
def test_report_html_takes_the_input_by_the_rule_of_every_command(tmp_path):
    """The searched program's `# darch: input` line decides the layer tables' input when
    --input is not given (the report used to draw none without a built-in dataset)."""
    (tmp_path / "p.darch").write_text("# darch: input 1x8x8\n"
                                      "space = concat [conv2d(filters: one_of(4, 8), size: 3), relu()]\n")
    done = darch("search", "p.darch", "--synthetic", "0", "--searcher", "grid", "--budget", "2",
                 "--journal", "j.db", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert darch("report", "j.db", "--html", "r.html", cwd=tmp_path).returncode == 0
    page = (tmp_path / "r.html").read_text()
    assert "layer tables for input 1x8x8 (declared by `# darch: input` at j.db (its program):1)" \
        in page and "8x8x8" in page
    assert darch("report", "j.db", "--html", "r.html", "--input", "2x4x4", cwd=tmp_path).returncode == 0
    page = (tmp_path / "r.html").read_text()
    assert "layer tables for input 2x4x4</p>" in page and "8x4x4" in page
    done = darch("report", "j.db", "--html", "r.html", "--input", "0x8x8", cwd=tmp_path)
    assert done.returncode == 2 and "dimension 1 (channels)" in done.stderr


@pytest.mark.parametrize("value", ["inf", "-inf", "nan", "1e999"])
def test_a_non_finite_setting_from_the_command_line_is_refused(value):
    from darchlang.train.settings import Settings, parse_setting

    name, given = parse_setting(f"learning_rate_init={value}")
    with pytest.raises(DarchError, match="must be a positive number"):
        Settings().updated({name: given}, "the command line")
