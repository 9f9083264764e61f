"""Plugin discovery: packages extend darchlang through the `darchlang.plugins` entry
point group. Each entry point names a `register(registry)` function that adds layers,
functions and evaluators through the same public API the built-ins use.

A plugin that fails to import or to register is recorded with its error (and shown by
`darch plugins`); it never stops darchlang from starting.
"""

from __future__ import annotations

import traceback
from importlib.metadata import entry_points

from darchlang.layers.registry import PluginInfo, Registry

GROUP = "darchlang.plugins"


def load_plugins(registry: Registry) -> list[PluginInfo]:
    """Run every installed plugin's `register` on `registry`; return what happened."""
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
        info.error = apply_plugin(registry, register, ep.name, info)
    registry.plugins.extend(infos)
    return infos


def apply_plugin(registry: Registry, register, name: str, info: PluginInfo | None = None) -> str | None:
    """Call one `register(registry)` on a scratch copy; keep its additions only if it worked."""
    scratch = registry.copy()
    scratch.origin = f"plugin {name}"
    try:
        register(scratch)
    except Exception as exc:
        where = traceback.extract_tb(exc.__traceback__)[-1]
        return f"{type(exc).__name__}: {exc} (at {where.filename}:{where.lineno})"
    added = [n for n in scratch.layers if n not in registry.layers]
    added += [n for n in scratch.functions if n not in registry.functions]
    added += [f"evaluator {n}" for n in scratch.evaluators if n not in registry.evaluators]
    for n in scratch.layers:
        if n not in registry.layers:
            layer = scratch.layers[n]
            if layer.origin == "darchlang":
                layer.origin = f"plugin {name}"
            registry.layers[n] = layer
    for n in scratch.functions:
        if n not in registry.functions:
            fn = scratch.functions[n]
            if getattr(fn, "origin", "darchlang") == "darchlang":
                fn.origin = f"plugin {name}"
            registry.functions[n] = fn
    for n in scratch.evaluators:
        registry.evaluators.setdefault(n, scratch.evaluators[n])
    if info is not None:
        info.provides = added
    return None
