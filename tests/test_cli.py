"""The `darch` command end to end, in subprocesses, exit codes included."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

GOLDEN = Path(__file__).parent / "golden"


def darch(*args, cwd=None, input=None):
    return subprocess.run([sys.executable, "-m", "darchlang.cli", *args], capture_output=True,
                          text=True, cwd=cwd, input=input, timeout=120)


def test_check_ok_prints_nothing():
    r = darch("check", "examples/cifar10_complex.darch")
    assert (r.returncode, r.stdout, r.stderr) == (0, "", "")


def test_check_error_format_and_exit_code(tmp_path):
    bad = tmp_path / "bad.darch"
    bad.write_text("space = concat [\n    conv2(filters: 3),\n]\n")
    r = darch("check", str(bad))
    assert r.returncode == 1 and r.stdout == ""
    lines = r.stderr.splitlines()
    assert lines[0] == f"{bad}:2:5: error: unknown name `conv2`"
    assert lines[2] == "2 |     conv2(filters: 3),"
    assert lines[3] == "  |     ^^^^^"
    assert lines[4] == "  = help: did you mean `conv2d`?"
    assert "Traceback" not in r.stderr


def test_debug_shows_the_traceback(tmp_path):
    bad = tmp_path / "bad.darch"
    bad.write_text("space = conv2(filters: 3)\n")
    r = darch("--debug", "check", str(bad))
    assert r.returncode == 1 and "Traceback" in r.stderr


@pytest.mark.slow
def test_wrong_command_line_exits_2():
    assert darch("count").returncode == 2
    assert darch("frobnicate").returncode == 2
    r = darch("count", "examples/cifar10_simple.darch", "-D", "oops")
    assert r.returncode == 2 and "NAME=VALUE" in r.stderr


def test_missing_file_is_an_error_not_a_crash():
    r = darch("count", "nope.darch")
    assert r.returncode == 1 and r.stderr.strip() == "error: no such file: nope.darch"


@pytest.mark.slow
def test_count_is_an_exact_integer():
    r = darch("count", "examples/cifar10_joint.darch")
    assert r.stdout.strip() == "1141260857376768"
    r = darch("count", "examples/cifar10_simple.darch", "--json")
    assert json.loads(r.stdout) == {"count": "2025", "choices": 6, "networks": "2025",
                                    "settings": None}


def test_count_with_define():
    r = darch("count", "examples/cifar10_simple.darch", "-D", "num_classes=100")
    assert r.returncode == 0 and r.stdout.strip() == "2025"


@pytest.mark.parametrize("name", ["derived_values", "cifar10_simple"])
def test_show_golden(name):
    r = darch("show", f"examples/{name}.darch")
    assert r.returncode == 0
    assert r.stdout == (GOLDEN / "show" / f"{name}.txt").read_text()


def test_show_json_lists_every_choice():
    data = json.loads(darch("show", "examples/cifar10_complex.darch", "--json").stdout)
    assert data["count"] == "278628139008"
    assert len(data["choices"]) == len({c["name"] for c in data["choices"]})


@pytest.mark.slow
def test_sample_is_reproducible_and_reparses(tmp_path):
    a = darch("sample", "examples/cifar10_complex.darch", "--seed", "3", "-n", "2")
    b = darch("sample", "examples/cifar10_complex.darch", "--seed", "3", "-n", "2")
    assert a.returncode == 0 and a.stdout == b.stdout
    first = a.stdout.split("\n\n# architecture")[0]
    path = tmp_path / "one.darch"
    path.write_text(first)
    assert darch("count", str(path)).stdout.strip() == "1"


@pytest.mark.slow
def test_sample_json_and_replay():
    data = json.loads(darch("sample", "examples/cifar10_joint.darch", "--seed", "5", "--json").stdout)
    assert set(data) == {"identity", "decisions", "choices", "hyperparams", "text"}
    assert [c["index"] for c in data["choices"]] == data["decisions"]
    again = darch("sample", "examples/cifar10_joint.darch", "--json",
                  "--decisions", ",".join(map(str, data["decisions"])))
    assert json.loads(again.stdout)["identity"] == data["identity"]


@pytest.mark.slow
def test_fmt_check_and_in_place(tmp_path):
    path = tmp_path / "m.darch"
    path.write_text("space=concat[relu(),tanh()]\n")
    assert darch("fmt", "--check", str(path)).returncode == 1
    assert darch("fmt", str(path)).stdout == "space = concat [relu(), tanh()]\n"
    assert darch("fmt", "-i", str(path)).returncode == 0
    assert path.read_text() == "space = concat [relu(), tanh()]\n"
    assert darch("fmt", "--check", str(path)).returncode == 0


def test_console_script_is_installed():
    import shutil

    exe = shutil.which("darch")
    assert exe is not None
    r = subprocess.run([exe, "count", "examples/derived_values.darch"], capture_output=True,
                       text=True, timeout=120)
    assert r.stdout.strip() == "6"
