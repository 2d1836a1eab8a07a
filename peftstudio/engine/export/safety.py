"""Where an export may write: validated paths, a free-space check, and all-or-nothing packages.

An export package is built in a hidden staging folder beside its destination and renamed into place
only when every file (and the verification report) is written, so a failed or cancelled export leaves
nothing half-written. Nothing is ever overwritten unless the user asked for it.
"""
from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import unicodedata
from pathlib import Path

from peftstudio.engine import atomic, paths
from peftstudio.engine.errors import PlainError

EXPORT_MARKER = ".peftstudio-export.json"  # in every package: only folders carrying it may be replaced
SPACE_MARGIN = 1.10  # ask for 10% more than the estimate: file-system overhead, tokenizer, reports
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def unsafe_path(path: str, why: str) -> PlainError:
    return PlainError(
        title="That export folder cannot be used",
        what=f"PEFT Studio will not write the export to '{path}'.",
        why=why,
        actions=["Choose a plain folder you own, for example one in your home folder.",
                 "Type the full path without '..' and without links to other places."],
        help_topic="export",
    )


def safe_name(text: str, fallback: str = "model", limit: int = 64) -> str:
    """One safe file-name component: letters, digits, '.', '_' and '-' (no separators, no '..')."""
    text = unicodedata.normalize("NFKD", str(text)).encode("ascii", "ignore").decode()
    name = _UNSAFE.sub("-", text).strip(".-_")[:limit].strip(".-_")
    return name or fallback


def safe_join(root: Path, relative: str) -> Path:
    """`root/relative`, refused when it would land outside `root` or pass through a link."""
    root = Path(root)
    rel = Path(relative)
    if rel.is_absolute() or ".." in rel.parts or not rel.parts:
        raise unsafe_path(str(relative), "Files of an export must stay inside the export folder.")
    target = root.joinpath(rel)
    current = root
    for part in rel.parts:
        current = current / part
        if current.is_symlink():
            raise unsafe_path(str(relative), "It goes through a link, which could point anywhere on the disk.")
    if not target.resolve().is_relative_to(root.resolve()):
        raise unsafe_path(str(relative), "Files of an export must stay inside the export folder.")
    return target


def check_destination(out: str | os.PathLike, overwrite: bool = False) -> Path:
    """The folder the export package will become: no '..', no link, not over existing files silently."""
    text = os.fspath(out)
    if not text.strip():
        raise unsafe_path(text, "No folder was given.")
    path = Path(text).expanduser()
    if ".." in path.parts:
        raise unsafe_path(text, "The path contains '..', which can climb out of the folder you meant.")
    path = path.absolute()
    for parent in [path, *path.parents]:
        if parent.is_symlink():
            raise unsafe_path(text, f"'{parent}' is a link, which could point anywhere on the disk.")
    if path.exists():
        if not path.is_dir():
            raise unsafe_path(text, "A file with that name already exists.")
        if any(path.iterdir()) and overwrite and not is_export(path):
            raise PlainError(
                title="That folder is not an earlier export",
                what=f"'{path}' holds files that PEFT Studio did not export, so it will not replace them.",
                why="Replacing is only allowed for a folder that an earlier PEFT Studio export created.",
                actions=["Choose a new, empty folder for the export.",
                         "Move your files elsewhere first if you really want to use this folder."],
                help_topic="export",
            )
        if any(path.iterdir()) and not overwrite:
            raise PlainError(
                title="The export folder is not empty",
                what=f"'{path}' already holds files, and PEFT Studio never overwrites them silently.",
                why="Another export (or other files) are already there.",
                actions=["Choose a new folder name.",
                         "Allow replacing it (--overwrite, or confirm in the export window)."],
                help_topic="export",
            )
    return path


def is_export(folder: Path) -> bool:
    marker = Path(folder) / EXPORT_MARKER
    return marker.is_file() and not marker.is_symlink()


def check_free_space(folder: Path, needed_bytes: int) -> None:
    free = shutil.disk_usage(paths.nearest_existing(folder)).free
    if free < needed_bytes * SPACE_MARGIN:
        raise PlainError(
            title="Not enough disk space for this export",
            what=f"The export needs about {needed_bytes * SPACE_MARGIN / 1e9:.2f} GB and the disk has "
                 f"{free / 1e9:.2f} GB free.",
            why="Merged models and GGUF files hold every weight of the model.",
            actions=["Free some disk space (old runs' checkpoints are often the largest files).",
                     "Export to a different disk.",
                     "Export the adapter only, or GGUF q8_0, which are much smaller."],
            help_topic="disk-space",
        )


STAGING_LIST = "export-staging.txt"  # in the data folder: the staging folders of exports under way
STAGING = re.compile(r"^\..+\.(partial|old)-(?P<pid>\d+)$")


def remove_abandoned(destination: Path) -> list[Path]:
    """Staging folders left by exports whose process was killed (its pid is gone): those beside this
    destination, and those of every earlier export wherever it wrote (listed in the data folder)."""
    pattern = re.compile(rf"^\.{re.escape(destination.name)}\.(partial|old)-(?P<pid>\d+)$")
    removed = atomic.remove_abandoned(destination.parent, pattern)
    listed = _staging_list()
    for folder in listed:  # only the listed folder itself, and only once its process is gone
        owner = STAGING.match(folder.name)
        if owner and folder.is_dir() and not folder.is_symlink() and not atomic.process_alive(int(owner["pid"])):
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder)
    _write_staging_list([f for f in listed if f.exists()])
    return removed


def _staging_list() -> list[Path]:
    try:
        lines = (paths.data_dir() / STAGING_LIST).read_text(encoding="utf-8").splitlines()
    except OSError:
        return []
    found = []
    for line in lines:
        with contextlib.suppress(ValueError):
            value = json.loads(line)
            if isinstance(value, str) and Path(value).is_absolute() and STAGING.match(Path(value).name):
                found.append(Path(value))
    return found


def _write_staging_list(folders: list[Path]) -> None:
    with contextlib.suppress(OSError):  # only a help for cleaning up later
        atomic.write_text(paths.data_dir() / STAGING_LIST,
                          "".join(json.dumps(str(f)) + "\n" for f in dict.fromkeys(folders)))


@contextlib.contextmanager
def staged_folder(destination: Path, overwrite: bool = False):
    """Yield a staging folder; on success it replaces `destination` in one rename, on failure it is removed."""
    destination.parent.mkdir(parents=True, exist_ok=True)
    remove_abandoned(destination)
    staging = destination.with_name(f".{destination.name}.partial-{os.getpid()}")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir()
    _write_staging_list([*_staging_list(), staging.absolute()])  # a kill -9 from here on is swept up later
    try:
        yield staging
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    if destination.exists():
        if any(destination.iterdir()) and not (overwrite and is_export(destination)):
            shutil.rmtree(staging, ignore_errors=True)
            check_destination(destination, overwrite)  # raises: not empty, or not an earlier export
        old = destination.with_name(f".{destination.name}.old-{os.getpid()}")
        os.replace(destination, old)
        os.replace(staging, destination)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(staging, destination)


def write_text_atomic(path: Path, text: str) -> None:
    atomic.write_text(path, text)


def folder_size(folder: Path) -> int:
    return sum(p.stat().st_size for p in Path(folder).rglob("*") if p.is_file())
