"""Fingerprints: what a journal records about its search, and what a resume must match.

A journal may only be resumed by the same search: the same choices, searcher, seed,
options and evaluator settings. The fingerprint of a space hashes only what decides
which architectures exist, so reformatting a program keeps its journals usable.
"""

from __future__ import annotations

import hashlib
from typing import Any

from darchlang.arch.printer import to_jsonable
from darchlang.errors import CountOutOfReach
from darchlang.search.base import Searcher
from darchlang.space.nodes import Const
from darchlang.space.space import Space


def space_fingerprint(space: Space) -> str:
    """A hash of the space's choices (names, options) and size.

    Reformatting a program or editing its comments keeps the fingerprint; adding,
    renaming or changing a choice does not. A resume also replays recorded decisions
    and compares identities, which catches changes outside the choices.
    """
    digest = hashlib.sha256()
    for choice in space.choices:
        options = [repr(to_jsonable(o.value)) if type(o) is Const else type(o).__name__
                   for o in choice.options]
        digest.update(f"{choice.name}\x1f{'|'.join(options)}\x1e".encode())
    try:
        size = str(space.count())
    except CountOutOfReach:  # a search needs no count; the choices name the space
        size = "?"
    digest.update(size.encode())
    return digest.hexdigest()[:16]


def search_config(space: Space, searcher: Searcher, settings: dict[str, Any] | None,
                  scheduler: Any = None) -> dict[str, Any]:
    """What a journal records about its search, and what a resume must match (the
    scheduler only when there is one, so journals of unscheduled searches read as
    they always have)."""
    config = {
        "space": space_fingerprint(space),
        **searcher.config(),
        "settings": to_jsonable(settings or {}),
    }
    if scheduler is not None:
        config["scheduler"] = scheduler.config()
    return config
