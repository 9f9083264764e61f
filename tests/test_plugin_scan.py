"""Finding plugins without `importlib.metadata` when none is installed: the scan of
`sys.path` says no only when no metadata folder names the plugin group."""

from __future__ import annotations

import sys
import zipfile

import pytest

from darchlang import plugins


def declare(folder, meta: str, text: str) -> None:
    info = folder / meta
    info.mkdir(parents=True)
    (info / "entry_points.txt").write_text(text)


@pytest.fixture
def path(monkeypatch, tmp_path):
    monkeypatch.setattr(sys, "path", [str(tmp_path), str(tmp_path / "missing")])
    return tmp_path


def test_no_plugin_declared(path):
    declare(path, "other-1.0.dist-info", "[console_scripts]\nother = other:main\n")
    declare(path, "bare-2.0.dist-info", "")
    (path / "bare-2.0.dist-info" / "entry_points.txt").unlink()
    (path / "single.egg-info").write_text("Metadata-Version: 1.0\n")  # a file, not a folder
    assert plugins._may_declare_plugins() is False


@pytest.mark.parametrize("meta", ["sepconv-0.1.dist-info", "Old_Plugin-1.0.egg-info",
                                  "legacy-1.0-py3.11.egg/EGG-INFO"])
def test_a_declared_plugin_is_seen(path, meta):
    declare(path, meta, "[ darchlang.plugins ]\nsepconv = darch_sepconv:register\n")
    assert plugins._may_declare_plugins() is True


def test_a_zip_on_the_path_is_left_to_importlib_metadata(path):
    with zipfile.ZipFile(path / "bundle.zip", "w") as z:
        z.writestr("x.py", "")
    sys.path.append(str(path / "bundle.zip"))
    assert plugins._may_declare_plugins() is True

