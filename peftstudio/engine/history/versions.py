"""Model versions: every completed run becomes a numbered version of a named model.

Version rule (semantic, per model name), against the latest version of that name:
    first version                         1.0.0
    the base model changed                major + 1   (2.0.0)
    the dataset changed (path or content) minor + 1   (1.1.0)
    only hyperparameters changed          patch + 1   (1.0.1)
The model name defaults to the dataset file's name ("support-bot" for support-bot.jsonl).
"""
from __future__ import annotations

import hashlib
import json
import re
import shutil
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from peftstudio.engine.config import TrainingConfig
from peftstudio.engine.errors import PlainError
from peftstudio.engine.history.store import default_store, version_key, Store, VERSION_FIELDS
from peftstudio.engine.runs.folder import RunFolder
from peftstudio.engine.runs.lock import is_locked_elsewhere, run_in_use


@dataclass
class Bump:
    kind: str  # major | minor | patch | first
    version: str


# what the dataset repair and common habits append to a file name; not part of the model's name
_FILE_SUFFIXES = re.compile(r"([._-](fixed|repaired|clean(ed)?|final|v\d+|copy))+$", re.IGNORECASE)


def clean_model_name(text: str) -> str:
    """A model name usable in file names and for Ollama: letters, digits, dot, dash, underscore."""
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text.strip()).strip("-._").lower()[:64] or "model"


def default_model_name(config: TrainingConfig) -> str:
    """The dataset's name without '.fixed' and similar file-name suffixes ('shop.fixed.jsonl' -> 'shop')."""
    stem = Path(config.dataset_path).stem if config.dataset_path else "model"
    return clean_model_name(_FILE_SUFFIXES.sub("", stem) or stem)


def rename_model(store: Store, old: str, new: str) -> int:
    """Give every version of `old` the name `new` (store and run folders); returns how many were renamed."""
    new = clean_model_name(new)
    if new != old and list_versions(store, new):
        raise PlainError(title="That name is taken", what=f"There are already versions called {new}.",
                         why="Each model name has its own version numbers.",
                         actions=["Choose another name.", "Or archive or delete the other model's versions first."],
                         help_topic="history")
    renamed = list_versions(store, old)
    with store.connection() as db:
        db.execute("UPDATE versions SET model_name = ? WHERE model_name = ?", (new, old))
    for version in renamed:
        folder = verified_run_folder(version)
        if folder is not None:  # the run folder's own copy, so a rebuilt store keeps the new name
            info = RunFolder(folder).info()
            summary = dict(info.get("summary") or {}, version=f"{new} v{version['version']}")
            RunFolder(folder).update_info(version_record=(info.get("version_record") or {}) | {"model_name": new},
                                          summary=summary, version_name=new)
    return len(renamed)


def next_version(parent: dict | None, config: TrainingConfig, dataset_hash: str) -> Bump:
    if parent is None:
        return Bump("first", "1.0.0")
    major, minor, patch = (int(x) for x in parent["version"].split("."))
    old = parent["config"]
    if old.get("model_name") != config.model_name:
        return Bump("major", f"{major + 1}.0.0")
    if old.get("dataset_path") != config.dataset_path or parent["metrics"].get("dataset_hash") != dataset_hash:
        return Bump("minor", f"{major}.{minor + 1}.0")
    return Bump("patch", f"{major}.{minor}.{patch + 1}")


def folder_size(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) if folder.exists() else 0


def file_hash(path: str) -> str:
    try:
        with open(path, "rb") as handle:
            return hashlib.sha256(handle.read()).hexdigest()[:16]
    except OSError:
        return ""


def _free_number(bump: Bump, taken: set[str]) -> Bump:
    """The next unused number of the same kind (continuing 1.2.0 when 1.3.0 exists gives 1.4.0)."""
    version = bump.version
    while version in taken:
        major, minor, patch = (int(x) for x in version.split("."))
        version = {"major": f"{major + 1}.0.0", "minor": f"{major}.{minor + 1}.0"}.get(
            bump.kind, f"{major}.{minor}.{patch + 1}")
    return Bump(bump.kind, version)


def create_version(store: Store, run_dir: Path, config: TrainingConfig, summary: dict,
                   model_name: str | None = None, parent_version: str | None = None) -> dict:
    """Property 30: version number, timestamp, configuration and metrics for a completed run.

    The parent is the model's latest version, or `parent_version` when the run continued that one; the bump is
    decided against the parent and moves on to the next free number of its kind when that one is taken."""
    model_name = model_name or default_model_name(config)
    run_dir = Path(run_dir).resolve()
    existing = version_of_run(store, run_dir)
    if existing is not None:  # a finish interrupted after the version was recorded: one run, one version
        return existing | {"bump": "same"}
    dataset_hash = file_hash(config.dataset_path)
    versions = list_versions(store, model_name)
    parent = next((v for v in versions if v["version"] == parent_version), None) if parent_version else None
    parent = parent or (versions[-1] if versions else None)
    bump = _free_number(next_version(parent, config, dataset_hash), {v["version"] for v in versions})
    version = {
        "id": uuid.uuid4().hex[:12], "model_name": model_name, "version": bump.version, "run_id": run_dir.name,
        "timestamp": datetime.now(timezone.utc).isoformat(), "config": config.to_dict(),
        "metrics": {**{k: v for k, v in summary.items() if k != "quality"}, "dataset_hash": dataset_hash,
                    "run_uid": _run_uid(run_dir)},
        "checkpoint_path": str(RunFolder(run_dir).adapter), "size_bytes": folder_size(run_dir),
        "parent_version": parent["version"] if parent else None,
    }
    if store.run(run_dir.name) is None:  # versions point at indexed runs
        store.upsert_run({**RunFolder(run_dir).info(), "id": run_dir.name}, run_dir, config.to_dict())
    with store.transaction() as db:
        db.execute("UPDATE versions SET active = 0 WHERE model_name = ?", (model_name,))
        db.execute("INSERT INTO versions(id, model_name, version, run_id, timestamp, config, metrics, "
                   "checkpoint_path, size_bytes, parent_version, active) VALUES (?,?,?,?,?,?,?,?,?,?,1)",
                   (version["id"], model_name, version["version"], version["run_id"], version["timestamp"],
                    json.dumps(version["config"]), json.dumps(version["metrics"]), version["checkpoint_path"],
                    version["size_bytes"], version["parent_version"]))
    return version | {"bump": bump.kind, "active": True}


def versions_record(version: dict) -> dict:
    """What run.json keeps of its version, enough to rebuild the store's row (see `restore_versions`)."""
    return {k: version[k] for k in VERSION_FIELDS}


def _run_uid(run_dir: Path) -> str | None:
    return RunFolder(run_dir).uid


def verified_run_folder(version: dict) -> Path | None:
    """The version's run folder, only if it provably is that run (absolute, and `RunFolder.holds` it).
    Anything else is never deleted."""
    recorded = Path(version["checkpoint_path"]).parent
    if not recorded.is_absolute():
        return None
    folder = RunFolder(recorded)
    return folder.path if folder.holds(version["run_id"], (version.get("metrics") or {}).get("run_uid")) else None


def version_of_run(store: Store, run_dir: Path) -> dict | None:
    uid = _run_uid(run_dir)
    with store.connection() as db:
        rows = [dict(r) for r in db.execute("SELECT * FROM versions WHERE run_id = ?", (run_dir.name,))]
    for row in rows:
        row["config"], row["metrics"] = json.loads(row["config"]), json.loads(row["metrics"])
        if Path(row["checkpoint_path"]).parent == run_dir and row["metrics"].get("run_uid") == uid:
            return row
    return None


def record_scorecard(run_dir: Path, scores: dict, store: Store | None = None) -> dict | None:
    """Keep a run's scorecard numbers with its version (store and run.json's version record)."""
    store = store or default_store()
    run_dir = Path(run_dir).resolve()
    version = version_of_run(store, run_dir)
    if version is None:
        return None
    metrics = dict(version["metrics"], scorecard=scores)
    with store.connection() as db:
        db.execute("UPDATE versions SET metrics = ? WHERE id = ?", (json.dumps(metrics), version["id"]))
    info = RunFolder(run_dir).info()
    if isinstance(info.get("version_record"), dict):
        RunFolder(run_dir).update_info(version_record=dict(info["version_record"], metrics=metrics))
    return dict(version, metrics=metrics)


def worse_than_parent(store: Store, version: dict) -> str | None:
    """Why this version scores worse than the one it followed, in words; None when it does not (or unknown)."""
    mine = (version.get("metrics") or {}).get("scorecard") or {}
    earlier = [v for v in list_versions(store, version["model_name"])
               if version_key(v["version"]) < version_key(version["version"])]
    if not mine or not earlier:
        return None
    parent = (earlier[-1].get("metrics") or {}).get("scorecard") or {}
    reasons = []
    if mine.get("task_tuned") is not None and parent.get("task_tuned") is not None:
        higher = mine.get("task_higher_is_better", True)
        if (mine["task_tuned"] < parent["task_tuned"]) if higher else (mine["task_tuned"] > parent["task_tuned"]):
            reasons.append(f"its task score is {mine['task_tuned']:.3g} against {parent['task_tuned']:.3g}")
    if (mine.get("skills_change_percent") or 0) < (parent.get("skills_change_percent") or 0) - 5:
        reasons.append(f"its general skills are {mine['skills_change_percent']:+.0f}% vs base against "
                       f"{parent['skills_change_percent']:+.0f}%")
    if not reasons:
        return None
    return f"v{version['version']} scores worse than v{earlier[-1]['version']}: " + " and ".join(reasons) + "."


def list_versions(store: Store, model_name: str | None = None, include_archived: bool = True) -> list[dict]:
    query, args = "SELECT * FROM versions WHERE 1=1", []
    if model_name:
        query, args = query + " AND model_name = ?", [model_name]
    if not include_archived:
        query += " AND archived = 0"
    with store.connection() as db:
        rows = [dict(r) for r in db.execute(query + " ORDER BY timestamp", args)]
    for row in rows:
        row["config"], row["metrics"] = json.loads(row["config"]), json.loads(row["metrics"])
    return sorted(rows, key=lambda r: (r["model_name"], version_key(r["version"])))


def latest_version(store: Store, model_name: str) -> dict | None:
    versions = list_versions(store, model_name)
    return versions[-1] if versions else None


def find_version(store: Store, model_name: str, version: str) -> dict:
    found = next((v for v in list_versions(store, model_name) if v["version"] == version.lstrip("v")), None)
    if found is None:
        raise PlainError(
            title="Version not found",
            what=f"{model_name} has no version {version}.",
            why="It may have been deleted, or the model name is different.",
            actions=["List the versions with 'peftstudio versions list'.", "Check the model name's spelling."],
            help_topic="runs",
        )
    return found


def rollback(store: Store, model_name: str, version: str) -> dict:
    """Make an earlier version the active one (used by the playground and export)."""
    target = find_version(store, model_name, version)
    with store.transaction() as db:
        db.execute("UPDATE versions SET active = 0 WHERE model_name = ?", (model_name,))
        db.execute("UPDATE versions SET active = 1, archived = 0 WHERE id = ?", (target["id"],))
    return target


def archive(store: Store, model_name: str, keep_latest: int) -> list[dict]:
    """Archive all but the newest `keep_latest` versions: their checkpoints go, their adapters stay."""
    versions = list_versions(store, model_name)
    older = versions[:-keep_latest] if keep_latest > 0 else versions
    old = [v for v in older if not v["archived"] and not v["active"]]  # the active version stays usable
    done = []
    for version in old:
        run_dir = verified_run_folder(version)
        if run_dir is None:  # its folder moved or is another run's now: no file is touched
            continue
        checkpoints = RunFolder(run_dir).checkpoints
        if checkpoints.is_dir() and not checkpoints.is_symlink():
            shutil.rmtree(checkpoints)
        RunFolder(run_dir).update_info(archived=True)
        with store.transaction() as db:
            db.execute("UPDATE versions SET archived = 1, size_bytes = ? WHERE id = ?",
                       (folder_size(run_dir), version["id"]))
        done.append(version)
    return done


def delete_version(store: Store, model_name: str, version: str, confirmed: bool) -> dict:
    target = find_version(store, model_name, version)
    if not confirmed:
        raise PlainError(
            title="Deleting needs your confirmation",
            what=f"{model_name} v{version} and its files ({target['size_bytes'] / 2**20:.0f} MB) would be deleted.",
            why="Deleted versions cannot be recovered.",
            actions=["Add --yes to confirm.", "Archive instead: it keeps the adapter and frees most of the space."],
            help_topic="runs",
        )
    run_dir = verified_run_folder(target)
    if run_dir is not None:
        if is_locked_elsewhere(run_dir):
            raise run_in_use(run_dir)
        shutil.rmtree(run_dir)
    else:
        target["files_kept"] = (f"{Path(target['checkpoint_path']).parent} was not deleted: it does not hold "
                                "this version's run any more")
    with store.transaction() as db:
        db.execute("DELETE FROM versions WHERE id = ?", (target["id"],))
    return target


def cleanup_prompt(store: Store, free_bytes: int, threshold_bytes: int) -> dict | None:
    """Property 31: below the free-space threshold, the versions with their sizes and the cleanup options."""
    if free_bytes >= threshold_bytes:
        return None
    versions = sorted(list_versions(store), key=lambda v: -v["size_bytes"])
    return {
        "free_bytes": free_bytes, "threshold_bytes": threshold_bytes,
        "versions": [{"model_name": v["model_name"], "version": v["version"], "size_bytes": v["size_bytes"],
                      "active": bool(v["active"]), "archived": bool(v["archived"])} for v in versions],
        "options": [{"id": "archive", "label": "Archive old versions (keep their adapters, delete checkpoints)"},
                    {"id": "delete_checkpoints", "label": "Delete checkpoints, keep every final adapter"},
                    {"id": "delete", "label": "Delete chosen versions entirely"}],
    }
