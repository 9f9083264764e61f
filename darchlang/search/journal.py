"""The journal: every evaluation of a search in one SQLite file, written as it happens.

A row is written when an evaluation starts (status `running`) and completed when it
ends (`ok` or `failed`, with score, metrics, reason and times). A candidate refused
before training (its shapes cannot work, or it breaks a `max_params`/`max_macs`
constraint) is one row of status `invalid` with its reason: asked and told at once,
never run, and not counted among the finished evaluations. Each write is one
SQLite transaction in WAL mode with `synchronous=NORMAL`: a committed row survives
the process being killed at any moment (even SIGKILL), and a commit costs no disk
flush, so recording is far faster than any evaluation (only a power cut can lose the
last few commits; pass `durable=True` for a flush per commit).

Besides the rows, the journal keeps the search's configuration (space fingerprint,
searcher, seed, options, evaluator settings) so a resume can refuse to mix results
of different searches, and an event counter: each row records the event number of
its ask and of its result, so a resumed searcher can be told the history in exactly
the order the original one saw it.

A running row also counts how many of its attempts ended their process (`deaths`: a
worker killed, or the whole search killed while it ran) and carries a `heartbeat`,
the last time the search running it said it was alive, so a reader can tell a row
that is still running from one left behind by a search that is gone.

Only one search writes a journal at a time (an advisory lock on the file); reports
may read it while a search runs.
"""

from __future__ import annotations

import json
import math
import os
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from darchlang.arch.graph import Architecture
from darchlang.errors import DarchError
from darchlang.train.result import EvalResult

FORMAT = 2  # 2 added `deaths` and `heartbeat`; a format-1 journal is migrated on open
FINISHED = ("ok", "failed")
INVALID = "invalid"  # refused before training: not run, not counted against the budget
STALE = 60.0  # seconds without a heartbeat after which, without file locks, a row is stale

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS evaluations (
    idx INTEGER PRIMARY KEY,
    identity TEXT NOT NULL,
    decisions TEXT NOT NULL,
    names TEXT NOT NULL,
    choice_values TEXT NOT NULL,
    text TEXT NOT NULL,
    status TEXT NOT NULL,
    score REAL,
    metrics TEXT NOT NULL DEFAULT '{}',
    reason TEXT,
    detail TEXT,
    settings TEXT NOT NULL DEFAULT '{}',
    reused INTEGER,
    attempts INTEGER NOT NULL DEFAULT 1,
    deaths INTEGER NOT NULL DEFAULT 0,
    heartbeat REAL,
    asked_at INTEGER NOT NULL,
    told_at INTEGER,
    started REAL NOT NULL,
    finished REAL,
    seconds REAL
);
CREATE INDEX IF NOT EXISTS evaluations_identity ON evaluations(identity);
"""

# A scheduled search (`--scheduler`) trains candidates in rungs: each finished rung is
# a row of `rungs`, its intermediate values rows of `curves`, and the moments a
# bracket was closed early rows of `marks`; each carries an event number, so a resume
# replays them among the asks and tells in the order they happened. A `marks` row
# `running INDEX` says a job of that candidate is running (see search/scheduled.py).
_SCHEDULE_SCHEMA = """
CREATE TABLE IF NOT EXISTS rungs (
    idx INTEGER NOT NULL,
    rung INTEGER NOT NULL,
    epochs INTEGER NOT NULL,
    status TEXT NOT NULL,
    score REAL,
    metrics TEXT NOT NULL DEFAULT '{}',
    reason TEXT,
    seconds REAL,
    trained_all INTEGER NOT NULL,
    pruned INTEGER NOT NULL,
    event INTEGER NOT NULL,
    PRIMARY KEY (idx, rung)
);
CREATE TABLE IF NOT EXISTS curves (
    idx INTEGER NOT NULL,
    rung INTEGER NOT NULL,
    step INTEGER NOT NULL,
    value REAL,
    time REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS curves_idx ON curves(idx);
CREATE TABLE IF NOT EXISTS marks (event INTEGER PRIMARY KEY, kind TEXT NOT NULL);
"""

_COLUMNS = (
    "idx, identity, decisions, names, choice_values, text, status, score, metrics, reason, "
    "detail, settings, reused, attempts, asked_at, told_at, started, finished, seconds, "
    "deaths, heartbeat"
)
# What format 2 added to the rows of format 1, and how a read-only format-1 journal
# (which cannot be migrated) reads them.
_ADDED = (("deaths", "INTEGER NOT NULL DEFAULT 0", "0"), ("heartbeat", "REAL", "NULL"))


@dataclass
class Evaluation:
    """One row of the journal: an architecture, how it was picked and how it did.

    `index` is the ask number; `reused` is the index of the earlier evaluation of the
    same architecture whose result this one took instead of training again.
    """

    index: int
    identity: str
    decisions: list[int]
    names: list[str]
    values: list[Any]
    text: str
    status: str
    score: float | None = None
    metrics: dict[str, Any] = field(default_factory=dict)
    reason: str | None = None
    detail: str | None = None
    settings: dict[str, Any] = field(default_factory=dict)
    reused: int | None = None
    attempts: int = 1
    asked_at: int = 0
    told_at: int | None = None
    started: float = 0.0
    finished: float | None = None
    seconds: float | None = None
    deaths: int = 0
    heartbeat: float | None = None

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    @property
    def done(self) -> bool:
        return self.status in FINISHED

    @property
    def invalid(self) -> bool:
        """Refused before training: it never ran and does not count as finished."""
        return self.status == INVALID

    @property
    def settled(self) -> bool:
        """Finished or refused: nothing is left to run for it."""
        return self.done or self.invalid

    def choices(self) -> dict[str, Any]:
        """Each active choice's name mapped to the value it took."""
        return dict(zip(self.names, self.values, strict=True))

    def result(self) -> EvalResult:
        """The result as the evaluator reported it (for telling a searcher again)."""
        return EvalResult(
            status=self.status,
            score=self.score,
            metrics=dict(self.metrics),
            reason=self.reason,
            identity=self.identity,
            settings=dict(self.settings),
            seconds=self.seconds or 0.0,
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "identity": self.identity,
            "status": self.status,
            "score": self.score,
            "decisions": list(self.decisions),
            "choices": [
                {"name": n, "index": d, "value": v}
                for n, d, v in zip(self.names, self.decisions, self.values, strict=True)
            ],
            "metrics": self.metrics,
            "reason": self.reason,
            "settings": self.settings,
            "reused": self.reused,
            "attempts": self.attempts,
            "started": self.started,
            "finished": self.finished,
            "seconds": self.seconds,
            "text": self.text,
        }


@dataclass
class RungRow:
    """One finished rung of one candidate in a scheduled search."""

    index: int
    rung: int
    epochs: int
    status: str
    score: float | None
    metrics: dict[str, Any]
    reason: str | None
    seconds: float | None
    trained_all: bool
    pruned: bool
    event: int

    def result(self) -> EvalResult:
        return EvalResult(status=self.status, score=self.score, metrics=dict(self.metrics),
                          reason=self.reason, seconds=self.seconds or 0.0)


def journal_error(path: Path | None, exc: sqlite3.DatabaseError) -> DarchError:
    """A SQLite failure as the user can act on it: a damaged file, one that cannot be
    written (a read-only mount or file), a full disk, or a file that is not SQLite."""
    where = ":memory:" if path is None else str(path)
    text = str(exc)
    if "malformed" in text or "corrupt" in text:
        return damaged(path, f"({text})")
    if "readonly" in text or "read-only" in text:
        return DarchError(
            f"the journal {where} cannot be written: the file or its folder is read-only",
            help="`darch report` can still read it; to continue the search, copy it to a "
                 "writable place (`darch journal backup`) and give that --journal")
    if "disk is full" in text or "disk I/O" in text:
        return DarchError(f"cannot write the journal {where}: {text}",
                          help="free some disk space and run the same command again")
    if "not a database" in text or "file is encrypted" in text:
        return DarchError(f"{where} is not a darchlang journal (it is not a SQLite file)",
                          help="give the file that `darch search --journal` wrote")
    return DarchError(f"the journal {where} failed: {text}")


def damaged(path: Path | None, what: str) -> DarchError:
    """A journal whose file or whose rows are not what darchlang wrote (a damaged page,
    a bit flipped inside a row, an edit by hand)."""
    where = ":memory:" if path is None else str(path)
    return DarchError(f"the journal {where} is damaged {what}",
                      help=f"recover what SQLite can with `sqlite3 {where} .recover | sqlite3 "
                           f"recovered.db`, or start a new journal")


def _decoded(text: Any, kind: type, column: str) -> Any:
    """A JSON column of a row, of the kind darchlang wrote; ValueError naming the column
    when it is not (the page holding it was damaged, or it was edited)."""
    try:
        value = json.loads(text)
    except (TypeError, ValueError):
        value = None
    items = {"decisions": int, "names": str}.get(column)
    if not isinstance(value, kind) or (items is not None and not all(
            isinstance(v, items) and not isinstance(v, bool) for v in value)):
        raise ValueError(f"its `{column}` is not what darchlang writes there")
    return value


def _number(value: Any, column: str) -> Any:
    if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)):
        raise ValueError(f"its `{column}` is not a number")
    return value


def _locked(path: Path) -> bool | None:
    """Whether a search holds the writer's lock on `path` now (None: no locks here)."""
    try:
        import fcntl
    except ImportError:
        return None
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except OSError:
        return True
    finally:
        os.close(fd)  # closing drops a lock taken here
    return False


def _make_folder(path: Path) -> None:
    """The folder a journal (or its copy) goes in; a clear error when it cannot be."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        blocker = next((p for p in path.parents if p.exists() and not p.is_dir()), path.parent)
        raise DarchError(f"cannot put the journal at {path}: {blocker} is a file, not a folder",
                         help="give a --journal path whose folders are folders") from None
    except OSError as exc:
        raise DarchError(f"cannot create the folder of {path}: {exc.strerror or exc}") from None


class _Rows(list):
    """A query's rows, read at once so that a damaged page fails inside the guard."""

    def fetchone(self) -> Any:
        return self[0] if self else None

    def fetchall(self) -> list[Any]:
        return list(self)


class _Database:
    """The journal's SQLite connection: every SQLite failure becomes the DarchError of
    `journal_error`, wherever in the journal it happens."""

    def __init__(self, connection: sqlite3.Connection, path: Path | None):
        self.connection, self.path = connection, path

    def _guard(self, fn: Any, *args: Any) -> Any:
        try:
            return fn(*args)
        except sqlite3.IntegrityError:
            raise
        except sqlite3.DatabaseError as exc:
            raise journal_error(self.path, exc) from None

    def execute(self, sql: str, params: Any = ()) -> _Rows:
        return self._guard(lambda: _Rows(self.connection.execute(sql, params)))

    def executemany(self, sql: str, rows: Any) -> None:
        self._guard(self.connection.executemany, sql, rows)

    def executescript(self, script: str) -> None:
        self._guard(self.connection.executescript, script)

    def close(self) -> None:
        self.connection.close()


def _journals_in(folder: Path) -> str:
    """What to give instead of a folder: the journals in it, when it has some."""
    found = sorted(str(p) for p in folder.glob("*.db") if p.is_file())
    if not found:
        return f"give a journal's file, such as {folder / 'search.db'}"
    shown = ", ".join(found[:5]) + (f" and {len(found) - 5} more" if len(found) > 5 else "")
    return f"give one of the journals in it: {shown}"


def _shown(value: Any) -> str:
    """A recorded setting as a note shows it: JSON, with a missing one as `none`."""
    return "none" if value is None else dumps(value)


def _open(path: Path | None, create: bool) -> tuple[sqlite3.Connection, bool]:
    """A connection, and whether it is read-only: a journal that cannot be written (a
    read-only file or mount) opens read-only for reading, so `report` still works."""
    target = ":memory:" if path is None else str(path)
    try:
        if path is None or create or (os.access(path, os.W_OK)
                                      and os.access(path.parent, os.W_OK)):
            return sqlite3.connect(target, isolation_level=None, timeout=30.0), False
        uri = f"{path.resolve().as_uri()}?mode=ro"
        if not any(path.with_name(path.name + s).exists() for s in ("-wal", "-shm")):
            uri += "&immutable=1"  # nothing can be written here: read it as it is
        return sqlite3.connect(uri, uri=True, isolation_level=None, timeout=30.0), True
    except sqlite3.Error as exc:
        raise DarchError(f"cannot open the journal {target} ({exc})") from None


class Journal:
    """A search's SQLite journal; `Journal(None)` keeps it in memory for a one-off search."""

    def __init__(self, path: str | os.PathLike[str] | None = None, *, durable: bool = False,
                 create: bool = True):
        self.path = None if path is None else Path(path)
        if self.path is not None and self.path.is_dir():
            raise DarchError(f"{self.path} is a folder, not a journal", help=_journals_in(self.path))
        if self.path is not None and not create and not self.path.exists():
            raise DarchError(f"no journal at {self.path}",
                             help="`darch search ... --journal PATH` writes one")
        if self.path is not None and not create and self.path.is_file() \
                and self.path.stat().st_size == 0:
            raise DarchError(f"the journal {self.path} is empty: no search has written to it",
                             help="`darch search ... --journal PATH` fills it")
        if self.path is not None and create:
            _make_folder(self.path)
        connection, self.read_only = _open(self.path, create)
        self.db = _Database(connection, self.path)
        try:
            if not self.read_only:
                self.db.execute("PRAGMA journal_mode=WAL")
                self.db.execute(f"PRAGMA synchronous={'FULL' if durable else 'NORMAL'}")
            self._init_schema(create)
        except BaseException:
            self.db.close()
            raise
        self._lock_fd: int | None = None
        self._identities: set[str] | None = None  # of every row, once `lookup` needs them
        self._columns = _COLUMNS
        if self._old:  # read-only format 1: the added columns read as their defaults
            for name, _, default in _ADDED:
                self._columns = self._columns.replace(f", {name}", f", {default}")
        row = self.db.execute(
            "SELECT MAX(COALESCE(told_at, asked_at)), MAX(asked_at), "
            "(SELECT MAX(event) FROM rungs), (SELECT MAX(event) FROM marks) FROM evaluations"
        ).fetchone()
        self._event = max(-1 if v is None else v for v in row) + 1

    def _init_schema(self, create: bool) -> None:
        self._old = False
        have = {r[0] for r in self.db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        if "evaluations" not in have:
            if not create or have:  # never write into someone else's database
                raise DarchError(f"{self.path} is not a darchlang journal (no evaluations table)")
            self.db.executescript(_SCHEMA + _SCHEDULE_SCHEMA)
            self.db.execute("INSERT OR IGNORE INTO meta VALUES ('format', ?)", (str(FORMAT),))
            return
        fmt = self.db.execute("SELECT value FROM meta WHERE key='format'").fetchone()
        if fmt is not None and not str(fmt[0]).isdigit():
            raise damaged(self.path, f"(its format is {str(fmt[0])[:20]!r}, not a number)")
        if fmt is not None and int(fmt[0]) == FORMAT - 1:
            self._migrate()
        elif fmt is None or int(fmt[0]) != FORMAT:
            raise DarchError(
                f"{self.path} is a journal of format {fmt[0] if fmt else 'unknown'}; "
                f"this darchlang reads format {FORMAT}"
            )
        if "rungs" not in have:  # written before schedulers existed
            self.db.executescript(_SCHEDULE_SCHEMA)

    def _migrate(self) -> None:
        """Bring a journal of the previous format up to this one (new columns with
        their defaults), in one transaction; a read-only one is read as it is."""
        if self.read_only:
            self._old = True
            return
        with self.batch():
            for name, kind, _ in _ADDED:
                self.db.execute(f"ALTER TABLE evaluations ADD COLUMN {name} {kind}")
            self.db.execute("UPDATE meta SET value=? WHERE key='format'", (str(FORMAT),))

    # -- lifetime -----------------------------------------------------------------------
    def close(self) -> None:
        """Close; a writer first folds the write-ahead log back into the `.db` file, so
        after a clean exit the `.db` alone holds everything (it can be copied or mailed)."""
        if self.path is not None and self._lock_fd is not None:
            try:
                self.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            except DarchError:
                pass  # a busy reader keeps the log; SQLite folds it in on the next open
        self.release()
        self.db.close()

    def backup(self, target: str | os.PathLike[str]) -> Path:
        """A consistent copy of the journal at `target`, safe while a search writes it
        (SQLite's online backup: the copy is one moment of the journal)."""
        target = Path(target)
        if target.exists():
            raise DarchError(f"{target} already exists", help="give a new file for the copy")
        _make_folder(target)
        try:
            copy = sqlite3.connect(str(target))
        except sqlite3.Error as exc:
            raise DarchError(f"cannot create the copy {target} ({exc})") from None
        try:
            self.db._guard(self.db.connection.backup, copy)
        finally:
            copy.close()
        return target

    def __enter__(self) -> Journal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def acquire(self) -> None:
        """Take the writer's lock, so two searches never write one journal at once."""
        if self.path is None or self._lock_fd is not None:
            return
        if self.read_only:
            raise journal_error(self.path, sqlite3.OperationalError("readonly database"))
        try:
            import fcntl
        except ImportError:  # Windows: no advisory lock; SQLite still keeps rows whole.
            return
        fd = os.open(self.path, os.O_RDWR)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            raise DarchError(
                f"the journal {self.path} is in use by another search",
                help="wait for it to finish, or give this search its own --journal",
            ) from None
        self._lock_fd = fd

    def release(self) -> None:
        if self._lock_fd is not None:
            os.close(self._lock_fd)  # closing drops the flock
            self._lock_fd = None

    def stale(self, now: float | None = None) -> list[int]:
        """The `running` rows whose search is gone: no search holds the writer's lock
        (where there are no locks, Windows: their heartbeat is older than `STALE` s)."""
        now = now if now is not None else time.time()
        rows = [r for r in self.evaluations() if r.status == "running"]
        if not rows or self._lock_fd is not None:
            return []
        alive = _locked(self.path) if self.path is not None else True
        if alive is None:
            return [r.index for r in rows if now - (r.heartbeat or r.started) > STALE]
        return [] if alive else [r.index for r in rows]

    # -- configuration --------------------------------------------------------------------
    def config(self) -> dict[str, Any] | None:
        """The configuration of the search that wrote this journal (None if new)."""
        row = self.db.execute("SELECT value FROM meta WHERE key='config'").fetchone()
        try:
            return None if row is None else _decoded(row[0], dict, "config")
        except ValueError as exc:
            raise damaged(self.path, f"(the search's configuration: {exc})") from None

    def meta(self, key: str) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        return None if row is None else row[0]

    def set_meta(self, key: str, value: str) -> None:
        self.db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, value))

    def check_config(self, config: dict[str, Any]) -> None:
        """Record `config` for a new journal, or refuse one that differs from the record."""
        stored = self.config()
        if stored is None:
            self.set_meta("config", dumps(config))
            self.set_meta("created", repr(time.time()))
            return
        differing = [key for key in sorted(set(stored) | set(config))
                     if _canonical(stored.get(key)) != _canonical(config.get(key))]
        if "searcher" in differing and "options" in differing:
            differing.remove("options")  # another searcher has other options, of course
        differences = [
            f"{key}: the journal has {_shown(stored.get(key))}, this search {_shown(config.get(key))}"
            for key in differing
        ]
        if differences:
            raise DarchError(
                f"the journal {self.path} was written by a different search",
                notes=differences,
                help="resume with the same space, searcher, seed and settings, "
                "or start a new journal",
            )

    # -- reading ------------------------------------------------------------------------
    def evaluations(self, status: str | None = None) -> list[Evaluation]:
        """Every row (or those of one `status`), in ask order."""
        where, params = ("", ()) if status is None else (" WHERE status=?", (status,))
        return [self._row(r) for r in self.db.execute(
            f"SELECT {self._columns} FROM evaluations{where} ORDER BY idx", params)]

    def invalid_in_a_row(self) -> int:
        """How many of the last asks, in ask order, were refused before training."""
        return self.db.execute(
            "SELECT COUNT(*) FROM evaluations WHERE status=? AND idx > "
            "(SELECT COALESCE(MAX(idx), -1) FROM evaluations WHERE status != ?)",
            (INVALID, INVALID)).fetchone()[0]

    def finished(self) -> list[Evaluation]:
        """Finished evaluations in the order their results arrived."""
        return [
            self._row(r)
            for r in self.db.execute(
                f"SELECT {self._columns} FROM evaluations WHERE status IN ('ok', 'failed') ORDER BY told_at"
            )
        ]

    def get(self, index: int) -> Evaluation:
        """The row of ask `index`."""
        row = self.db.execute(f"SELECT {self._columns} FROM evaluations WHERE idx=?", (index,)).fetchone()
        if row is None:
            raise KeyError(index)
        return self._row(row)

    def count_finished(self) -> int:
        return self.db.execute(
            "SELECT COUNT(*) FROM evaluations WHERE status IN ('ok', 'failed')"
        ).fetchone()[0]

    def lookup(self, identity: str) -> Evaluation | None:
        """The first finished, freshly run evaluation of an architecture, if any.

        A result not yet told to the searcher (a synchronous batch still open) does
        not count: until it is told, the architecture is still in flight. An identity
        with no row at all (most asks) is answered without a query: the journal knows
        the identities of its rows (read once, then kept as this writer adds rows)."""
        if self._identities is None:
            self._identities = {r[0] for r in self.db.execute("SELECT identity FROM evaluations")}
        if identity not in self._identities:
            return None
        row = self.db.execute(
            f"SELECT {self._columns} FROM evaluations WHERE identity=? AND status IN ('ok', 'failed') "
            "AND reused IS NULL AND told_at IS NOT NULL ORDER BY idx LIMIT 1",
            (identity,),
        ).fetchone()
        return None if row is None else self._row(row)

    def rung_results(self) -> list[RungRow]:
        """Every finished rung of a scheduled search, in the order they finished."""
        rows = self.db.execute("SELECT idx, rung, epochs, status, score, metrics, reason, "
                               "seconds, trained_all, pruned, event FROM rungs ORDER BY event")
        try:
            return [RungRow(*r[:4], _number(r[4], "score"), _decoded(r[5], dict, "metrics"),
                            r[6], r[7], bool(r[8]), bool(r[9]), r[10]) for r in rows]
        except ValueError as exc:
            raise damaged(self.path, f"(a rung: {exc})") from None

    def curves(self) -> dict[int, list[tuple[int, int, float | None, float]]]:
        """Each candidate's intermediate values: (rung, step, value, time), in order."""
        out: dict[int, list[tuple[int, int, float | None, float]]] = {}
        for idx, rung, step, value, at in self.db.execute(
                "SELECT idx, rung, step, value, time FROM curves ORDER BY idx, rung, rowid"):
            out.setdefault(idx, []).append((rung, step, value, at))
        return out

    def marks(self) -> list[tuple[int, str]]:
        """(event, kind) of each bracket closed early and each job running, in order."""
        return list(self.db.execute("SELECT event, kind FROM marks ORDER BY event"))

    # -- writing ------------------------------------------------------------------------
    def record_rung(self, index: int, rung: int, epochs: int, result: EvalResult, *,
                    trained_all: bool, pruned: bool) -> None:
        """Record one finished rung of a candidate and its intermediate values (its
        `curve`): whether it trained all `epochs`, whether median stopping cut it."""
        self.db.execute(
            "INSERT INTO rungs (idx, rung, epochs, status, score, metrics, reason, seconds, "
            "trained_all, pruned, event) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (index, rung, epochs, result.status, _score(result.score), dumps(result.metrics),
             result.reason, result.seconds or None, int(trained_all), int(pruned),
             self._tick()))
        curve = result.curve
        self.db.executemany(
            "INSERT INTO curves (idx, rung, step, value, time) VALUES (?, ?, ?, ?, ?)",
            [(index, rung, step, _score(value), at) for step, value, at in curve])

    def mark(self, kind: str) -> None:
        """Record a scheduler event that changes what comes next (a bracket closed)."""
        self.db.execute("INSERT INTO marks VALUES (?, ?)", (self._tick(), kind))

    def start(self, index: int, arch: Architecture, now: float | None = None) -> None:
        """Record that the evaluation of ask `index` begins (status `running`)."""
        now = now if now is not None else time.time()
        self.db.execute(
            "INSERT INTO evaluations (idx, identity, decisions, names, choice_values, text, "
            "status, asked_at, started, heartbeat) VALUES (?, ?, ?, ?, ?, ?, 'running', ?, ?, ?)",
            (index, arch.identity, dumps(arch.decisions), dumps(arch.names),
             dumps(_values(arch)), arch.text, self._tick(), now, now),
        )
        self._added(arch.identity)

    def refuse(self, index: int, arch: Architecture, reason: str,
               now: float | None = None) -> Evaluation:
        """Record ask `index` as `invalid` (refused before training, with `reason`):
        asked and told in one row, so a resumed searcher hears it in order; the row."""
        return self._insert_told(index, arch, now, status=INVALID, reason=reason)

    def restart(self, index: int, now: float | None = None, *, died: bool = False) -> None:
        """An unfinished evaluation (the search was killed, or its worker died) is about
        to run again; `died`: its last attempt ended its process (one more death)."""
        now = now if now is not None else time.time()
        self.db.execute(
            "UPDATE evaluations SET status='running', attempts=attempts+1, deaths=deaths+?, "
            "started=?, heartbeat=? WHERE idx=?", (int(died), now, now, index),
        )

    def died(self, index: int) -> int:
        """Count one more attempt of `index` that ended its process; the total."""
        self.db.execute("UPDATE evaluations SET deaths=deaths+1 WHERE idx=?", (index,))
        return self.db.execute("SELECT deaths FROM evaluations WHERE idx=?", (index,)).fetchone()[0]

    def beat(self, indices: list[int], now: float | None = None) -> None:
        """The search running these evaluations is alive (their heartbeat)."""
        now = now if now is not None else time.time()
        self.db.executemany("UPDATE evaluations SET heartbeat=? WHERE idx=? AND status='running'",
                            [(now, i) for i in indices])

    def finish(self, index: int, result: EvalResult, detail: str | None = None,
               now: float | None = None, *, told: bool = True) -> Evaluation:
        """Record the result of evaluation `index` (one statement, so one transaction
        of its own outside a `batch`); the row as recorded.

        `told=False` keeps the result without numbering its telling yet (a synchronous
        batch tells its results in ask order once all are in; `told` numbers it then),
        so a search killed mid-batch keeps the result and still replays in order."""
        now = now if now is not None else time.time()
        return self._updated(
            "UPDATE evaluations SET status=?, score=?, metrics=?, reason=?, detail=?, settings=?, "
            "told_at=?, finished=?, seconds=COALESCE(?, ? - started) WHERE idx=?",
            (result.status, _score(result.score), dumps(result.metrics), result.reason, detail,
             dumps(result.settings), self._tick() if told else None, now, result.seconds or None,
             now, index),
        )

    def told(self, index: int) -> Evaluation:
        """Number the telling of a result recorded with `finish(..., told=False)`; the row."""
        return self._updated("UPDATE evaluations SET told_at=? WHERE idx=?",
                             (self._tick(), index))

    def _updated(self, sql: str, params: tuple) -> Evaluation:
        """Run an UPDATE of one row; that row as it is now, read by the same statement
        (`RETURNING`), so recording a result and reading it back is one round trip."""
        row = self.db.execute(f"{sql} RETURNING {self._columns}", params).fetchone()
        if row is None:
            raise KeyError(params[-1])
        return self._row(row)

    def resolve(self, index: int, source: Evaluation, now: float | None = None) -> Evaluation:
        """A started row (a twin of an architecture that was in flight) takes `source`'s
        result without training, as `reuse` does for a new row; the row."""
        now = now if now is not None else time.time()
        return self._updated(
            "UPDATE evaluations SET status=?, score=?, metrics=?, reason=?, settings=?, reused=?, "
            "told_at=?, finished=?, seconds=0 WHERE idx=?",
            (source.status, source.score, dumps(source.metrics), source.reason,
             dumps(source.settings), source.index, self._tick(), now, index),
        )

    def interrupt(self, index: int) -> None:
        """Mark an evaluation stopped by Ctrl-C; a resumed search runs it again."""
        self.db.execute("UPDATE evaluations SET status='interrupted' WHERE idx=? AND status='running'",
                        (index,))

    def reuse(self, index: int, arch: Architecture, source: Evaluation,
              now: float | None = None) -> Evaluation:
        """Record ask `index` as a repeat of `source`, taking its result without training;
        the new row."""
        return self._insert_told(index, arch, now, status=source.status, score=source.score,
                          metrics=dumps(source.metrics), reason=source.reason,
                          settings=dumps(source.settings), reused=source.index)

    def _insert_told(self, index: int, arch: Architecture, now: float | None,
                     **columns: Any) -> Evaluation:
        """A row asked and told at once, never run (a reused result, a refused one); the
        row as recorded (read by the insert itself)."""
        now = now if now is not None else time.time()
        row = {"idx": index, "identity": arch.identity, "decisions": dumps(arch.decisions),
               "names": dumps(arch.names), "choice_values": dumps(_values(arch)),
               "text": arch.text, **columns, "asked_at": self._tick(), "told_at": self._tick(),
               "started": now, "finished": now, "seconds": 0}
        stored = self.db.execute(f"INSERT INTO evaluations ({', '.join(row)}) "
                                 f"VALUES ({', '.join('?' * len(row))}) RETURNING {self._columns}",
                                 tuple(row.values())).fetchone()
        self._added(arch.identity)
        return self._row(stored)

    def _added(self, identity: str) -> None:
        if self._identities is not None:
            self._identities.add(identity)

    @contextmanager
    def batch(self) -> Iterator[None]:
        """Group several writes in one transaction (all or none)."""
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    def _tick(self) -> int:
        event = self._event
        self._event += 1
        return event

    def _row(self, r: tuple) -> Evaluation:
        """One row as an `Evaluation`; a row that is not what darchlang wrote is a
        `DarchError` that says which (never a traceback from deep inside a report)."""
        try:
            if not isinstance(r[1], str) or not isinstance(r[5], str) or r[6] is None:
                raise ValueError("its identity, text or status is missing")
            decisions, names = _decoded(r[2], list, "decisions"), _decoded(r[3], list, "names")
            values = _decoded(r[4], list, "choice_values")
            if not len(decisions) == len(names) == len(values):
                raise ValueError("its decisions, names and values do not match")
            return Evaluation(
                index=r[0], identity=r[1], decisions=decisions, names=names, values=values,
                text=r[5], status=str(r[6]), score=_number(r[7], "score"),
                metrics=_decoded(r[8], dict, "metrics"), reason=r[9], detail=r[10],
                settings=_decoded(r[11], dict, "settings"), reused=r[12], attempts=r[13],
                asked_at=r[14], told_at=r[15], started=r[16], finished=r[17],
                seconds=_number(r[18], "seconds"), deaths=r[19], heartbeat=r[20],
            )
        except ValueError as exc:
            raise damaged(self.path, f"(evaluation #{r[0]}: {exc})") from None


def _plain(value: Any) -> Any:
    item = getattr(value, "item", None)
    if callable(item):
        return item()
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    return str(value)


# One encoder for every column (`json.dumps` with options builds a new one per call).
_ENCODER = json.JSONEncoder(separators=(",", ":"), default=_plain, allow_nan=True)


def dumps(value: Any) -> str:
    """Compact JSON for journal columns; numpy numbers and odd objects become plain data."""
    return _ENCODER.encode(value)


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=_plain)


def _score(score: float | None) -> float | None:
    if score is None:
        return None
    score = float(score)
    return score if math.isfinite(score) else None


def _values(arch: Architecture) -> list[Any]:
    from darchlang.arch.printer import to_jsonable

    return [to_jsonable(v) for v in arch.values]
