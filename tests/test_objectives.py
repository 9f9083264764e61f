"""Several objectives and a direction (issue 15.6): the settings that name them, checked
at their places, the Pareto ranking, the searchers that follow it and the reports."""

from __future__ import annotations

import pytest

from darchlang.cli import main
from darchlang.errors import DarchError
from darchlang.train.settings import Settings

SMALL = "space = concat [flatten(), affine(units: one_of(4, 8)), affine(units: 10)]\n"


# ---- the settings ----------------------------------------------------------------------
def test_objectives_and_direction_are_settings_read_by_name():
    s = Settings().updated({"objectives": ("accuracy", "-params")}, "the `train` block")
    assert s.objectives == ["accuracy", "-params"]
    assert Settings().updated({"objectives": "accuracy, -macs"}, "x").objectives == \
        ["accuracy", "-macs"]  # --set objectives=accuracy,-macs
    assert Settings().updated({"direction": "minimize"}, "x").direction == "minimize"
    # unset, they are not written: the settings of single-objective runs read as before
    assert "objectives" not in Settings().to_json() and "direction" not in Settings().to_json()
    assert Settings().updated({"direction": "minimize"}, "x").to_json()["direction"] == "minimize"


@pytest.mark.parametrize("values, message, hint", [
    ({"objectives": ["acuracy"]}, "training setting `objectives` in x must be a non-empty list "
     "of objectives among \"accuracy\", \"score\", \"params\", \"macs\", \"latency\"",
     "did you mean `accuracy`?"),
    ({"objectives": "accuracy,-parms"}, "got ['accuracy', '-parms']", "did you mean `params`?"),
    ({"objectives": []}, "got []", None),
    ({"objectives": [1]}, "got [1]", None),
    ({"direction": "minimise"}, "training setting `direction` in x must be one of "
     "\"maximize\", \"minimize\", got 'minimise'", "did you mean `minimize`?"),
])
def test_a_wrong_objective_or_direction_says_what_is_expected(values, message, hint):
    with pytest.raises(DarchError) as info:
        Settings().updated(values, "x")
    assert message in info.value.message
    assert info.value.help == hint


@pytest.mark.parametrize("field, where, message, hint", [
    ('objectives: ["accuracy", "-parms"]', "2:50", "training setting `objectives` in the "
     "`train` block must be a non-empty list", "did you mean `params`?"),
    ('direction: "down"', "2:49", "training setting `direction` in the `train` block must be "
     "one of", None),
    ('objectives: one_of(["accuracy"], ["accuracy", "-params"])', "2:50",
     "`objectives` belongs to the whole search, so it cannot be a choice",
     "give `objectives` one value"),
])
def test_check_finds_bad_objectives_at_their_place(tmp_path, capsys, field, where, message,
                                                   hint):
    program = tmp_path / "p.darch"
    program.write_text(f"{SMALL}train = hyperparams {{ batch_size: 8, {field} }}\n")
    assert main(["check", str(program)]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"{program}:{where}: error: {message}"), err
    assert "^" in err
    if hint:
        assert f"help: {hint}" in err


def test_check_accepts_objectives_and_a_direction(tmp_path):
    program = tmp_path / "p.darch"
    program.write_text(f'{SMALL}train = hyperparams {{ objectives: ["accuracy", "-params", '
                       f'"-latency"] }}\n')
    assert main(["check", str(program)]) == 0
    program.write_text(f'{SMALL}train = hyperparams {{ direction: "minimize" }}\n')
    assert main(["check", str(program)]) == 0
