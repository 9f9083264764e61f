"""Process-wide settings that darchlang borrows while it works, and gives back.

A library must not change its user's process behind their back, but two settings
matter here:

- the recursion limit: programs nest (user functions call themselves up to the
  interpreter's MAX_CALL_DEPTH, expressions nest up to the parser's MAX_DEPTH) and the
  phases that walk them (interpreting, formatting, counting, printing) recurse in
  Python, past the default limit of 1,000 frames;
- the cyclic garbage collector: parsing and building a large program make hundreds of
  thousands of objects without cycles, and the collector's repeated passes over them
  cost more than the work itself (a 1 MB program: 8 s with it, 3.5 s without).

- the limit on digits of integer/text conversion (4,300 by default): an exact count of
  architectures can be longer (ten options repeated 5,000 times: 5,001 digits), and
  darchlang's own integers are bounded by its limits, so its commands raise the limit
  to LONG_DIGITS, which converts in a fraction of a second.

Each is changed only inside its context manager. The settings are one per process, so
the first of several overlapping blocks (in any thread) changes the setting and the
last one restores it.
"""

from __future__ import annotations

import gc
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager

STACK_FRAMES = 20_000
LONG_DIGITS = 100_000


class _Borrowed:
    """A setting held by any number of overlapping users; restored when the last leaves."""

    def __init__(self, take: Callable[[], object], give_back: Callable[[object], None]):
        self._take, self._give_back = take, give_back
        self._lock = threading.Lock()
        self._users = 0
        self._saved: object = None

    @contextmanager
    def held(self) -> Iterator[None]:
        with self._lock:
            if self._users == 0:
                self._saved = self._take()
            self._users += 1
        try:
            yield
        finally:
            with self._lock:
                self._users -= 1
                if self._users == 0:
                    self._give_back(self._saved)


def _raise_limit() -> int:
    saved = sys.getrecursionlimit()
    if saved < STACK_FRAMES:
        sys.setrecursionlimit(STACK_FRAMES)
    return saved


def _pause_gc() -> bool:
    was_on = gc.isenabled()
    gc.disable()
    return was_on


def _raise_digits() -> int:
    saved = sys.get_int_max_str_digits()
    if 0 < saved < LONG_DIGITS:
        sys.set_int_max_str_digits(LONG_DIGITS)
    return saved


_RECURSION = _Borrowed(_raise_limit, sys.setrecursionlimit)
_DIGITS = _Borrowed(_raise_digits, sys.set_int_max_str_digits)
_GC = _Borrowed(_pause_gc, lambda was_on: gc.enable() if was_on else None)


def deep_recursion() -> AbstractContextManager[None]:
    """Room for STACK_FRAMES Python frames inside the block; the previous limit after it."""
    return _RECURSION.held()


def long_integers() -> AbstractContextManager[None]:
    """Integers of up to LONG_DIGITS digits convert to and from text inside the block."""
    return _DIGITS.held()


def no_cyclic_gc() -> AbstractContextManager[None]:
    """The cyclic collector paused inside the block (reference counting still frees
    everything that is not in a cycle); as it was after it."""
    return _GC.held()
