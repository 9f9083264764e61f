"""The plots and the HTML page of `darch report`: rendered for real and checked for
what they must show (and not show)."""

import subprocess
import sys

import pytest
from hypothesis import given
from hypothesis import strategies as st

import darchlang
from darchlang.report import plots
from darchlang.report.html import render
from darchlang.search import make_searcher, run_search
from darchlang.search.labels import option_labels

SPACE = """
space = concat [
    conv2d(filters: one_of(8, 16, 32, 64), size: one_of(1, 3, 5)),
    maybe_swap(relu(), batch_norm()),
    optional(dropout(keep: one_of(0.5, 0.9))),
]
"""


def searched(budget=24, fail_every=0):
    space = darchlang.load_string(SPACE, "t.darch").space
    calls = []

    def evaluate(arch):  # the score depends on the filters alone
        calls.append(1)
        if fail_every and len(calls) % fail_every == 0:
            raise RuntimeError("diverged")
        return arch.choices()["space/0/conv2d/filters"] / 64

    result = run_search(space, make_searcher("random", space, seed=3), evaluate, budget=budget)
    return space, result


def test_history_marks_failures_apart_and_keeps_the_legend_off_the_data():
    _, result = searched(12, fail_every=4)
    fig = plots.history(result.evaluations, "t")
    ax = fig.axes[0]
    legend = ax.get_legend()
    assert legend.get_bbox_to_anchor().x0 > ax.get_window_extent().x1 - 1  # right of the axes
    texts = [t.get_text() for t in legend.get_texts()]
    assert texts == ["score", "best so far", "failed (3)"]
    failed = [c for c in ax.collections if c.get_label().startswith("failed")][0]
    # drawn in axes coordinates below the axis, never at a score
    assert all(y < 0 for _, y in failed.get_offsets())
    assert all(float(t).is_integer() for t in ax.get_xticks())


@pytest.mark.slow
def test_importance_finds_the_choice_that_decides_the_score():
    space, result = searched(30)
    found = plots.importances(result.evaluations, option_labels(space))
    assert next(iter(found)) == "space/0/conv2d/filters"
    assert found["space/0/conv2d/filters"] > 0.5


def test_options_are_labelled_by_what_they_are():
    space, result = searched(24)
    labels = option_labels(space)
    assert labels["space/1"] == ["relu, batch_norm", "batch_norm, relu"]
    fig = plots.option_scores(result.evaluations, labels, ["space/1", "space/2/or1/dropout/keep"])
    ticks = [t.get_text() for t in fig.axes[0].get_xticklabels()]
    assert ticks == ["relu, batch_norm", "batch_norm, relu"]
    keep = [t.get_text() for t in fig.axes[1].get_xticklabels()]
    assert "off" in keep  # the optional layer's setting where it was not used
    fig = plots.parallel_coordinates(result.evaluations, labels, ["space/0/conv2d/filters", "space/1"])
    # one line per distinct architecture, plus one vertical axis per choice
    assert len(fig.axes[0].lines) == len({e.identity for e in result.evaluations}) + 2


@pytest.mark.slow
@given(st.lists(st.tuples(st.integers(0, 20), st.integers(0, 20)), min_size=1, max_size=30))
def test_pareto_front_is_exactly_the_undominated_points(points):
    front = set(plots.pareto_front(points))

    def dominated(i):
        return any(p[0] >= points[i][0] and p[1] >= points[i][1] and p != points[i] for p in points)

    for i, _ in enumerate(points):
        if i in front:
            assert not dominated(i)
        else:
            assert dominated(i) or any(points[j] == points[i] for j in front)


def test_learning_curves_come_from_the_journal_or_the_epoch_history():
    class E:
        def __init__(self, index):
            self.index, self.status = index, "ok"
            self.metrics = {"history": [{"epoch": 1, "val_accuracy": 0.5},
                                        {"epoch": 2, "val_accuracy": 0.7}]}

    assert plots.curve_of(E(0)) == [(1.0, 0.5), (2.0, 0.7)]
    recorded = {1: [(0, 1, 0.4, 0.0), (0, 2, None, 0.1), (1, 3, 0.6, 0.2)]}
    assert plots.curve_of(E(1), recorded) == [(1.0, 0.4), (3.0, 0.6)]
    fig = plots.learning_curves([E(0), E(1)], recorded, stopped={1})
    ax = fig.axes[0]
    assert len(ax.lines) == 2 and "1 stopped early" in ax.get_title()
    assert ax.lines[1].get_color() == "tab:red"


@pytest.mark.slow
def test_html_report_is_one_file_with_plots_text_and_layer_tables():
    space, result = searched(16, fail_every=5)
    page = render(result.evaluations, {"searcher": "random", "seed": 3}, option_labels(space),
                  "runs/t.db", input_shape=(3, 16, 16), top_k=3)
    assert page.startswith("<!doctype html>") and page.rstrip().endswith("</html>")
    assert page.count("data:image/png;base64,") >= 4   # history, importances, parallel, options
    assert "src=\"http" not in page                     # nothing to fetch: self-contained
    assert page.count("<h3>") == 3 and "conv2d" in page
    assert "params" in page.lower()                     # the layer tables


@pytest.mark.slow
def test_report_html_and_plots_from_the_command_line(tmp_path):
    journal = tmp_path / "run.db"
    src = tmp_path / "net.darch"
    src.write_text("param num_classes = 10\n" + SPACE.replace("space =", "body =") +
                   "space = concat [body, affine(units: num_classes)]\n")
    r = subprocess.run([sys.executable, "-m", "darchlang.cli", "search", str(src), "--dataset",
                        "digits", "--budget", "4", "--max-epochs", "1", "--journal", str(journal)],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    r = subprocess.run([sys.executable, "-m", "darchlang.cli", "report", str(journal), "--html",
                        str(tmp_path / "r.html"), "--plots", str(tmp_path / "plots"), "--input",
                        "1x8x8"], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    page = (tmp_path / "r.html").read_text()
    assert "data:image/png;base64," in page and "Learning curves" in page
    assert (tmp_path / "plots" / "history.png").read_bytes()[:4] == b"\x89PNG"
    r = subprocess.run([sys.executable, "-m", "darchlang.cli", "report", str(journal), "--html",
                        str(tmp_path / "missing" / "r.html")], capture_output=True, text=True)
    assert r.returncode == 1 and f"cannot write `{tmp_path / 'missing' / 'r.html'}`" in r.stderr


@pytest.mark.slow
def test_the_text_report_keeps_brackets_in_option_labels(tmp_path):
    (tmp_path / "net.darch").write_text(
        "space = one_of(concat [conv2d(filters: 8, size: 3), maybe_swap(relu(), batch_norm())],"
        " relu())\n")
    r = subprocess.run([sys.executable, "-m", "darchlang.cli", "search", "net.darch", "--synthetic",
                        "0", "--searcher", "grid", "--budget", "3", "--journal", "run.db"],
                       capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert r.returncode == 0, r.stderr
    r = subprocess.run([sys.executable, "-m", "darchlang.cli", "report", "run.db"],
                       capture_output=True, text=True, cwd=tmp_path, timeout=120,
                       env={**__import__("os").environ, "COLUMNS": "200"})
    assert r.returncode == 0, r.stderr
    assert "conv2d, [relu, batch_norm] | [batch_norm, relu]" in r.stdout
