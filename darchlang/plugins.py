"""Plugin discovery: packages extend darchlang through the `darchlang.plugins` entry
point group. Each entry point names a `register(env)` function that receives the
`Environment` and adds layers (with their lowerings), functions, evaluators, searchers,
datasets and schedulers through the same `add_*` methods the built-ins use.

A plugin that fails to import or to register is recorded with its error (and shown by
`darch plugins`); it never stops darchlang from starting, and nothing it added before
failing is kept.
"""

from __future__ import annotations

import os
import sys
import traceback
from collections.abc import Callable

from darchlang.environment import Environment, PluginInfo

GROUP = "darchlang.plugins"


def load_plugins(env: Environment) -> list[PluginInfo]:
    """Run every installed plugin's `register` on `env`; return what happened."""
    if not _may_declare_plugins():
        return []
    from importlib.metadata import entry_points

    infos = []
    for ep in sorted(entry_points(group=GROUP), key=lambda e: e.name):
        dist = getattr(ep, "dist", None)
        info = PluginInfo(ep.name, ep.value, f"{dist.name} {dist.version}" if dist else "")
        infos.append(info)
        try:
            register = ep.load()
        except Exception as exc:  # a broken plugin is reported, not fatal
            info.error = f"cannot import {ep.value}: {type(exc).__name__}: {exc}"
            continue
        info.error = apply_plugin(env, register, ep.name, info)
    env.plugins.extend(infos)
    return infos


def apply_plugin(env: Environment, register: Callable[[Environment], None], name: str,
                 info: PluginInfo | None = None) -> str | None:
    """Call one `register(env)` on a scratch copy; keep its additions only if it worked."""
    scratch = env.copy()
    scratch.origin = f"plugin {name}"
    try:
        register(scratch)
    except Exception as exc:
        where = traceback.extract_tb(exc.__traceback__)[-1]
        return f"{type(exc).__name__}: {exc} (at {where.filename}:{where.lineno})"
    added = env.adopt(scratch)
    if info is not None:
        info.provides = added
    return None


def _may_declare_plugins() -> bool:
    """False only when no installed distribution declares a darchlang plugin.

    Importing `importlib.metadata` and asking it for entry points costs about a sixth of
    a `darch count`, and almost every installation has no plugin. So the metadata
    folders (`*.dist-info`, `*.egg-info`, `*.egg/EGG-INFO`) of the folders on `sys.path`
    are read first, as `importlib.metadata` finds them, for the group's name;
    anything this cannot read the same way (a zip file on the path, another finder of
    distributions) answers True, and `importlib.metadata` decides."""
    import importlib.machinery

    if any(hasattr(finder, "find_distributions") and finder is not importlib.machinery.PathFinder
           for finder in sys.meta_path):
        return True
    for entry in sys.path:
        folder = entry or "."
        try:
            children = os.scandir(folder)
        except FileNotFoundError:
            continue
        except NotADirectoryError:
            return True  # a zip file or egg: importlib.metadata reads inside it
        except OSError:
            continue  # unreadable: importlib.metadata skips it too
        with children:
            for child in children:
                name = child.name.lower()
                if name.endswith((".dist-info", ".egg-info")):
                    info = child.path
                elif name.endswith(".egg"):
                    info = os.path.join(child.path, "EGG-INFO")
                else:
                    continue
                try:
                    with open(os.path.join(info, "entry_points.txt"), encoding="utf-8") as f:
                        if GROUP in f.read():  # its section, or more: then it decides
                            return True
                except (FileNotFoundError, NotADirectoryError):
                    continue
                except (OSError, UnicodeDecodeError):
                    return True
    return False
