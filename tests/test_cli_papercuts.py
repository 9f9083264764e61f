"""The `darch` command end to end on what reviewers found rough: which input shape a
command plans for, a space too entangled to count, seeds, streaming `sample`, and
the labels of sub-space options in a report's CSV and JSON."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

import darchlang
from darchlang.app.inputs import decide_input, mismatch
from darchlang.errors import DarchError, Source

ROOT = Path(__file__).resolve().parent.parent
DIGITS = str(ROOT / "examples" / "digits.darch")


def darch(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "darchlang.cli", *map(str, args)],
                          capture_output=True, text=True, cwd=cwd or ROOT, timeout=120)


def write(tmp_path: Path, text: str, name: str = "net.darch") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


# ---- the input shape: --input, the file's `# darch: input`, the dataset, the default ----
# a 5x5 window without padding: fine for 3x32x32, not for the 1x4x4 the file declares
POOLS = '# darch: input 1x4x4\nspace = conv2d(filters: 2, size: 5, padding: "valid")\n'


def test_decide_input_takes_the_flag_then_the_file_then_the_dataset_then_the_default():
    declared = Source("a.darch", "space = identity()\n\n# darch: input 64\n")
    plain = Source("b.darch", "space = identity()\n")
    digits = ("digits", (1, 8, 8))
    given = decide_input("3x8x8", declared, digits)
    assert (given.shape, given.origin, given.described()) == ((3, 8, 8), "given", "3x8x8")
    found = decide_input(None, declared, digits)
    assert (found.shape, found.described()) == ((64,), "64 (declared by `# darch: input` at a.darch:3)")
    assert decide_input(None, plain, digits).described() == "1x8x8 (the shape of dataset digits)"
    assert decide_input(None, plain).described() == "3x32x32 (the default; pass --input)"
    # a command that trains feeds the dataset: a declared shape other than its own warns
    assert mismatch(plain, "digits", (1, 8, 8)) is None
    warning = mismatch(declared, "digits", (1, 8, 8))
    assert warning.span.line == 3 and "declares input 64, but dataset digits" in warning.message


def test_a_declared_shape_that_does_not_read_is_an_error_at_its_line():
    with pytest.raises(DarchError) as caught:
        decide_input(None, Source("a.darch", "# comment\n# darch: input 3xx32\n"))
    err = caught.value
    assert (err.span.line, err.span.col, err.message) == (2, 16, "cannot read the input shape `3xx32`")


@pytest.mark.slow
def test_check_shapes_and_compile_follow_the_files_declared_input(tmp_path):
    path = write(tmp_path, POOLS)
    r = darch("check", "--shapes", path)
    assert r.returncode == 1, r.stderr
    assert f"for input 1x4x4 (declared by `# darch: input` at {path}:1)" in r.stderr
    # --input wins over the file, and then nothing is said about where it came from
    r = darch("check", "--shapes", "--input", "3x32x32", path)
    assert r.returncode == 0 and "compiles for input 3x32x32: it was" in r.stdout, r.stderr
    r = darch("compile", "--input", "3x32x32", path)
    assert r.returncode == 0 and "# for input" not in r.stdout, r.stderr
    # a token space: `# darch: input 64` is a feature count, which 3x32x32 is not
    tokens = write(tmp_path, "# darch: input 64\nspace = affine(units: 3)\n", "tokens.darch")
    r = darch("compile", tokens, "--json")
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    assert data["input"] == {"shape": "64", "from": "declared"}
    assert data["summary"]["input_shape"] == [64] and data["summary"]["total_params"] == 195


@pytest.mark.slow
def test_without_a_declared_input_the_default_is_named(tmp_path):
    path = write(tmp_path, "space = conv2d(filters: 4, size: 3)\n")
    r = darch("compile", path)
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines()[1] == "# for input 3x32x32 (the default; pass --input)"
    r = darch("check", "--shapes", path)
    assert "for input 3x32x32 (the default; pass --input):" in r.stdout
    r = darch("draw", path)
    assert r.returncode == 0 and "drawn for input 3x32x32 (the default" in r.stderr


@pytest.mark.slow
def test_an_unreadable_input_flag_is_a_usage_error():
    r = darch("compile", DIGITS, "--input", "3x")
    assert r.returncode == 2
    assert "argument --input: cannot read the input shape `3x`" in r.stderr


@pytest.mark.slow
def test_train_warns_when_the_declared_input_is_not_the_datasets(tmp_path):
    path = write(tmp_path, "# darch: input 3x32x32\nparam num_classes = 10\n"
                           "space = affine(units: num_classes)\n")
    r = darch("train", path, "--max-epochs", "1", "--json")
    assert r.returncode == 0, r.stderr
    assert (f"{path}:1:16: warning: the program declares input 3x32x32, but dataset digits "
            "has inputs of 1x8x8") in r.stderr


@pytest.mark.slow
def test_repl_compile_follows_the_loaded_files_declared_input(tmp_path):
    from darchlang.repl.session import Session

    path = write(tmp_path, "# darch: input 64\nspace = affine(units: 3)\n")
    session = Session()
    session.execute(f":load {path}")
    reply = session.execute(":compile")
    assert reply.ok, reply.text
    assert f"# for input 64 (declared by `# darch: input` at {path}:1)" in reply.text
    assert "# for input" not in session.execute(":compile space 128").text


# ---- a count out of reach is a warning, except for `darch count` --------------------------
# 100 steps: counting conditions on each step and walks the path after it, past its limit
LATTICE = """def nxt(l) = if l == 0 then one_of(0, 1) else if l == 1 then one_of(0, 1, 2) else one_of(1, 2)
def walk(n, l) = if n == 0 then l else walk(n - 1, nxt(l))
space = conv2d(filters: 8 * (1 + walk(100, 0)), size: 3)
"""


@pytest.mark.slow
def test_a_space_too_entangled_to_count_checks_shows_and_proves(tmp_path):
    path = write(tmp_path, LATTICE)
    r = darch("check", path)
    assert r.returncode == 0 and r.stdout == ""
    assert r.stderr.startswith(f"{path}:1:17: warning: this space is too entangled to count")
    assert "the space is valid" in r.stderr
    data = json.loads(darch("check", path, "--json").stdout)
    assert data["ok"] is True and data["errors"] == []
    assert [(w["line"], w["col"]) for w in data["warnings"]] == [(1, 17)]
    r = darch("show", path)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0].startswith("too entangled to count exactly") and lines[1].endswith("[?]")
    assert json.loads(darch("show", path, "--json").stdout)["count"] is None
    r = darch("check", "--shapes", path)
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("every architecture compiles for input 3x32x32")
    # counting is what cannot be done: `darch count` still fails, at the same place
    r = darch("count", path)
    assert r.returncode == 1
    assert r.stderr.startswith(f"{path}:1:17: error: this space is too entangled to count")


# ---- seeds: integers of at least 0, everywhere ---------------------------------------------
@pytest.mark.slow
@pytest.mark.parametrize("command", ["sample", "compile", "draw", "train", "search"])
def test_a_negative_seed_is_a_usage_error(command):
    r = darch(command, DIGITS, "--seed", "-1")
    assert r.returncode == 2
    assert "argument --seed: a seed must be an integer of at least 0, got -1" in r.stderr
    r = darch(command, DIGITS, "--seed", "1.5")
    assert r.returncode == 2 and "argument --seed: expected an integer, got '1.5'" in r.stderr


@pytest.mark.slow
def test_train_seed_refuses_negatives_too():
    for command in ("train", "search"):
        r = darch(command, DIGITS, "--train-seed", "-2")
        assert r.returncode == 2 and "argument --train-seed: a seed must be" in r.stderr


@pytest.mark.slow
def test_python_and_the_repl_refuse_seeds_that_are_not_counts():
    from darchlang.repl.session import Session
    from darchlang.search.base import make_searcher

    space = darchlang.load_file(DIGITS).space
    for seed in ("x", 1.5, -1, True):
        with pytest.raises(DarchError, match="a seed must be an integer of at least 0"):
            space.sample(seed=seed)
        with pytest.raises(DarchError, match="a seed must be an integer of at least 0"):
            space.sample_uniform(seed)
    with pytest.raises(DarchError, match="a seed must be an integer of at least 0, got -3"):
        make_searcher("random", space, -3)
    assert space.sample(seed=0).decisions == space.sample(seed=0).decisions
    session = Session()
    session.execute(f":load {DIGITS}")
    reply = session.execute(":sample space -1")
    assert not reply.ok and "a seed must be an integer of at least 0, got -1" in reply.text


# ---- sample streams, and a closed pipe is the end, not an error -----------------------------
@pytest.mark.slow
@pytest.mark.parametrize("mode", [[], ["--json"], ["--jsonl"]])
def test_sample_streams_and_stops_quietly_when_the_reader_goes(mode):
    start = time.monotonic()
    proc = subprocess.Popen([sys.executable, "-m", "darchlang.cli", "sample", DIGITS,
                             "-n", "100000000", *mode], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, cwd=ROOT)
    first = [proc.stdout.readline() for _ in range(3)]  # arrives while it still draws
    proc.stdout.close()
    code = proc.wait(timeout=60)
    assert time.monotonic() - start < 60
    assert all(first) and (code, proc.stderr.read()) == (0, "")
    if mode == ["--jsonl"]:
        assert json.loads(first[0])["decisions"]


@pytest.mark.slow
def test_sample_json_is_one_object_or_a_list_and_jsonl_one_a_line():
    one = json.loads(darch("sample", DIGITS, "--json").stdout)
    several = json.loads(darch("sample", DIGITS, "--json", "-n", "3").stdout)
    lines = darch("sample", DIGITS, "--jsonl", "-n", "3").stdout.splitlines()
    assert isinstance(one, dict) and several[0] == one
    assert [json.loads(line) for line in lines] == several


# ---- a sub-space option reads by its label in CSV and JSON, as in the tables ----------------
@pytest.mark.slow
def test_report_csv_and_json_label_sub_space_options(tmp_path):
    r = darch("search", DIGITS, "--synthetic", "1", "--budget", "6", "--seed", "1",
              "--journal", tmp_path / "run.db", "--no-progress")
    assert r.returncode == 0, r.stderr
    r = darch("report", tmp_path / "run.db", "--csv", tmp_path / "run.csv")
    assert r.returncode == 0, r.stderr
    rows = list(csv.DictReader((tmp_path / "run.csv").open()))
    swaps = {row["choice:space/0/1"] for row in rows}
    assert swaps <= {"relu, batch_norm", "batch_norm, relu"} and swaps
    assert {row["choice:space/1"] for row in rows} <= {
        "identity", "conv2d, [relu, batch_norm] | [batch_norm, relu]"}
    assert not any(cell.startswith("option ") for row in rows for cell in row.values())
    data = json.loads(darch("report", tmp_path / "run.db", "--json").stdout)
    values = {c["value"] for e in data["evaluations"] for c in e["choices"]}
    assert values & {"relu, batch_norm", "batch_norm, relu"}
    assert not any(str(v).startswith("option ") for v in values)
    assert {o["value"] for c in data["choices"] if c["name"] == "space/0/1"
            for o in c["options"]} <= {"relu, batch_norm", "batch_norm, relu"}


def test_check_warns_when_a_network_is_bound_but_not_as_space(tmp_path):
    """A file of functions and pieces is a library, and checks clean; one that binds a
    network under another name is most likely a program whose `space` is misnamed."""
    (tmp_path / "net.darch").write_text("net = concat [conv2d(filters: 8, size: 3), relu()]\n")
    done = darch("check", "net.darch", cwd=tmp_path)
    assert done.returncode == 0
    assert "warning: no `space` binding: net.darch is checked as a library" in done.stderr
    assert "--entry net" in done.stderr
    (tmp_path / "lib.darch").write_text("def block(c) = conv2d(filters: c, size: 3)\n")
    done = darch("check", "lib.darch", cwd=tmp_path)
    assert done.returncode == 0 and done.stderr == ""
