"""What a user meets after a search: journals given as folders, exports of searches that
trained nothing, the lines `model.py` names, and the notes of a mismatched resume."""

import re
import subprocess
import sys

import pytest

from darchlang.errors import DarchError
from darchlang.search import Journal

SPACE = """space = concat [
    conv2d(filters: one_of(8, 16), size: one_of(1, 3)), relu(),
    max_pool2d(size: 2, stride: 2),
    affine(units: 10),
]
"""


def darch(*args, cwd):
    return subprocess.run([sys.executable, "-m", "darchlang.cli", *args], capture_output=True,
                          text=True, cwd=cwd, timeout=300)


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory):
    root = tmp_path_factory.mktemp("papercuts")
    (root / "net.darch").write_text(SPACE)
    r = darch("search", "net.darch", "--synthetic", "1", "--budget", "3", "--journal",
              "runs/syn.db", "--seed", "0", cwd=root)
    assert r.returncode == 0, r.stderr
    return root


@pytest.mark.parametrize("command", [["report"], ["dashboard"], ["export", "-o", "out"],
                                     ["search", "net.darch", "--synthetic", "1"]])
def test_a_folder_given_as_journal_names_the_journals_in_it(synthetic, command):
    args = [command[0], "runs", *command[1:]] if command[0] != "search" else \
        [*command, "--journal", "runs"]
    r = darch(*args, cwd=synthetic)
    assert r.returncode == 1 and "Traceback" not in r.stderr
    assert r.stderr.splitlines()[:2] == [
        "error: runs is a folder, not a journal",
        "  = help: give one of the journals in it: runs/syn.db"], r.stderr


def test_a_folder_without_journals_suggests_a_file(tmp_path):
    with pytest.raises(DarchError, match="is a folder, not a journal") as err:
        Journal(tmp_path, create=False)
    assert err.value.help == f"give a journal's file, such as {tmp_path / 'search.db'}"


def test_export_of_a_search_that_trained_nothing_says_so(synthetic):
    r = darch("export", "runs/syn.db", "-o", "out", cwd=synthetic)
    assert r.returncode == 1 and "Traceback" not in r.stderr
    assert "by the evaluator `synthetic-nk`, which keeps no trained weights: there is no " \
           "model to export" in r.stderr
    assert "--keep-best" not in r.stderr and "--retrain" not in r.stderr  # neither helps
    assert "darch report runs/syn.db" in r.stderr
    assert not (synthetic / "out").exists()


def test_a_mismatched_resume_shows_a_missing_setting_as_none(tmp_path):
    with Journal(tmp_path / "j.db") as journal:
        journal.check_config({"seed": 1, "objectives": ["accuracy", "-params"]})
        with pytest.raises(DarchError) as err:
            journal.check_config({"seed": 1})
    assert err.value.notes == ['objectives: the journal has ["accuracy","-params"], '
                               'this search none']


@pytest.mark.slow
def test_model_py_names_lines_of_the_exported_architecture(tmp_path):
    (tmp_path / "net.darch").write_text(SPACE)
    r = darch("search", "net.darch", "--dataset", "digits", "--searcher", "random", "--budget",
              "1", "--max-epochs", "1", "--journal", "run.db", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    r = darch("export", "run.db", "-o", "best", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    source = (tmp_path / "best" / "model.py").read_text()
    lines = (tmp_path / "best" / "architecture.darch").read_text().splitlines()
    named = re.findall(r"self\.\w+_(conv2d|affine)\b.*# .*architecture\.darch:(\d+)", source)
    assert {kind for kind, _ in named} == {"conv2d", "affine"}, source
    for kind, line in named:
        assert lines[int(line) - 1].lstrip().startswith(kind), (kind, line, lines)
    assert "<journal>" not in source


TWO_SPACE = """space = concat [flatten(), affine(units: one_of(4, 8, 12, 16, 24, 32)),
                 affine(units: one_of(2, 4, 6))]
"""


def two_objective_journal(path):
    """A search of accuracy against parameters whose second evaluation fails with a
    reason that looks like markup."""
    import darchlang
    from darchlang.search import make_searcher, run_search
    from darchlang.search.objectives import Objectives
    from darchlang.train.evaluator import EvalResult

    space = darchlang.load_string(TWO_SPACE, "t.darch").space
    calls = []

    def evaluate(arch):
        calls.append(arch)
        if len(calls) == 2:
            raise RuntimeError("<b>diverged</b> in <lambda>")
        units = [v for v in arch.values if isinstance(v, int)]
        return EvalResult("ok", 1 - 1 / (1 + sum(units)), {"params": 1000 * sum(units)})

    searcher = make_searcher("random", space, 2, objectives=Objectives.parse(["accuracy",
                                                                              "-params"]))
    return run_search(space, searcher, evaluate, 8, path, space_text=TWO_SPACE, progress=False)


def test_the_dashboard_api_gives_every_objective_and_the_front_as_the_report_does(tmp_path):
    from darchlang.report.dashboard import create_app

    result = two_objective_journal(tmp_path / "two.db")
    client = create_app(tmp_path / "two.db").test_client()
    state = client.get("/api/state").get_json()
    assert [(o["name"], o["minimize"]) for o in state["objectives"]] == \
        [("accuracy", False), ("params", True)]
    front = result.pareto_front()
    assert state["front"] == [e.index for e in front] and len(front) > 1
    by_index = {e.index: e for e in result.evaluations}
    for row in state["evaluations"]:
        e = by_index[row["index"]]
        assert row["values"] == ([e.score, float(e.metrics["params"])] if e.ok else [None, None])
    assert state["distinct"] == len({e.identity for e in result.evaluations if e.ok})
    detail = client.get(f"/api/evaluations/{front[-1].index}").get_json()
    assert detail["values"] == [front[-1].score, float(front[-1].metrics["params"])]


def test_plots_and_the_dashboard_read_a_constant_option_as_the_tables_do(tmp_path):
    import darchlang
    from darchlang.report.dashboard import create_app
    from darchlang.report.plots import option_label
    from darchlang.search import make_searcher, run_search
    from darchlang.search.labels import option_labels

    text = 'space = concat [relu()]\ntrain = hyperparams { optimizer: one_of("adam", "sgd") }\n'
    space = darchlang.load_string(text).space
    result = run_search(space, make_searcher("grid", space, 0), lambda a: 0.5, 2,
                        tmp_path / "j.db", space_text=text, progress=False)
    labels = option_labels(space)
    assert [option_label(e, "train/optimizer", labels) for e in result.evaluations] == \
        ["adam", "sgd"]
    detail = create_app(tmp_path / "j.db").test_client().get("/api/evaluations/0").get_json()
    assert detail["choices"] == [["train/optimizer", "adam"]]


@pytest.mark.slow
def test_the_page_shows_the_front_and_escapes_reasons(tmp_path):
    import os
    import shutil
    import threading

    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        assert not os.environ.get("CI"), "CI must install Debian's chromium (see .ci/run)"
        pytest.skip("needs Chromium: apt-get install chromium")
    from playwright.sync_api import sync_playwright

    from darchlang.report.dashboard import make_server

    result = two_objective_journal(tmp_path / "two.db")
    front = result.pareto_front()
    srv = make_server(tmp_path / "two.db", port=0)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
            page = browser.new_page()
            errors = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.goto(f"http://127.0.0.1:{srv.server_port}/")
            page.wait_for_selector("tr.row")
            heads = page.locator("#head th").all_inner_texts()
            assert heads[:5] == ["#", "status", "max accuracy", "min params",
                                 "best accuracy so far"]
            assert page.locator("tr.row.front").count() == len(front)
            distinct = len({e.identity for e in result.evaluations if e.ok})
            assert f"Pareto front: {len(front)} of {distinct} architectures (max accuracy, " \
                   "min params)" in page.inner_text("#best")
            cheapest = front[-1]
            page.locator(f"tr.row[data-index='{cheapest.index}']").click()
            page.wait_for_selector("#values")
            assert f"params {int(cheapest.metrics['params']):,}" in page.inner_text("#values")
            page.locator("tr.row.failed").click()
            page.wait_for_function("document.querySelector('#values').textContent"
                                   ".includes('diverged')")
            assert "<b>diverged</b> in <lambda>" in page.inner_text("#values")  # shown, not run
            assert not errors
            browser.close()
    finally:
        srv.shutdown()
        srv.server_close()
