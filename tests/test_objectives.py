"""Several objectives and a direction (issue 15.6): the settings that name them, checked
at their places, the Pareto ranking, the searchers that follow it and the reports."""

from __future__ import annotations

import json
import math
import re
import subprocess
import sys

import pytest
from hypothesis import given
from hypothesis import strategies as st

import darchlang
from darchlang.cli import main
from darchlang.errors import DarchError
from darchlang.report import plots
from darchlang.search import Journal, make_searcher, run_search
from darchlang.search.base import UnsupportedObjectives, multi_objective_searchers
from darchlang.search.evolution import _Member
from darchlang.search.objectives import Objectives
from darchlang.search.pareto import crowding, dominates, first_front, fronts, rank_and_crowding
from darchlang.search.results import csv_text, pareto_front, report_json
from darchlang.train.result import EvalResult
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
    ({"objectives": "accuracy,-parms"}, 'got ["accuracy", "-parms"]', "did you mean `-params`?"),
    ({"objectives": []}, "got []", None),
    ({"objectives": [1]}, "got [1]", None),
    ({"direction": "minimise"}, "training setting `direction` in x must be one of "
     "\"maximize\", \"minimize\", got \"minimise\"", "did you mean `minimize`?"),
])
def test_a_wrong_objective_or_direction_says_what_is_expected(values, message, hint):
    with pytest.raises(DarchError) as info:
        Settings().updated(values, "x")
    assert message in info.value.message
    assert info.value.help == hint


@pytest.mark.parametrize("field, where, message, hint", [
    ('objectives: ["accuracy", "-parms"]', "2:63", "training setting `objectives` in the "
     "`train` block must be a non-empty list", "did you mean `-params`?"),
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


def test_objectives_are_read_and_checked_as_a_whole():
    default = Objectives.parse(None)
    assert default.default and not default.several and default.config() is None
    two = Objectives.parse(["accuracy", "-params"])
    assert two.several and two.texts() == ["accuracy", "-params"]
    assert Objectives.from_config({"objectives": two.config()}) == two
    assert Objectives.from_config({}) == default
    loss = Objectives.parse(None, "minimize")
    assert loss.first.minimize and loss.texts() == ["-score"]
    for names, direction, message in (
            (["accuracy", "score"], None, "the objective `accuracy` is named twice in accuracy, score"),
            (["accuracy", "-params"], "minimize", "`direction` is for a single objective"),
            (["-params"], "maximize", 'both give a direction')):
        with pytest.raises(DarchError, match=message):
            Objectives.parse(names, direction)


def test_values_are_read_from_the_score_and_the_metrics():
    objectives = Objectives.parse(["accuracy", "-params", "-macs", "-latency"])
    ok = EvalResult("ok", 0.75, {"parameters": 120, "macs": 900, "latency_ms": 1.5})
    assert objectives.values(ok) == (0.75, 120.0, 900.0, 1.5)
    assert objectives.oriented(ok) == (0.75, -120.0, -900.0, -1.5)
    plugin = EvalResult("ok", 0.5, {"params": 7, "macs": 1, "latency": 2})  # a plugin's names
    assert objectives.values(plugin) == (0.5, 7.0, 1.0, 2.0)
    assert objectives.values(EvalResult("ok", 0.5, {"params": 7})) is None  # lacks some
    assert objectives.values(EvalResult.failed("boom", metrics={"parameters": 3})) is None
    assert objectives.values(EvalResult("ok", 0.5, {"parameters": float("nan"), "macs": 1,
                                                    "latency_ms": 1})) is None


# ---- Pareto ranking ----------------------------------------------------------------------
points = st.lists(st.tuples(st.integers(0, 6), st.integers(0, 6), st.integers(0, 3)),
                  min_size=0, max_size=25)


@given(points)
def test_fronts_are_the_non_dominated_sets_peeled_in_turn(pts):
    """Brute force: front 0 is every point nothing dominates; front r is what nothing
    outside fronts 0..r-1 dominates, and each point of it is dominated from front r-1."""
    found = fronts(pts)
    assert sorted(i for f in found for i in f) == list(range(len(pts)))
    left = set(range(len(pts)))
    for r, front in enumerate(found):
        expected = {i for i in left if not any(dominates(pts[j], pts[i]) for j in left)}
        assert set(front) == expected and front == sorted(front)
        if r:
            assert all(any(dominates(pts[j], pts[i]) for j in found[r - 1]) for i in front)
        left -= expected
    assert first_front(pts) == (found[0] if pts else [])
    rank, _ = rank_and_crowding(pts)
    assert all(rank[i] == r for r, f in enumerate(found) for i in f)


@given(st.lists(st.tuples(st.integers(0, 20), st.integers(0, 20)), min_size=1, max_size=30))
def test_pareto_front_of_the_plots_is_the_first_front_by_the_first_coordinate(pts):
    front = plots.pareto_front(pts)
    assert sorted(front) == first_front(pts)
    assert [pts[i][0] for i in front] == sorted(pts[i][0] for i in front)


def test_crowding_keeps_the_ends_and_measures_the_gaps():
    pts = [(0.0, 4.0), (1.0, 3.0), (3.0, 1.0), (4.0, 0.0), (2.0, 2.5)]
    front = first_front(pts)
    assert front == [0, 1, 2, 3, 4]
    d = crowding(pts, front)
    assert d[0] == d[3] == math.inf
    # (1, 3): neighbours (0, 4) and (2, 2.5) on both axes: 2/4 + 1.5/4
    assert d[1] == pytest.approx(2 / 4 + 1.5 / 4)
    assert d[4] == pytest.approx(2 / 4 + 2 / 4)
    assert d[2] == pytest.approx(2 / 4 + 2.5 / 4)
    assert crowding(pts, [0, 1]) == {0: math.inf, 1: math.inf}


# ---- searchers -----------------------------------------------------------------------------
TWO = Objectives.parse(["accuracy", "-params"])


def toy(arch):
    """Two objectives in tension: more units score better and cost more parameters."""
    units = [v for v in arch.values if isinstance(v, int)]
    width = sum(units)
    score = 1.0 - 1.0 / (1 + width) - 0.01 * (units[0] % 3)
    return EvalResult("ok", score, {"params": width * 10 + units[-1]})


SPACE = """
space = concat [
    flatten(),
    affine(units: one_of(4, 8, 12, 16, 24, 32, 48, 64)),
    affine(units: one_of(2, 4, 6, 8, 10, 12)),
    affine(units: one_of(1, 2, 3)),
]
"""


def test_searchers_that_cannot_follow_several_objectives_say_which_can():
    space = darchlang.load_string(SPACE).space
    assert set(multi_objective_searchers()) >= {"random", "evolution", "tpe"}
    for name in ("mcts", "smbo"):
        with pytest.raises(UnsupportedObjectives) as info:
            make_searcher(name, space, 0, objectives=TWO)
        assert info.value.message == (f"searcher `{name}` follows one objective, not 2 "
                                      "(accuracy, -params)")
        assert "random" in info.value.help and "evolution" in info.value.help
        make_searcher(name, space, 0, objectives=Objectives.parse(None, "minimize"))


def test_evolution_selects_by_pareto_rank_then_crowding():
    space = darchlang.load_string(SPACE).space
    searcher = make_searcher("evolution", space, 0, objectives=TWO, population=6, sample=3)
    arch = space.sample(0)
    members = [_Member(v, arch) for v in
               [(0.9, -50.0), (0.8, -40.0), (0.85, -45.0), (0.5, -60.0), (0.7, -10.0),
                (0.6, -30.0)]]
    searcher.members.extend(members)
    # (0.5, -60) is dominated by everything: it never wins against a front member
    assert searcher._winner([members[3], members[5]]) is members[5]
    # (0.6, -30) is dominated by (0.7, -10): front 1 loses to front 0
    assert searcher._winner([members[5], members[2]]) is members[2]
    # within the front the crowded middle (0.85, -45) loses to an end of it
    assert searcher._winner([members[2], members[0]]) is members[0]
    assert searcher._winner([members[2], members[4]]) is members[4]


@pytest.mark.parametrize("name", ["random", "evolution", "tpe"])
def test_searching_several_objectives_finds_a_front_recorded_in_the_journal(tmp_path, name):
    space = darchlang.load_string(SPACE).space
    options = {"evolution": {"population": 6, "sample": 3}, "tpe": {"startup": 5}}[name] \
        if name != "random" else {}
    searcher = make_searcher(name, space, 3, objectives=TWO, **options)
    result = run_search(space, searcher, toy, 24, tmp_path / "j.db", progress=False)
    assert result.config["objectives"] == ["accuracy", "-params"]
    front = result.pareto_front()
    distinct = {e.identity: e for e in result.evaluations}.values()
    expected = {e.identity for e in distinct
                if not any(dominates(TWO.oriented(o), TWO.oriented(e)) for o in distinct)}
    assert {e.identity for e in front} == expected
    assert [e.score for e in front] == sorted((e.score for e in front), reverse=True)
    assert result.best is front[0] and result.top(len(front)) == front
    with Journal(tmp_path / "j.db", create=False) as j:
        assert j.config()["objectives"] == ["accuracy", "-params"]
        assert all("params" in e.metrics for e in j.evaluations())


def test_a_minimised_score_is_the_best_when_lowest_for_every_searcher_and_report():
    space = darchlang.load_string(SPACE).space
    loss = Objectives.parse(None, "minimize")

    def evaluate(arch):
        return float(abs(sum(v for v in arch.values if isinstance(v, int)) - 40))

    for name in ("random", "evolution", "mcts", "tpe"):
        searcher = make_searcher(name, space, 1, objectives=loss)
        result = run_search(space, searcher, evaluate, 16, progress=False)
        scores = [e.score for e in result.evaluations]
        distinct = {e.identity: e.score for e in result.evaluations}.values()
        assert result.best.score == min(scores)
        assert [e.score for e in result.top(3)] == sorted(distinct)[:3]
        assert result.running_best()[-1] == min(scores)
        assert result.config["objectives"] == ["-score"]


def test_the_default_objective_records_nothing_new():
    space = darchlang.load_string(SPACE).space
    result = run_search(space, make_searcher("random", space, 0), toy, 3, progress=False)
    assert "objectives" not in result.config
    data = report_json(result.evaluations, result.config)
    assert "pareto" not in data and "objectives" not in data["evaluations"][0]
    assert "objective:" not in csv_text(result.evaluations)


# ---- from the command line -------------------------------------------------------------------
EVALUATORS = '''
from darchlang.train.result import EvalResult

def both(arch):
    units = [v for v in arch.values if isinstance(v, int)]
    width = sum(units)
    return EvalResult("ok", 1.0 - 1.0 / (1 + width) - 0.01 * (units[0] % 3),
                      metrics={"params": width * 10 + units[-1]})

def loss(arch):
    return float(abs(sum(v for v in arch.values if isinstance(v, int)) - 40))
'''


@pytest.fixture
def program(tmp_path, monkeypatch):
    (tmp_path / "two_scores.py").write_text(EVALUATORS)
    monkeypatch.syspath_prepend(str(tmp_path))
    path = tmp_path / "space.darch"
    path.write_text(SPACE)
    return path


@pytest.mark.slow
@pytest.mark.parametrize("searcher", ["random", "evolution", "tpe"])
def test_darch_search_and_report_show_the_pareto_front(tmp_path, program, capsys, searcher):
    journal = tmp_path / f"{searcher}.db"
    assert main(["search", str(program), "--evaluator", "two_scores:both", "--searcher",
                 searcher, "--budget", "12", "--seed", "2", "--journal", str(journal),
                 "--objectives", "accuracy,-params"]) == 0
    out = capsys.readouterr().out
    with Journal(journal, create=False) as j:
        evaluations = j.evaluations()
    front = pareto_front(evaluations, TWO)
    distinct = len({e.identity for e in evaluations})
    assert f"Pareto front: {len(front)} of {distinct} architectures (max accuracy, min " \
           f"params)" in out
    assert f"the front's best by accuracy (#{front[0].index}, accuracy " \
           f"{front[0].score:.4f}, params {front[0].metrics['params']:,})" in out
    for rank, e in enumerate(front, 1):  # one row per front member, with both values
        row = rf"│\s+{rank}\s+│\s+{e.index}\s+│\s+{e.score:.4f}\s+│\s+{e.metrics['params']:,}\s+│"
        assert re.search(row, out), row

    assert main(["report", str(journal), "--plots", str(tmp_path / "plots"), "--csv",
                 str(tmp_path / "all.csv")]) == 0
    out = capsys.readouterr().out
    assert "objectives   max accuracy, min params" in out
    assert f"front        {len(front)} architectures; best accuracy {front[0].score:.4f} " \
           f"(#{front[0].index})" in out
    assert f"Pareto front: {len(front)} of {distinct} architectures" in out
    assert (tmp_path / "plots" / "pareto.png").read_bytes()[:4] == b"\x89PNG"
    header = (tmp_path / "all.csv").read_text().splitlines()[0]
    assert header.endswith("objective:accuracy,objective:params")

    assert main(["report", str(journal), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert [p["index"] for p in data["pareto"]] == [e.index for e in front]
    assert data["pareto"][0]["objectives"] == {"accuracy": front[0].score,
                                               "params": float(front[0].metrics["params"])}
    assert all("objectives" in e for e in data["evaluations"])


def test_a_searcher_of_one_objective_is_a_usage_error(program, capsys):
    assert main(["search", str(program), "--evaluator", "two_scores:both", "--searcher",
                 "mcts", "--objectives", "accuracy,-params", "--no-journal"]) == 2
    err = capsys.readouterr().err
    assert "darch search: error: searcher `mcts` follows one objective, not 2 (accuracy, " \
           "-params); use one of the searchers that can: random, uniform, grid, evolution, " \
           "tpe" in err


def test_objectives_in_the_train_block_and_a_wrong_one_on_the_command_line(program, capsys):
    text = program.read_text()
    program.write_text(text + 'train = hyperparams { objectives: ["accuracy", "-params"] }\n')
    assert main(["search", str(program), "--evaluator", "two_scores:both", "--searcher",
                 "random", "--budget", "4", "--seed", "0", "--json", "--no-journal"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["config"]["objectives"] == ["accuracy", "-params"] and data["pareto"]
    assert main(["search", str(program), "--evaluator", "two_scores:both",
                 "--objectives", "accuracy,-parms", "--no-journal"]) == 2  # a usage error
    err = capsys.readouterr().err
    assert "training setting `objectives` in the command line must be" in err
    assert "did you mean `-params`?" in err
    assert main(["search", str(program), "--synthetic", "1", "--no-journal"]) == 1
    assert "error: the synthetic landscape gives a score only, not -params" in \
        capsys.readouterr().err
    assert main(["search", str(program), "--evaluator", "two_scores:loss", "--direction",
                 "minimize", "--no-journal"]) == 1  # over the block's two objectives
    assert "error: `direction` is for a single objective; there are 2: accuracy, -params" in \
        capsys.readouterr().err
    program.write_text(text)
    assert main(["search", str(program), "--evaluator", "two_scores:loss", "--direction",
                 "minimize", "--scheduler", "halving", "--max-epochs", "3", "--no-journal"]) == 1
    assert "error: the `halving` scheduler promotes the highest scores, so it cannot minimise " \
        "the score" in capsys.readouterr().err


def test_an_evaluator_that_does_not_report_an_objective_is_told_so(program, capsys):
    assert main(["search", str(program), "--evaluator", "two_scores:loss", "--searcher",
                 "random", "--budget", "2", "--objectives", "score,-macs", "--no-journal"]) == 1
    assert "no evaluation reported every objective: the evaluator must give -macs as " \
        "metrics" in capsys.readouterr().out


def test_direction_minimize_with_an_evaluator_returning_a_loss(tmp_path, program, capsys):
    journal = tmp_path / "loss.db"
    assert main(["search", str(program), "--evaluator", "two_scores:loss", "--searcher",
                 "evolution", "-o", "population=4", "--budget", "14", "--seed", "1",
                 "--direction", "minimize", "--journal", str(journal)]) == 0
    out = capsys.readouterr().out
    with Journal(journal, create=False) as j:
        scores = [e.score for e in j.evaluations()]
        best = min(j.evaluations(), key=lambda e: (e.score, e.index))
    assert f"best architecture (#{best.index}, score {best.score:.4f}):" in out
    assert main(["report", str(journal)]) == 0
    out = capsys.readouterr().out
    assert "objectives   min score" in out
    assert f"best score   {min(scores):.4f} (#{best.index})" in out


# ---- training for real ---------------------------------------------------------------------
DIGITS = """
param num_classes = 10

space = concat [
    conv2d(filters: one_of(4, 8, 16), size: one_of(1, 3)),
    relu(),
    optional(max_pool2d(size: 2, stride: 2)),
    affine(units: num_classes),
]
"""


def darch(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "darchlang.cli", *map(str, args)],
                          capture_output=True, text=True, timeout=600, cwd=cwd)


@pytest.mark.slow
def test_the_classifier_measures_macs_and_latency_only_when_asked():
    from darchlang.train.data import load_dataset
    from darchlang.train.evaluator import ClassifierEvaluator

    digits = load_dataset("digits")
    arch = darchlang.load_string(DIGITS).space.replay([1, 1, 0])
    plain = ClassifierEvaluator(digits, {"max_epochs": 1}, progress=False).evaluate(arch)
    assert "macs" not in plain.metrics and "latency_ms" not in plain.metrics
    assert "objectives" not in plain.settings
    asked = ClassifierEvaluator(digits, {"max_epochs": 1}, progress=False,
                                overrides={"objectives": ["accuracy", "-macs", "-latency"]}
                                ).evaluate(arch)
    # 8 filters of 3x3 over one channel at 8x8 ("same"), then 8*8*8 -> 10
    assert asked.metrics["macs"] == 8 * 9 * 64 + 8 * 64 * 10
    assert 0 < asked.metrics["latency_ms"] < 1000
    assert asked.settings["objectives"] == ["accuracy", "-macs", "-latency"]


@pytest.mark.slow
@pytest.mark.parametrize("searcher", ["random", "evolution", "tpe"])
def test_a_search_on_digits_with_two_objectives_from_the_command_line(tmp_path, searcher):
    program = tmp_path / "digits.darch"
    program.write_text(DIGITS)
    journal = tmp_path / "runs" / f"{searcher}.db"
    options = {"evolution": ["-o", "population=2", "-o", "sample=2"],
               "tpe": ["-o", "startup=2"]}.get(searcher, [])
    done = darch("search", program, "--dataset", "digits", "--searcher", searcher, *options,
                 "--budget", "4", "--max-epochs", "1", "--threads", "1", "--seed", "0",
                 "--journal", journal, "--objectives", "accuracy,-params")
    assert done.returncode == 0, done.stderr
    with Journal(journal, create=False) as j:
        evaluations = j.evaluations()
        assert j.config()["objectives"] == ["accuracy", "-params"]
        assert j.config()["settings"]["overrides"] == {
            "max_epochs": 1, "objectives": "accuracy,-params"}
    front = pareto_front(evaluations, TWO)
    assert front and all(e.metrics["parameters"] > 0 for e in evaluations)
    distinct = len({e.identity for e in evaluations})
    assert f"Pareto front: {len(front)} of {distinct} architectures (max accuracy, min " \
           "params)" in done.stdout
    for e in front:
        assert f"{e.metrics['parameters']:,}" in done.stdout
    assert f"the front's best by accuracy (#{front[0].index}, " in done.stdout

    report = darch("report", journal, "--html", tmp_path / "r.html")
    assert report.returncode == 0, report.stderr
    assert f"Pareto front: {len(front)} of {distinct} architectures" in report.stdout
    page = (tmp_path / "r.html").read_text()
    assert f"<h2>Pareto front ({len(front)} architectures)</h2>" in page
    assert page.count("data:image/png;base64") >= 2


# ---- taking the front home ---------------------------------------------------------------
def test_keep_best_keeps_the_front_first(tmp_path):
    from darchlang.search.keep_best import _side, prune

    results = {
        "a": EvalResult("ok", 0.9, {"parameters": 900}),   # front, best accuracy
        "b": EvalResult("ok", 0.8, {"parameters": 100}),   # front, fewest parameters
        "c": EvalResult("ok", 0.85, {"parameters": 950}),  # dominated by a
        "d": EvalResult("ok", 0.7, {"parameters": 500}),   # dominated by b
    }
    for stem, result in results.items():
        result.settings = {"objectives": ["accuracy", "-params"]}
        (tmp_path / f"{stem}.json").write_text(json.dumps(_side(result)))
        (tmp_path / f"{stem}.pt").write_bytes(b"")
    assert _side(results["a"]) == {"score": 0.9, "values": [0.9, -900.0]}
    prune(tmp_path, 3)
    assert sorted(p.stem for p in tmp_path.glob("*.pt")) == ["a", "b", "c"]
    prune(tmp_path, 2)
    assert sorted(p.stem for p in tmp_path.glob("*.pt")) == ["a", "b"]
    # a single maximised score keeps the side file as it always was
    assert _side(EvalResult("ok", 0.5, settings={})) == {"score": 0.5}


def test_export_ranks_go_along_the_front_then_the_next_front(tmp_path):
    from darchlang.report.export import ranked

    space = darchlang.load_string(SPACE).space
    searcher = make_searcher("random", space, 5, objectives=TWO)
    result = run_search(space, searcher, toy, 20, tmp_path / "j.db", progress=False)
    front = result.pareto_front()
    order = [ranked(result.evaluations, r, TWO) for r in range(1, len(front) + 2)]
    assert order[:len(front)] == front
    beyond = order[len(front)]
    assert beyond not in front and any(dominates(TWO.oriented(f), TWO.oriented(beyond))
                                       for f in front)
    with pytest.raises(DarchError, match="there is no rank 99"):
        ranked(result.evaluations, 99, TWO)


@pytest.mark.slow
def test_the_pareto_plot_marks_the_front():
    space = darchlang.load_string(SPACE).space
    result = run_search(space, make_searcher("random", space, 5, objectives=TWO), toy, 20,
                        progress=False)
    fig = plots.pareto_plot(result.evaluations, TWO)
    ax = fig.axes[0]
    front = result.pareto_front()
    drawn = ax.collections[1].get_offsets()  # the red front, x = params, y = accuracy
    assert sorted(map(tuple, drawn.tolist())) == sorted(
        (float(e.metrics["params"]), e.score) for e in front)
    assert ax.get_xlabel() == "params (lower is better)"
    assert ax.get_ylabel() == "accuracy (higher is better)"
    assert len(ax.lines) == 1  # the staircase through the front


@pytest.mark.slow
def test_the_examples_of_the_pareto_section_of_results_md_run(tmp_path, monkeypatch, capsys):
    import shlex
    import shutil
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    page = (root / "docs" / "results.md").read_text()
    section = page.split("## Several objectives: the Pareto front", 1)[1].split("\n## ", 1)[0]
    lines = [line for block in re.findall(r"```console\n(.*?)```", section, re.S)
             for line in block.splitlines() if line.startswith("$ darch ")]
    assert len(lines) == 3
    shutil.copytree(root / "examples", tmp_path / "examples")
    monkeypatch.chdir(tmp_path)
    for line in lines:
        status = main(shlex.split(line)[2:])
        captured = capsys.readouterr()
        assert status == 0, f"`{line}` failed:\n{captured.err}"
    assert (tmp_path / "runs" / "front-tpe-plots" / "pareto.png").exists()
    assert "objective:accuracy" in (tmp_path / "runs" / "front-tpe.csv").read_text()
    assert (tmp_path / "front-2" / "model.onnx").exists()


@pytest.mark.parametrize("name", ["evolution", "tpe"])
def test_a_resumed_search_of_two_objectives_goes_on_as_the_uninterrupted_one(tmp_path, name):
    space = darchlang.load_string(SPACE).space
    options = {"evolution": {"population": 4, "sample": 2}, "tpe": {"startup": 4}}[name]

    def decisions(budgets, journal):
        for budget in budgets:
            searcher = make_searcher(name, space, 7, objectives=TWO, **options)
            result = run_search(space, searcher, toy, budget, journal, progress=False)
        return [tuple(e.decisions) for e in result.evaluations]

    assert decisions([7, 14], tmp_path / "a.db") == decisions([14], tmp_path / "b.db")


def test_the_dashboard_follows_a_minimised_score(tmp_path):
    from darchlang.report.dashboard import state

    space = darchlang.load_string(SPACE).space
    searcher = make_searcher("random", space, 2, objectives=Objectives.parse(None, "minimize"))
    result = run_search(space, searcher, lambda a: float(len(a.text) % 17), 8,
                        tmp_path / "j.db", progress=False)
    shown = state(tmp_path / "j.db")
    assert shown["best"]["score"] == min(e.score for e in result.evaluations)
    assert shown["evaluations"][-1]["running_best"] == shown["best"]["score"]
