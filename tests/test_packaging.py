"""The wheel carries the grammar and the standard library (top-level folders in the
repository) and works when installed for real, away from the checkout."""

import os
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_wheel_installed_non_editable_counts_an_example(tmp_path):
    dist = tmp_path / "dist"
    subprocess.run([sys.executable, "-m", "pip", "wheel", str(ROOT), "--no-deps",
                    "--no-build-isolation", "-q", "-w", str(dist)], check=True, timeout=120)
    (wheel,) = dist.glob("darchlang-*.whl")

    env_dir = tmp_path / "env"
    venv.EnvBuilder(with_pip=False).create(env_dir)
    py = env_dir / "bin" / "python"
    purelib = subprocess.run([str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                             capture_output=True, text=True, check=True).stdout.strip()
    # The dependencies (lark, numpy, ...) come from this environment, after the new
    # environment's own site-packages; a path added by a .pth does not run that
    # directory's .pth files, so this environment's editable darchlang stays out.
    Path(purelib, "deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    subprocess.run([sys.executable, "-m", "pip", "--python", str(py), "install", "--no-deps",
                    "-q", str(wheel)], check=True, timeout=120)

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    where = subprocess.run([str(py), "-c", "import darchlang, darchlang.resources as r; "
                            "print(darchlang.__file__); print(r.stdlib_dir())"],
                           cwd=elsewhere, env=env, capture_output=True, text=True, check=True)
    package, stdlib = where.stdout.split()
    assert package.startswith(purelib) and stdlib.startswith(purelib)
    r = subprocess.run([str(env_dir / "bin" / "darch"), "count",
                        str(ROOT / "examples" / "cifar10_complex.darch")],
                       cwd=elsewhere, env=env, capture_output=True, text=True, timeout=120)
    assert (r.returncode, r.stdout, r.stderr) == (0, "278628139008\n", "")
