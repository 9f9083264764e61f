"""The REPL session: inputs in, replies and the session's names out.

The first group drives `Session` directly; the second drives the real prompt
(`Repl`) through a pipe input and a dummy output, as a user at a terminal would.
"""

import os
import random
import re
import signal

import pytest
from prompt_toolkit.history import FileHistory
from prompt_toolkit.input import create_pipe_input
from prompt_toolkit.output import DummyOutput

from darchlang.repl.app import Repl, history_path, open_history
from darchlang.repl.session import Session
from darchlang.semantics.program import load_string
from darchlang.syntax.formatter import format_source

SPACE = "space = concat [conv2d(filters: w, size: one_of(3, 5)), relu(), affine(units: 10)]"


def ok(session, text):
    reply = session.execute(text)
    assert reply.ok, reply.text
    return reply.text


def failing(session, text):
    reply = session.execute(text)
    assert not reply.ok, reply.text
    return reply.text


@pytest.fixture
def session():
    s = Session()
    ok(s, "w = one_of(32, 64)")
    ok(s, SPACE)
    return s


# ---- the session on its own -------------------------------------------------------------
def test_definitions_accumulate_and_count(session):
    assert ok(session, ":count") == "4 architectures"
    assert ok(session, "bigger = concat [space, dropout(keep: one_of(0.5, 0.9))]") == \
        "bigger: sub-space, 8 architectures"
    assert ok(session, ":count bigger") == "8 architectures"
    assert session.user_names() == ["w", "space", "bigger"]


def test_a_definition_reply_says_what_was_defined():
    s = Session()
    reply = ok(s, "n = 3\ndef twice(x) = concat [x, x]\nlayer = twice(relu())")
    assert reply.splitlines() == ["n: 3", "twice: function twice(x)", "layer: sub-space, 1 architecture"]


def test_sample_is_seeded_and_prints_replayable_text(session):
    first = ok(session, ":sample space 5 3")
    assert first == ok(session, ":sample space 5 3")
    archs = first.split("\n\n")
    assert len(archs) == 3
    for text in archs:
        header, body = text.split("\n", 1)
        assert header.startswith("# architecture ") and "decisions: " in header
        assert load_string(body).space.count() == 1  # no choices left
    unseeded = ok(session, ":sample")
    assert unseeded.startswith("# seed ")
    seed = int(unseeded.split("\n", 1)[0].split()[-1])
    assert unseeded.split("\n", 1)[1] == ok(session, f":sample space {seed}")


def test_an_error_changes_nothing_and_the_session_goes_on(session):
    text = failing(session, "x = 1\nw = conv2d(filter: 3)")
    assert "error: `conv2d` has no parameter `filter`" in text
    assert "did you mean `filters`?" in text
    assert "^" in text
    assert "x" not in session.user_names()
    assert ok(session, ":count") == "4 architectures"  # `w` is still the choice


def test_errors_point_into_the_input(session):
    text = failing(session, "space2 = concat [\n    relu(),\n    conv(),\n]")
    assert text.splitlines()[0] == "<repl>:3:5: error: unknown name `conv`"
    assert "3 |     conv()," in text
    assert "used before it is defined" in failing(session, "a = b\nb = 1")
    assert "defined twice" in failing(session, "c = 1\nc = 2")


def test_redefining_a_name_replaces_it_from_then_on(session):
    ok(session, "w = 16")
    assert ok(session, ":count space") == "4 architectures"  # built with the old `w`
    ok(session, SPACE)
    assert ok(session, ":count") == "2 architectures"


def test_expressions_show_their_values(session):
    assert ok(session, "w") == "one_of(32, 64)  # a choice of 2 options"
    assert ok(session, "2 * w") == "(2 * w)  # depends on choices: 64 | 128"
    assert ok(session, "[1, 2 + 3]") == "[1, 5]"
    assert ok(session, "{lr: 0.1}") == "{lr: 0.1}"
    assert ok(session, "sqrt(16.0)") == "4.0"
    one = session.execute("conv2d(filters: 8, size: 3)")
    assert one.darch
    assert one.text == ('it = conv2d(filters: 8, size: 3, stride: 1, padding: "same", '
                        "init: kaiming(1.0))\n")
    tree = ok(session, "space")
    assert tree.splitlines()[0] == "4 architectures, 2 choices"
    assert "`w`" in tree and "space/0/conv2d/size" in tree
    assert ok(session, "maybe_swap").startswith("def maybe_swap(a, b) = one_of(")
    assert ok(session, "conv2d").startswith("conv2d(filters: positive integer, size:")


def test_an_expression_is_bound_to_it(session):
    ok(session, "concat [space, dropout(keep: one_of(0.5, 0.9))]")
    assert ok(session, ":count it") == "8 architectures"
    assert ok(session, "it") == ok(session, "it")  # showing `it` does not rebind it


def test_show_count_and_sample_default_to_space_with_train(session):
    ok(session, 'train = hyperparams { optimizer: one_of("adam", "sgd_mom"), batch_size: 64 }')
    # what is counted is said plainly: networks with their training settings, as
    # `darch count` counts them; a hyperparams block alone counts combinations
    assert ok(session, ":count") == ("8 architectures (4 of `space` x 2 combinations of "
                                     "training settings of `train`)")
    assert ok(session, ":count space") == "4 architectures"
    assert ok(session, ":count train") == "2 combinations of training settings"
    tree = ok(session, ":show")
    assert tree.splitlines()[0] == "8 architectures, 3 choices"
    assert "train: hyperparams" in tree
    assert "train = hyperparams {" in ok(session, ":sample 1")


def test_commands_refuse_what_is_not_a_space(session):
    assert "`it` is an integer, not a space" in (ok(session, "3") and failing(session, ":count it"))
    assert "unknown name `spcae`" in failing(session, ":count spcae")
    assert "did you mean `space`?" in failing(session, ":count spcae")
    assert "no `space` is defined yet" in failing(Session(), ":sample")
    assert "SEED and N are integers" in failing(session, ":sample space x")
    assert "between 1 and 100" in failing(session, ":sample space 1 0")


def test_sample_of_a_choice_of_values_prints_it(session):
    # used to crash the session: the identity hashed `arch.text`, which has no printer
    # for a network that is a plain value
    text = ok(session, ":sample w 3 2")
    header, body = text.split("\n\n")[0].split("\n", 1)
    assert header.startswith("# architecture ") and body in ("w = 32", "w = 64")
    arch = session.space_named("space").sample(random.Random(1))  # layers: the usual identity
    assert ok(session, ":sample space 1").split("\n")[0] == \
        f"# architecture {arch.identity}  decisions: {','.join(map(str, arch.decisions))}"


def test_unknown_commands_get_a_suggestion(session):
    assert failing(session, ":shwo") == "error: unknown command `:shwo`\n  = help: did you mean `:show`?"
    assert "ambiguous: :show or :sample?" in failing(session, ":s")
    assert ok(session, ":cou") == "4 architectures"  # a unique prefix
    assert "ambiguous: :count or :compile?" in failing(session, ":co")
    assert ":sample [NAME] [SEED] [N]" in ok(session, ":help")
    assert ok(session, ":help :count").startswith(":count [NAME]")
    assert "kernel height and width" in ok(session, ":help conv2d")
    assert ok(session, ":help w") == "w: choice of 32 | 64"


def test_env_lists_the_session_names(session):
    ok(session, "def f(x, k = 2) = x")
    assert ok(session, ":env").splitlines() == [
        "w      choice of 32 | 64",
        "space  sub-space, 4 architectures",
        "f      function f(x, k = 2)",
    ]
    assert ok(Session(), ":env").startswith("nothing defined yet")


def test_fmt_prints_the_session_as_a_formatted_file(session):
    ok(session, "def   pair(x)=concat[x,x]")
    ok(session, "w = one_of(8, 16)")  # replaces the first `w`
    text = ok(session, ":fmt")
    assert text.splitlines() == [
        SPACE,
        "def pair(x) = concat [x, x]",
        "w = one_of(8, 16)",
    ]
    assert format_source(text + "\n") == text + "\n"
    assert ok(session, ":fmt pair") == "def pair(x) = concat [x, x]"


def test_load_and_reload_follow_the_file(tmp_path):
    lib = tmp_path / "lib.darch"
    lib.write_text("def unit(n) = conv2d(filters: n, size: 3)\n")
    main = tmp_path / "main.darch"
    main.write_text('import "lib"\nspace = concat [unit(one_of(8, 16)), relu()]\n')
    s = Session()
    assert ok(s, f":load {main}").splitlines() == [
        f"loaded {main}: 2 names", "space: sub-space, 2 architectures"]
    ok(s, "bigger = concat [space, space]")
    assert ok(s, ":count bigger") == "2 architectures"
    main.write_text('import "lib"\nspace = concat [unit(one_of(8, 16, 32)), relu()]\n')
    assert ok(s, ":reload") == "reloaded 1 file and 1 input"
    assert ok(s, ":count bigger") == "3 architectures"
    main.write_text("space = relu()\n")  # `unit` is gone; `bigger` still works
    assert ok(s, ":reload") == "reloaded 1 file and 1 input"
    main.write_text("space = relu(\n")
    text = failing(s, ":reload")
    assert text.startswith("reloaded 1 file and 1 input; 2 of them fail now and were dropped")
    assert f"{main}:1:14: error: unexpected end of file" in text
    assert "unknown name `space`" in text  # `bigger` needs it
    assert "no such file" in failing(s, f":load {tmp_path / 'missing.darch'}")


def test_typed_imports_resolve_from_the_working_directory(tmp_path, monkeypatch):
    (tmp_path / "lib.darch").write_text("def unit(n) = conv2d(filters: n, size: 3)\n")
    monkeypatch.chdir(tmp_path)
    s = Session()
    assert ok(s, 'import "lib"') == "unit: function unit(n)"
    assert ok(s, "unit(4)").startswith("it = conv2d(filters: 4, size: 3")
    assert "`unit` is a function, not a space" in failing(s, ":count unit")
    assert ok(s, ":fmt") == 'import "lib"'


def test_compile_shows_the_layer_table(session):
    text = ok(session, ":compile space 1x8x8")
    lines = text.splitlines()
    assert lines[0] == "# `space`, the architecture of seed 0 (`:sample space 0` shows it)"
    assert lines[1].split()[:3] == ["layer", "kind", "source"]
    assert lines[3].split() == ["input", "1x8x8"]
    assert any(line.split()[1:3] == ["conv2d", "<repl>:1"] for line in lines[4:])
    assert "parameters" in lines[-1]
    assert "not layers" in failing(session, ":compile w")
    assert "dimension 2 (features) of the input shape `3x0` is 0" in failing(session, ":compile space 3x0")


def test_train_reports_progress_and_accuracy():
    lines, epochs = [], []
    s = Session(progress=lines.append, on_epoch=epochs.append)
    ok(s, 'space = concat [flatten(), affine(units: 10)]\n'
          'train = hyperparams { max_epochs: 2, learning_rate_init: 0.01 }')
    text = ok(s, ":train space 1")
    # one line as it starts, not one per epoch (on a terminal a progress bar shows them)
    assert len(lines) == 1 and lines[0].startswith("training `space` (seed 1, architecture ")
    assert [(e.epoch, e.max_epochs) for e in epochs] == [(1, 2), (2, 2)]
    assert "val accuracy" in text and "test accuracy" in text
    assert "epochs        2 (stopped by max_epochs)" in text


def test_ctrl_c_stops_a_running_train_and_the_session_goes_on():
    def interrupt(event):
        if event.epoch == 1:
            os.kill(os.getpid(), signal.SIGINT)  # what Ctrl-C at the terminal sends

    s = Session(on_epoch=interrupt)
    ok(s, "space = concat [flatten(), affine(units: 10)]")
    # the reply says how far training got and the best result so far
    assert re.fullmatch(r"training interrupted: stopped at epoch 1 of 10: best val accuracy "
                        r"0\.\d{4} so far \(latest 0\.\d{4}\)", failing(s, ":train"))
    assert ok(s, ":count") == "1 architecture"


def test_quit():
    s = Session()
    assert ok(s, ":quit") == ""
    assert s.quit_requested


# ---- the prompt, through a pipe -----------------------------------------------------------
def run_repl(keys, session=None, history=None):
    """Type `keys` into a real prompt session; return the replies it printed."""
    replies = []
    with create_pipe_input() as pipe:
        pipe.send_text(keys)
        repl = Repl(session or Session(), input=pipe, output=DummyOutput(), echo=replies.append,
                    history=history)
        pipe.close()
        assert repl.run() == 0
    return replies


def test_prompt_definition_count_sample_error_and_recovery():
    replies = run_repl(
        "w = one_of(32, 64)\r"
        "space = concat [\r"           # Enter inside a bracket continues the input
        "conv2d(filters: w, size: 3),\r"
        "relu(),\r"
        "]\r"
        ":count\r"
        ":sample space 4\r"
        "conv2d(filter: 3)\r"          # an error at run time
        ":count\r"                     # the session goes on
    )
    texts = [r.text for r in replies]
    assert texts[0] == "w: choice of 32 | 64"
    assert texts[1] == "space: sub-space, 2 architectures"
    assert texts[2] == "2 architectures"
    assert texts[3].startswith("# architecture ") and "conv2d(filters: " in texts[3]
    assert replies[3].darch
    assert not replies[4].ok and "did you mean `filters`?" in texts[4]
    assert texts[5] == "2 architectures"
    assert len(replies) == 6


def test_prompt_validator_blocks_a_syntax_error_and_puts_the_cursor_on_it():
    # The validator rejects `x = = 3` and moves the cursor to the second `=`; the
    # Delete key then removes exactly that `=`, and Enter runs the fixed line.
    replies = run_repl("x = = 3\r\x1b[3~\r:env\r")
    assert [r.text for r in replies] == ["x: 3", "x  3"]


def test_prompt_ctrl_c_drops_the_line_and_quit_ends():
    session = Session()
    replies = run_repl("x = 1\x03y = 2\r:quit\rz = 3\r", session)
    assert [r.text for r in replies] == ["y: 2"]
    assert session.user_names() == ["y"]
    assert session.quit_requested


def test_prompt_history_is_kept_in_a_file(tmp_path):
    path = tmp_path / "darchlang" / "repl_history"
    run_repl("w = 3\r:count w\r", history=open_history(path))
    assert isinstance(open_history(path), FileHistory)
    assert list(open_history(path).load_history_strings()) == [":count w", "w = 3"]


def test_history_lives_in_the_user_data_dir(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    assert history_path() == tmp_path / "darchlang" / "repl_history"


def test_a_bare_colon_is_an_unknown_command():
    assert failing(Session(), ":") == "error: unknown command `:`\n  = help: `:help` lists the commands"
