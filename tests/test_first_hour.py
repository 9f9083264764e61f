"""The papercuts of a new user's first hour (issue 19, issue 15's bad input), pinned
from the shell: each `darch` run is a subprocess, its exit code and its words checked.

Exit codes: 0 fine, 1 an error in the program or the data, 2 a wrong command line.
No run may print a Python traceback. Every test here starts `darch` (or torch) at
least once, so all are in the slow set; the suggestions' ranking has quick tests in
tests/test_errors_ranking.py.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

pytestmark = pytest.mark.slow

NESTED = textwrap.dedent("""\
    def inner(w) = concat [
        conv2d(filters: w, size: 5, padding: "valid"),
        relu(),
    ]

    def block(w) = concat [
        inner(w),
        inner(w),
    ]

    space = concat [
        block(one_of(8, 16)),
        flatten(),
        affine(units: 10),
    ]
    """)


def darch(*args: str, cwd=None, input: str | None = None) -> subprocess.CompletedProcess:
    r = subprocess.run([sys.executable, "-m", "darchlang.cli", *args], capture_output=True,
                       text=True, cwd=cwd, input=input, timeout=120)
    assert "Traceback" not in r.stderr, r.stderr
    return r


@pytest.fixture
def nested(tmp_path):
    path = tmp_path / "nested.darch"
    path.write_text(NESTED)
    return path


# ---- shape errors name the call that made the failing layer (19.3) --------------------------
def _located_at_the_call(stderr: str, path) -> None:
    lines = stderr.splitlines()
    # the error is at the program's call, `block(...)` on line 12
    assert lines[0].startswith(f"{path}:12:5: error: `conv2d` cannot take a ")
    assert lines[2:4] == ["12 |     block(one_of(8, 16)),", "   |     ^^^^^^^^^^^^^^^^^^^^"]
    # then the call inside `block`, then the line that writes the layer
    assert f"{path}:8:5: note: `block` calls `inner` here" in lines
    assert " 8 |     inner(w)," in lines
    assert f"{path}:2:5: note: the layer is written here, in `inner`" in lines
    assert ' 2 |     conv2d(filters: w, size: 5, padding: "valid"),' in lines


def test_check_shapes_points_at_the_call_and_the_definition(nested):
    r = darch("check", str(nested), "--shapes", "--input", "3x8x8")
    assert r.returncode == 1 and r.stdout == ""
    _located_at_the_call(r.stderr, nested)
    assert "  = note: found by enumerating the space" in r.stderr


def test_check_shapes_json_lists_the_related_places(nested):
    r = darch("check", str(nested), "--shapes", "--input", "3x8x8", "--json")
    error = json.loads(r.stdout)["errors"][0]
    assert (error["line"], error["col"]) == (12, 5)
    assert [(p["line"], p["message"]) for p in error["related"]] == [
        (8, "`block` calls `inner` here"), (2, "the layer is written here, in `inner`")]


def test_a_space_with_one_failing_architecture_says_so(tmp_path):
    one = tmp_path / "one.darch"
    one.write_text(NESTED.replace("one_of(8, 16)", "8"))
    r = darch("check", str(one), "--shapes", "--input", "3x8x8")
    assert "  = note: the space has one architecture, and it fails" in r.stderr
    assert "decisions  (replay" not in r.stderr


def test_compile_points_at_the_call(nested):
    r = darch("compile", str(nested), "--input", "3x8x8")
    assert r.returncode == 1
    _located_at_the_call(r.stderr, nested)


def test_train_plans_first_and_prints_the_located_error(nested):
    r = darch("train", str(nested), "--max-epochs", "1", "--no-progress")
    assert r.returncode == 1 and r.stdout == ""  # nothing trained, no result table
    _located_at_the_call(r.stderr, nested)
    assert "  = note: the input is 1x8x8, one example of `digits`" in r.stderr


def test_the_repl_compile_points_at_the_call_typed_in_the_session():
    from darchlang.repl.session import Session

    session = Session()
    for part in NESTED.split("\n\n"):
        assert session.execute(part).ok
    reply = session.execute(":compile 3x8x8")
    assert not reply.ok
    lines = reply.text.splitlines()
    assert lines[0].startswith("<repl>:2:5: error: `conv2d` cannot take a ")  # `block(...)`
    assert "2 |     block(one_of(8, 16))," in lines
    assert "<repl>:3:5: note: `block` calls `inner` here" in lines  # the second `inner`
    assert "<repl>:2:5: note: the layer is written here, in `inner`" in lines
    assert '2 |     conv2d(filters: w, size: 5, padding: "valid"),' in lines


# ---- a library: functions and no `space` ----------------------------------------------------
LIBRARY = "def block(w) = concat [conv2d(filters: w, size: 3), relu()]\ndef head(n) = affine(units: n)\n"


def test_check_passes_a_library_and_count_says_what_to_do(tmp_path):
    lib = tmp_path / "blocks.darch"
    lib.write_text(LIBRARY)
    assert darch("check", str(lib)).returncode == 0
    for command in ("count", "sample", "show"):
        r = darch(command, str(lib))
        assert r.returncode == 1 and r.stdout == ""
        assert r.stderr.splitlines() == [
            f"error: no `space` binding in {lib}: it defines functions (`block`, `head`) and no "
            "network, as a library does",
            '  = help: import it from a program that binds `space = ...` (`import "blocks"`), '
            "or add `space = block(...)` here"]
    # --shapes needs a network, and so does a named --entry
    assert darch("check", str(lib), "--shapes").returncode == 1
    assert darch("check", str(lib), "--entry", "net").returncode == 1
    user = tmp_path / "user.darch"
    user.write_text('import "blocks"\nspace = concat [block(8), head(10)]\n')
    assert darch("count", str(user)).stdout == "1\n"


def test_a_file_binding_other_networks_names_them_for_entry(tmp_path):
    nets = tmp_path / "nets.darch"
    nets.write_text("small = concat [relu()]\nwide = concat [relu(), relu()]\nwidth = 3\n")
    r = darch("count", str(nets))
    assert r.returncode == 1
    assert "  = note: the networks it binds: small, wide" in r.stderr
    assert "  = help: name the network to use with --entry wide, or bind `space = ...`" in r.stderr
    assert darch("count", str(nets), "--entry", "small").stdout == "1\n"


# ---- enumerated flags: usage errors naming the closest choice (19.7) -----------------------
@pytest.mark.parametrize(("args", "flag", "meant"), [
    (["search", "--scheduler", "ash"], "--scheduler", "asha"),
    (["search", "--searcher", "evolutoin"], "--searcher", "evolution"),
    (["search", "--dataset", "digts"], "--dataset", "digits"),
    (["train", "--dataset", "cifar"], "--dataset", "cifar10"),
    (["search", "--executor", "rya"], "--executor", "ray"),
    (["draw", "--format", "svgz"], "--format", "svg"),
])
def test_a_mistyped_choice_is_a_usage_error_naming_the_closest(args, flag, meant, tmp_path):
    program = tmp_path / "p.darch"
    program.write_text("space = affine(units: 10)\n")
    r = darch(*args, str(program), "--no-journal" if args[0] == "search" else "--seed=0",
              cwd=tmp_path)
    assert r.returncode == 2 and r.stdout == ""
    assert r.stderr.startswith(f"usage: darch {args[0]} ")
    last = r.stderr.splitlines()[-1]
    assert last.startswith(f"darch {args[0]}: error: argument {flag}: invalid choice: "
                           f"{args[2]!r} (choose from ")
    assert last.endswith(f"; did you mean {meant!r}?")
    assert list((tmp_path).glob("runs/*")) == []  # nothing written


def test_an_unknown_scheduler_far_from_any_is_a_usage_error_too(tmp_path):
    r = darch("search", "examples/cifar10_simple.darch", "--scheduler", "zzz", "--no-journal")
    assert r.returncode == 2
    assert r.stderr.splitlines()[-1] == (
        "darch search: error: argument --scheduler: invalid choice: 'zzz' (choose from "
        "'none', 'median', 'halving', 'hyperband', 'asha')")


def test_a_mistyped_command_or_option_names_the_closest():
    r = darch("chek", "examples/cifar10_simple.darch")
    assert r.returncode == 2 and r.stderr.rstrip().endswith("; did you mean 'check'?")
    r = darch("check", "examples/cifar10_simple.darch", "--shpes")
    assert r.returncode == 2
    # the subcommand's usage, not the top level's
    assert r.stderr.startswith("usage: darch check ")
    assert r.stderr.splitlines()[-1] == ("darch check: error: unrecognized arguments: --shpes; "
                                         "did you mean --shapes?")


# ---- -D values ----------------------------------------------------------------------------
PARAMS = 'param width = 32\nparam act = "relu"\nspace = conv2d(filters: width, size: 3)\n'


@pytest.mark.parametrize(("define", "where", "help"), [
    ("width=abc", "-D width:1:1: error: unknown name `abc`",
     """  = help: a -D value is darchlang text: a number (-D width=64), a string in quotes """
     """(-D width='"abc"'), a list (-D 'width=[32, 64]') or a choice """
     """(-D 'width=one_of(32, 64)')"""),
    ("act=ge-lu", "-D act:1:1: error: unknown name `ge`",
     """  = help: `act` is a string: write it in quotes the shell keeps, -D act='"ge-lu"'"""),
    # trailing text after the value was dropped (`3x` read as 3)
    ("width=3x", "-D width:1:2: error: unexpected name `x` after the end of the expression",
     None),
])
def test_a_define_that_is_not_a_value_says_how_to_write_one(tmp_path, define, where, help):
    program = tmp_path / "p.darch"
    program.write_text(PARAMS)
    r = darch("count", str(program), "-D", define)
    assert r.returncode == 1 and r.stdout == ""
    lines = r.stderr.splitlines()
    assert lines[0] == where
    if help is not None:
        assert lines[-1] == help
    assert darch("count", str(program), "-D", "width=one_of(8, 16)").stdout == "2\n"


def test_an_expression_with_text_after_it_is_an_error_in_the_repl():
    from darchlang.repl.session import Session

    reply = Session().execute("relu() )")
    assert not reply.ok
    assert reply.text.splitlines()[0] == ("<repl>:1:8: error: unexpected `)` after the end of "
                                          "the expression")


# ---- suggestions pick the likely meaning ----------------------------------------------------
@pytest.mark.parametrize(("typed", "meant"), [
    ("learning_rate", "learning_rate_init"), ("lr", "learning_rate_init"),
    ("max_epoch", "max_epochs"), ("epochs", "max_epochs"), ("batchsize", "batch_size"),
    ("optimiser", "optimizer"), ("weight_decy", "weight_decay"),
    ("Learning_Rate_Init", "learning_rate_init"),
])
def test_a_misspelt_setting_suggests_the_likely_one(typed, meant, tmp_path):
    program = tmp_path / "p.darch"
    program.write_text(f"space = affine(units: 10)\ntrain = hyperparams {{ {typed}: 1 }}\n")
    r = darch("check", str(program))
    assert r.returncode == 1
    assert f"  = help: did you mean `{meant}`?" in r.stderr.splitlines()


@pytest.mark.parametrize(("typed", "meant"), [
    ("linear", "affine"), ("dense", "affine"), ("Conv2D", "conv2d"), ("conv", "conv2d"),
    ("maxpool2d", "max_pool2d"), ("batchnorm", "batch_norm"), ("sequential", "concat"),
    ("choice", "one_of"), ("reapeat", "repeat"),
])
def test_names_from_other_libraries_suggest_darchlangs(typed, meant, tmp_path):
    program = tmp_path / "p.darch"
    program.write_text(f"space = {typed}()\n")
    r = darch("check", str(program))
    assert r.returncode == 1 and r.stderr.splitlines()[-1] == f"  = help: did you mean `{meant}`?"


# ---- odd files and standard input ------------------------------------------------------------
def test_standard_input_is_a_program_for_fmt_and_check(tmp_path):
    messy = "space=concat[relu(),\n relu()]\n"
    r = darch("fmt", "-", input=messy)
    assert (r.returncode, r.stdout) == (0, "space = concat [relu(), relu()]\n")
    r = darch("fmt", "--check", "-", input=messy)
    assert (r.returncode, r.stderr) == (1, "<stdin>: would be reformatted\n")
    r = darch("fmt", "-i", "-", input=messy)
    assert r.returncode == 2 and "standard input (-) has none to rewrite" in r.stderr
    r = darch("check", "-", input="space = relux()\n")
    assert r.returncode == 1
    assert r.stderr.splitlines()[0] == "<stdin>:1:9: error: unknown name `relux`"
    # imports resolve from the working directory
    (tmp_path / "blocks.darch").write_text(LIBRARY)
    r = darch("count", "-", input='import "blocks"\nspace = block(one_of(8, 16))\n', cwd=tmp_path)
    assert (r.returncode, r.stdout) == (0, "2\n")
    r = darch("check", "-", input="")
    assert r.returncode == 1 and r.stderr.startswith("<stdin>:1:1: error: `<stdin>` is empty")


@pytest.mark.parametrize(("text", "message", "help"), [
    ("space = relu()\x00\n", "unexpected character U+0000 (a control character)",
     "remove it: a program is plain text"),
    ("space = relu()\u00a0\n", "unexpected character U+00A0 (NO-BREAK SPACE)",
     "replace it with a plain space"),
    ("space = one_of(\u201crelu\u201d)\n", "unexpected character `\u201c`",
     'strings take straight quotes, as in "relu" (an editor may have curled them)'),
])
def test_an_invisible_or_curly_character_is_named(tmp_path, text, message, help):
    bad = tmp_path / "bad.darch"
    bad.write_text(text, "utf-8")
    r = darch("check", str(bad))
    assert r.returncode == 1 and r.stderr.splitlines()[0].endswith(f": error: {message}")
    assert r.stderr.splitlines()[-1] == f"  = help: {help}"


def test_every_subcommand_has_help_and_keeps_its_example_lines():
    names = ["check", "count", "show", "sample", "fmt", "compile", "draw", "train", "search",
             "report", "export", "dashboard", "journal", "repl", "lsp", "plugins"]
    for name in names:
        r = darch(name, "--help")
        assert r.returncode == 0 and r.stdout.startswith(f"usage: darch {name} "), name
    # the docstring's example commands stay one to a line
    assert "\n    darch export runs/digits.db --rank 1 -o best/\n" in darch("export", "--help").stdout


def test_an_export_rank_below_one_is_a_usage_error(tmp_path):
    r = darch("export", str(tmp_path / "none.db"), "--rank", "0", "-o", str(tmp_path / "out"))
    assert r.returncode == 2
    assert r.stderr.splitlines()[-1] == "darch export: error: argument --rank: must be at least 1, got 0"


# ---- wording for a space of one architecture (19.8) -------------------------------------------
def test_the_repl_says_a_space_has_no_choices_and_counts_names_in_words(tmp_path):
    from darchlang.repl.session import Session

    one = tmp_path / "one.darch"
    one.write_text("space = relu()\n")
    session = Session()
    assert session.execute(f":load {one}").text.splitlines()[0] == f"loaded {one}: 1 name"
    text = session.execute(":sample 3").text
    assert text.splitlines()[0].endswith("  (no choices: the space has one architecture)")
    assert "decisions: \n" not in text


def test_a_missing_file_names_the_one_meant(tmp_path):
    (tmp_path / "two.darch").write_text("space = relu()\n")
    r = darch("count", "two", cwd=tmp_path)
    assert r.returncode == 1
    assert r.stderr.splitlines() == ["error: no such file: two", "  = help: did you mean `two.darch`?"]
    r = darch("check", "tow.darch", cwd=tmp_path)
    assert r.stderr.splitlines()[-1] == "  = help: did you mean `two.darch`?"


def test_repl_commands_with_odd_arguments_say_what_fits(tmp_path):
    from darchlang.repl.session import Session

    (tmp_path / "two.darch").write_text("space = concat [conv2d(filters: one_of(4, 8), size: 3)]\n")
    session = Session()

    def first_lines(command):
        reply = session.execute(command)
        assert not reply.ok, command
        return reply.text.splitlines()[:2]

    assert first_lines(f":load {tmp_path / 'two'}")[1] == \
        f"  = help: did you mean `{tmp_path / 'two.darch'}`?"
    assert first_lines(":LOAD x")[1] == "  = help: did you mean `:load`?"
    assert first_lines(":exti")[1] == "  = help: did you mean `:quit`?"  # an alias, named as the command
    assert session.execute(f":load {tmp_path / 'two.darch'}").ok
    assert first_lines(":compile 3x")[0] == "error: cannot read the input shape `3x`"
    assert first_lines(":compile 3x8x8 4x4")[0] == "error: usage: :compile [NAME] [INPUT]"
    assert session.execute(":compile 3x8x8 space").ok


def test_outputs_that_cannot_be_written_are_refused_before_any_work(tmp_path):
    program = tmp_path / "p.darch"
    program.write_text("space = concat [conv2d(filters: one_of(4, 8), size: 3), flatten(), "
                       "affine(units: 10)]\n")
    folder = tmp_path / "folder"
    folder.mkdir()
    for args in (["search", "--no-journal", "--csv", str(folder)],
                 ["train", "--model-path", str(folder)],
                 ["search", "--no-journal", "--csv", str(tmp_path / "nope" / "x.csv")]):
        r = darch(args[0], str(program), *args[1:])
        assert r.returncode == 1 and r.stdout == "", args
        assert r.stderr.startswith("error: cannot write `"), args
        assert "#0" not in r.stderr  # nothing was trained first


def test_weights_from_a_file_that_is_no_checkpoint_are_an_error(tmp_path):
    program = tmp_path / "p.darch"
    program.write_text("space = concat [flatten(), affine(units: 10)]\n")
    junk = tmp_path / "junk.pt"
    junk.write_bytes(bytes(range(256)) * 8)
    for weights in (program, junk):
        r = darch("compile", str(program), "--weights", str(weights))
        assert r.returncode == 1
        assert r.stderr.splitlines()[0] == (f"error: cannot load weights from `{weights}`: it is "
                                            "not a PyTorch checkpoint of tensors")


def test_an_unknown_option_is_compared_by_its_words():
    r = darch("lsp", "--bogus")
    assert r.returncode == 2
    assert r.stderr.splitlines()[-1] == "darch lsp: error: unrecognized arguments: --bogus"


def test_a_far_file_name_is_not_suggested_for_sharing_the_suffix(tmp_path):
    (tmp_path / "net.darch").write_text("space = relu()\n")
    r = darch("count", "nope.darch", cwd=tmp_path)
    assert r.stderr.splitlines() == ["error: no such file: nope.darch"]


def test_the_repl_reading_bytes_that_are_not_utf8_names_the_byte():
    r = subprocess.run([sys.executable, "-m", "darchlang.cli", "repl", "--no-history"],
                       input=b"\xff\xfe\n", capture_output=True, timeout=120)
    assert r.returncode == 1 and b"Traceback" not in r.stderr
    lines = r.stderr.decode("utf-8", "replace").splitlines()
    assert lines[0] == "<repl>:1:1: error: unexpected byte 0xff, which is not UTF-8 text"
    assert lines[-1] == "  = help: type or save the text as UTF-8"


def test_check_finds_a_misspelling_in_a_function_nothing_calls(tmp_path):
    lib = tmp_path / "blocks.darch"
    lib.write_text(LIBRARY.replace("relu()", "relux()"))
    r = darch("check", str(lib))
    assert r.returncode == 1
    assert r.stderr.splitlines()[0] == f"{lib}:1:53: error: unknown name `relux`"
    assert r.stderr.splitlines()[-1] == "  = help: did you mean `relu`?"


def test_a_search_stopped_on_broken_shapes_shows_the_first_in_full(nested, tmp_path):
    one = tmp_path / "one.darch"
    one.write_text(NESTED.replace("one_of(8, 16)", "8"))
    r = darch("search", str(one), "--no-journal", "--budget", "3", "--no-progress")
    assert r.returncode == 1
    lines = r.stderr.splitlines()
    start = lines.index(f"{one}:12:5: note: #0 breaks here")
    assert lines[start + 2:start + 4] == ["12 |     block(8),", "   |     ^^^^^^^^"]
    assert f"{one}:8:5: note: `block` calls `inner` here" in lines[start:]
    assert f"{one}:2:5: note: the layer is written here, in `inner`" in lines[start:]


@pytest.mark.parametrize(("args", "message"), [
    (["--eta", "1"], "argument --eta: must be at least 2, got 1"),
    (["--min-epochs", "0"], "argument --min-epochs: must be at least 1, got 0"),
    (["--min-epochs", "5", "--max-epochs", "2"],
     "--max-epochs (2) must be at least --min-epochs (5)"),
])
def test_a_scheduler_s_rungs_that_cannot_be_are_usage_errors(args, message):
    r = darch("search", "examples/cifar10_simple.darch", "--scheduler", "asha", "--no-journal",
              *args)
    assert r.returncode == 2 and r.stderr.splitlines()[-1] == f"darch search: error: {message}"


def test_a_dashboard_host_that_is_not_this_machine_is_named_as_such(tmp_path):
    import darchlang
    from darchlang.search import make_searcher, run_search

    space = darchlang.load_string("space = one_of(relu(), gelu())", "t.darch").space
    journal = tmp_path / "run.db"
    run_search(space, make_searcher("random", space, seed=0), lambda arch: 0.5, budget=1,
               journal=journal, progress=False)
    r = darch("dashboard", str(journal), "--host", "999.1.1.1", "--port", "0")
    assert r.returncode == 1
    assert r.stderr.splitlines()[-1] == ("  = help: give --host an address of this machine, "
                                         "such as 127.0.0.1")
    assert darch("report", str(journal), "--top", "0").returncode == 2


def test_version_and_help_as_a_command():
    import darchlang

    r = darch("--version")
    assert (r.returncode, r.stdout) == (0, f"darch {darchlang.__version__}\n")
    r = darch("help")
    assert r.returncode == 0 and r.stdout.startswith("usage: darch ")
    r = darch("help", "count")
    assert r.returncode == 0 and r.stdout.startswith("usage: darch count ")
