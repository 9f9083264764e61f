"""The notebook integration: reprs, HTML displays, the IPython extension, and the
example notebook executed in a real Jupyter kernel."""

from pathlib import Path

import pytest

import darchlang
from darchlang.notebook import show

SIMPLE = """
space = concat [
    conv2d(filters: one_of(8, 16, 32), size: one_of(1, 3)), relu(),
    affine(units: 10),
]
"""


def test_short_reprs():
    space = darchlang.load_string(SIMPLE, "t.darch").space
    assert repr(space) == "<Space: 6 architectures, 2 choices>"
    arch = space.replay([2, 0])
    assert repr(arch) == f"<Architecture {arch.identity}: decisions 2,0>"
    one = darchlang.load_string("space = relu()", "t.darch").space
    assert repr(one) == "<Space: 1 architecture, 0 choices>"
    assert repr(one.sample(0)).endswith("decisions none>")


def test_html_displays_hold_the_count_the_choices_and_the_text():
    space = darchlang.load_string(SIMPLE, "t.darch").space
    markup = space._repr_html_()
    assert "6 architectures" in markup and "<table" in markup and "t.darch:3" in markup
    arch = space.replay([2, 0])
    markup = arch._repr_html_()
    assert "32" in markup and "conv2d" in markup and "<span" in markup  # highlighted
    table = show(arch, input="1x8x8")._repr_html_()
    assert "params" in table.lower() and "affine" in table


def test_search_result_display():
    from darchlang.search import make_searcher, run_search
    from darchlang.search.synthetic import NKObjective

    space = darchlang.load_string(SIMPLE, "t.darch").space
    result = run_search(space, make_searcher("random", space, seed=0),
                        NKObjective(space, k=0, seed=0), budget=4)
    assert repr(result).startswith("<SearchResult: 4 of 4 evaluations, 0 failed, best ")
    assert result._repr_html_().count("<tr>") >= 2


class _Shell:
    """The part of IPython's shell the extension uses."""

    def __init__(self):
        self.user_ns: dict = {}
        self.magics: dict = {}

    def register_magic_function(self, fn, magic_kind, magic_name):
        self.magics[magic_name] = (fn, magic_kind)


def test_the_cell_magic_binds_a_program_and_errors_print_without_traceback(capsys, monkeypatch):
    from darchlang import notebook

    shell = _Shell()
    darchlang.load_ipython_extension(shell)
    fn, kind = shell.magics["darch"]
    assert kind == "line_cell"
    space = notebook._define(shell, "net", SIMPLE)
    assert shell.user_ns["net"].space.count() == 6 and space.count() == 6
    assert notebook._define(shell, "bad", "space = conv2(filters: 3, size: 3)") is None
    err = capsys.readouterr().err
    assert "<cell bad>:1:9: error: unknown" in err and "conv2d" in err
    assert "Traceback" not in err and "bad" not in shell.user_ns
    notebook._run_command("count examples/cifar10_simple.darch")
    assert capsys.readouterr().out.strip() == "2025"


@pytest.mark.slow
def test_the_example_notebook_runs_in_a_kernel():
    nbformat = pytest.importorskip("nbformat")
    from nbclient import NotebookClient

    root = Path(__file__).resolve().parent.parent
    nb = nbformat.read(root / "examples" / "notebook.ipynb", as_version=4)
    NotebookClient(nb, timeout=120, kernel_name="python3",
                   resources={"metadata": {"path": str(root)}}).execute()
    code = [c for c in nb.cells if c.cell_type == "code"]
    outputs = [c.outputs for c in code]
    assert not any(o.get("output_type") == "error" for out in outputs for o in out)

    def html(i):
        return "".join(o.get("data", {}).get("text/html", "") for o in outputs[i])

    def stream(i, name):
        return "".join(o.get("text", "") for o in outputs[i] if o.get("name") == name)

    assert "12 architectures" in html(1)          # the %%darch cell shows its space
    assert "12 architectures" in html(2)
    assert "architecture " in html(3) and "conv2d" in html(3)
    assert "params" in html(4).lower()
    assert stream(5, "stdout").strip() == "2025"
    assert "error: unknown" in stream(6, "stderr") and "Traceback" not in stream(6, "stderr")
    assert "SearchResult: 8 of 8" in html(7)
