"""Plugin discovery: packages extend darchlang through the `darchlang.plugins` entry
point group. Each entry point names a `register(env)` function that receives the
`Environment` and adds layers (with their lowerings), functions, evaluators, searchers,
datasets and schedulers through the same `add_*` methods the built-ins use.

A plugin that fails to import or to register is recorded with its error (and shown by
`darch plugins`); it never stops darchlang from starting, and nothing it added before
failing is kept.
"""

from __future__ import annotations

import traceback
from collections.abc import Callable
from importlib.metadata import entry_points

from darchlang.environment import Environment, PluginInfo

GROUP = "darchlang.plugins"


def load_plugins(env: Environment) -> list[PluginInfo]:
    """Run every installed plugin's `register` on `env`; return what happened."""
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
