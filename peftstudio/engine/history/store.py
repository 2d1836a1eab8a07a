"""The SQLite store: an index of runs, versions, presets and conversations (the run folders stay the truth).

WAL mode lets the training thread write while the UI reads; each write is one transaction, so a process
killed mid-write leaves the database complete up to the last commit. The schema is versioned with
`PRAGMA user_version` and migrated forward step by step. `reindex` rebuilds the runs and versions from the
folders. A store that is missing while run folders exist, or that SQLite cannot read, is rebuilt the same
way (a damaged file is moved aside first, never deleted) and the user is told through `take_notices()`.
"""
from __future__ import annotations

import json
import logging
import os
import sqlite3
import threading
import time
from contextlib import contextmanager
from pathlib import Path

from peftstudio.engine import paths
from peftstudio.engine.runs.folder import DAMAGED_SUFFIX, RunFolder
from peftstudio.engine.runs.layout import CONFIG_FILE, INFO_FILE
from peftstudio.engine.runs.index import known_run_folders, run_folders_in

MIGRATIONS = [
    # 1: runs and versions
    """
    CREATE TABLE runs (id TEXT PRIMARY KEY, folder TEXT NOT NULL, model_name TEXT, dataset_path TEXT,
                       status TEXT, created TEXT, config TEXT, summary TEXT);
    CREATE TABLE versions (id TEXT PRIMARY KEY, model_name TEXT NOT NULL, version TEXT NOT NULL,
                           run_id TEXT NOT NULL REFERENCES runs(id), timestamp TEXT, config TEXT, metrics TEXT,
                           checkpoint_path TEXT, size_bytes INTEGER, parent_version TEXT,
                           active INTEGER DEFAULT 0, archived INTEGER DEFAULT 0, UNIQUE(model_name, version));
    CREATE INDEX runs_by_model ON runs(model_name);
    """,
    # 2: presets and saved conversations
    """
    CREATE TABLE presets (name TEXT PRIMARY KEY, profile_id TEXT, config TEXT, saved TEXT);
    CREATE TABLE conversations (id INTEGER PRIMARY KEY AUTOINCREMENT, run_id TEXT, title TEXT, messages TEXT,
                                saved TEXT);
    """,
    # 3: the run queue (training/run_queue.py) and sweeps (training/sweep.py; Optuna keeps its trials in its own
    # tables of this same file)
    """
    CREATE TABLE queue (id INTEGER PRIMARY KEY AUTOINCREMENT, position REAL NOT NULL, state TEXT NOT NULL,
                        title TEXT, config TEXT, annotations TEXT, run_dir TEXT, sweep_id TEXT, trial_number INTEGER,
                        planned_seconds REAL, added TEXT, started TEXT, ended TEXT, outcome TEXT);
    CREATE TABLE queue_control (key TEXT PRIMARY KEY, value TEXT);
    CREATE TABLE sweeps (id TEXT PRIMARY KEY, spec TEXT NOT NULL, created TEXT, deadline REAL, kept_run TEXT);
    """,
]


log = logging.getLogger(__name__)
_notices: list[str] = []


def take_notices() -> list[str]:
    """Messages for the user about the store (a rebuild after damage or loss), each given once."""
    taken = list(_notices)
    _notices.clear()
    return taken


class Store:
    def __init__(self, path: Path | None = None):
        self.path = Path(path) if path else paths.data_dir() / "peftstudio.sqlite3"
        self._local = threading.local()
        existed = self.path.exists()
        try:
            self._open()
        except sqlite3.DatabaseError as exc:  # garbage, truncated, or not a database at all
            moved = self._move_aside()
            self._open()
            count = self.rebuild()
            _notices.append(f"The history database was damaged ({exc}); it was moved to {moved.name} and "
                            f"rebuilt from {count} run folder(s). Nothing in the run folders was lost.")
            log.warning(_notices[-1])
            return
        if not existed:
            count = self.rebuild()
            if count:
                _notices.append(f"The history database was missing; it was rebuilt from {count} run folder(s).")
                log.warning(_notices[-1])

    def _open(self) -> None:
        with self.connection() as db:
            db.execute("PRAGMA journal_mode=WAL")
            self._migrate(db)
            db.execute("SELECT count(*) FROM runs").fetchone()  # reads a page: a damaged file shows here

    def _move_aside(self) -> Path:
        db = getattr(self._local, "db", None)
        if db is not None:
            db.close()
            self._local.db = None
        stamp = time.strftime("%Y%m%d-%H%M%S")
        target = self.path.with_name(f"{self.path.name}.damaged-{stamp}")
        os.replace(self.path, target)
        for suffix in ("-wal", "-shm"):  # the journal belongs to the damaged file
            side = self.path.with_name(self.path.name + suffix)
            if side.exists():
                os.replace(side, target.with_name(target.name + suffix))
        return target

    def rebuild(self) -> int:
        """Runs and versions from the run folders (the truth); returns how many run folders were read."""
        folders = known_run_folders(self.path.parent)  # the store lives in its data folder
        count = self._index(folders)
        restore_versions(self, folders)
        return count

    def _connect(self) -> sqlite3.Connection:
        db = getattr(self._local, "db", None)
        if db is None:
            db = sqlite3.connect(self.path, timeout=30, isolation_level=None)  # explicit transactions below
            db.row_factory = sqlite3.Row
            db.execute("PRAGMA foreign_keys=ON")
            db.execute("PRAGMA synchronous=NORMAL")
            self._local.db = db
        return db

    @contextmanager
    def connection(self):
        yield self._connect()

    @contextmanager
    def transaction(self):
        db = self._connect()
        db.execute("BEGIN IMMEDIATE")
        try:
            yield db
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")

    def _migrate(self, db: sqlite3.Connection) -> None:
        current = db.execute("PRAGMA user_version").fetchone()[0]
        for number, script in enumerate(MIGRATIONS[current:], start=current + 1):
            db.execute("BEGIN IMMEDIATE")
            try:
                for statement in filter(str.strip, script.split(";")):
                    db.execute(statement)
                db.execute(f"PRAGMA user_version={number}")
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")

    @property
    def schema_version(self) -> int:
        with self.connection() as db:
            return db.execute("PRAGMA user_version").fetchone()[0]

    # ---- runs --------------------------------------------------------------------------------
    def upsert_run(self, info: dict, folder: Path, config: dict | None = None) -> None:
        with self.transaction() as db:
            db.execute(
                "INSERT INTO runs(id, folder, model_name, dataset_path, status, created, config, summary) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(id) DO UPDATE SET folder=excluded.folder, "
                "model_name=excluded.model_name, dataset_path=excluded.dataset_path, status=excluded.status, "
                "config=excluded.config, summary=excluded.summary",
                (info["id"], str(Path(folder).resolve()), info.get("model_name"), info.get("dataset_path"),
                 info.get("status"), info.get("created"), json.dumps(config or {}),
                 json.dumps(info.get("summary") or {})))

    def index_preset(self, name: str, profile_id: str, config: dict) -> None:
        with self.transaction() as db:
            db.execute("INSERT INTO presets(name, profile_id, config, saved) VALUES (?, ?, ?, datetime('now')) "
                       "ON CONFLICT(name) DO UPDATE SET profile_id=excluded.profile_id, config=excluded.config, "
                       "saved=excluded.saved", (name, profile_id, json.dumps(config)))

    def presets(self) -> list[dict]:
        with self.connection() as db:
            return [_row(r) for r in db.execute("SELECT * FROM presets ORDER BY saved DESC")]

    def runs(self, model_name: str | None = None, status: str | None = None, search: str = "") -> list[dict]:
        query, args = "SELECT * FROM runs WHERE 1=1", []
        if model_name:
            query, args = query + " AND model_name = ?", args + [model_name]
        if status:
            query, args = query + " AND status = ?", args + [status]
        if search:
            query, args = query + " AND (id LIKE ? OR model_name LIKE ? OR dataset_path LIKE ?)", \
                args + [f"%{search}%"] * 3
        with self.connection() as db:
            return [_row(r) for r in db.execute(query + " ORDER BY created DESC", args)]

    def run(self, run_id: str) -> dict | None:
        with self.connection() as db:
            row = db.execute("SELECT * FROM runs WHERE id = ?", (run_id,)).fetchone()
        return _row(row) if row else None

    def reindex(self, runs_dir: Path | None = None) -> int:
        """Rebuild the runs (and missing versions) from the run folders (the source of truth)."""
        if runs_dir is None:
            return self.rebuild()
        folders = run_folders_in(runs_dir)
        count = self._index(folders)
        restore_versions(self, folders)
        return count

    def _index(self, folders: list[Path]) -> int:
        """Index the folders; a damaged run.json is rebuilt from the run's config and events (the damaged one
        kept), and a folder whose config cannot be read is skipped; both are said once (take_notices)."""
        count = 0
        for folder in folders:
            run = RunFolder(folder)
            try:
                config = run.config_fields()
            except (OSError, ValueError) as exc:
                _notices.append(f"Skipped {run.path}: its {CONFIG_FILE} cannot be read ({exc}); the run's files "
                                "were left as they are.")
                continue
            problem = run.info_problem()
            if problem is not None:
                try:
                    run.rebuild_info()
                except OSError as exc:
                    _notices.append(f"Skipped {run.path}: {problem}, and it could not be rebuilt ({exc}).")
                    continue
                _notices.append(f"Rebuilt {run.path / INFO_FILE} from the run's settings and events: {problem} "
                                f"(the damaged file was kept as {INFO_FILE}{DAMAGED_SUFFIX}).")
            self.upsert_run({**run.info(), "id": run.id}, run.path, config)
            count += 1
        return count


VERSION_FIELDS = ("id", "model_name", "version", "run_id", "timestamp", "config", "metrics", "checkpoint_path",
                  "size_bytes", "parent_version")


def version_key(version: str) -> tuple[int, ...]:
    """Versions compare by their numbers, not as text: 1.10.0 comes after 1.9.0."""
    return tuple(int(x) for x in version.split("."))


def restore_versions(store: Store, run_folders: list[Path]) -> int:
    """Put back the versions recorded in run folders that the store lacks; the newest of each name is active."""
    restored = 0
    with store.connection() as db:
        known = {r[0] for r in db.execute("SELECT id FROM versions")}
        taken = {(r[0], r[1]) for r in db.execute("SELECT model_name, version FROM versions")}
    for folder in run_folders:
        try:
            info = RunFolder(folder).info()
            record = info.get("version_record")
            if not isinstance(record, dict) or record.get("id") in known or \
                    (record.get("model_name"), record.get("version")) in taken:
                continue
            record = {k: record[k] for k in VERSION_FIELDS}
        except (OSError, ValueError, KeyError, TypeError):
            continue
        if store.run(record["run_id"]) is None:
            config = RunFolder(folder).config_fields()
            store.upsert_run(info, folder, config)
        with store.transaction() as db:
            db.execute("INSERT INTO versions(id, model_name, version, run_id, timestamp, config, metrics, "
                       "checkpoint_path, size_bytes, parent_version, active, archived) "
                       "VALUES (?,?,?,?,?,?,?,?,?,?,0,?)",
                       (record["id"], record["model_name"], record["version"], record["run_id"],
                        record["timestamp"], json.dumps(record["config"]), json.dumps(record["metrics"]),
                        record["checkpoint_path"], record["size_bytes"], record["parent_version"],
                        int(bool(info.get("archived")))))
        known.add(record["id"])
        taken.add((record["model_name"], record["version"]))
        restored += 1
    if restored:
        with store.transaction() as db:  # each name's newest version is the active one, unless one already is
            for (name,) in db.execute("SELECT DISTINCT model_name FROM versions").fetchall():
                if db.execute("SELECT 1 FROM versions WHERE model_name=? AND active=1", (name,)).fetchone():
                    continue
                rows = db.execute("SELECT id, version FROM versions WHERE model_name=?", (name,)).fetchall()
                newest = max(rows, key=lambda r: version_key(r[1]))
                db.execute("UPDATE versions SET active = 1 WHERE id = ?", (newest[0],))
    return restored


def _row(row: sqlite3.Row) -> dict:
    data = dict(row)
    for key in ("config", "summary", "metrics"):
        if isinstance(data.get(key), str):
            data[key] = json.loads(data[key])
    return data


_STORES: dict[Path, Store] = {}


def default_store() -> Store:
    """The store of the current data folder (one per folder, shared by the threads of this process)."""
    path = paths.data_dir() / "peftstudio.sqlite3"
    if path not in _STORES:
        _STORES[path] = Store(path)
    return _STORES[path]
