"""`--device` and `--set` of `darch train` and `darch search` are checked as the other
flags are: an unknown value is a usage error (exit 2) naming the closest one."""

from __future__ import annotations

import subprocess
import sys

import pytest


def darch(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "darchlang.cli", *args], capture_output=True,
                          text=True, timeout=120)


@pytest.mark.parametrize(("flag", "message"), [
    (["--device", "cdua"], "argument --device: invalid choice: 'cdua' (choose from 'cpu', "
                           "'cuda', 'cuda:N'); did you mean 'cuda'?"),
    (["--set", "learning_rat=0.1"], "argument --set: unknown training setting 'learning_rat'; "
                                    "did you mean 'learning_rate_init'?"),
    (["--set", "batch_size"], "argument --set: expected NAME=VALUE, got `batch_size`"),
])
@pytest.mark.parametrize("command", ["train", "search"])
def test_an_unknown_device_or_setting_is_a_usage_error(command, flag, message):
    done = darch(command, "examples/digits.darch", "--dataset", "digits", *flag)
    assert done.returncode == 2
    assert f"darch {command}: error: {message}" in done.stderr
    assert "Traceback" not in done.stderr


def test_known_devices_and_settings_pass_the_command_line():
    from darchlang.commands.common import device_name, setting_item

    assert [device_name(d) for d in ("cpu", "cuda", "cuda:1")] == ["cpu", "cuda", "cuda:1"]
    assert setting_item("optimizer=sgd_mom") == "optimizer=sgd_mom"
