"""Plain-language errors: what happened, why, and 2-3 things to do, with a help page.

Every failure a user can hit is raised (or converted into) a `PlainError`. Its text never
contains a stack trace, an exception class name or a path inside the package; the technical
details go to a diagnostic report file instead (see `write_diagnostic_report`).
"""
from __future__ import annotations

import errno
import re
import shutil
import traceback
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

HELP_DIR = Path(__file__).resolve().parent.parent / "resources" / "help"


def help_link(topic: str) -> str:
    """A link to a help page shipped with the app (`peftstudio/resources/help/<topic>.md`)."""
    page = HELP_DIR / f"{topic}.md"
    if not page.exists():
        page = HELP_DIR / "troubleshooting.md"
    return page.as_uri()


@dataclass
class PlainError(Exception):
    title: str
    what: str
    why: str
    actions: list[str] = field(default_factory=list)
    help_topic: str = "troubleshooting"
    diagnostic_report: str | None = None

    def __post_init__(self) -> None:
        if not 2 <= len(self.actions) <= 3:
            raise ValueError("a PlainError needs 2 or 3 actions")
        super().__init__(self.title)

    @property
    def help_link(self) -> str:
        return help_link(self.help_topic)

    def to_dict(self) -> dict:
        return {
            "title": self.title,
            "what": self.what,
            "why": self.why,
            "actions": list(self.actions),
            "help_link": self.help_link,
            "diagnostic_report": self.diagnostic_report,
        }

    def render(self) -> str:
        lines = [self.title, "", f"What happened: {self.what}", "", f"Why it happened: {self.why}", "",
                 "What you can do:"]
        lines += [f"  {i}. {a}" for i, a in enumerate(self.actions, 1)]
        lines += ["", f"Get help: {self.help_link}"]
        if self.diagnostic_report:
            lines.append(f"Technical details were saved to: {self.diagnostic_report}")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.title


class Terminated(KeyboardInterrupt):
    """The process was asked to end (SIGTERM: a shutdown, `kill`, a scheduler taking the machine back).

    Raised by the CLI's signal handler so that the work in hand unwinds as for Ctrl+C (half-written files
    removed, the run recorded as stopped) instead of the process vanishing with its run still "running"."""


def chat_template_failed(exc: BaseException) -> PlainError:
    message = (str(exc).splitlines() or [type(exc).__name__])[0][:200]
    return PlainError(
        title="The model's chat template failed",
        what=f"Turning a conversation into the model's text stopped with: {message}",
        why="The chat template (in tokenizer_config.json or chat_template.jinja) refused the conversation or "
            "has a mistake.",
        actions=["Check that the conversations have the roles the template expects (some refuse a system turn "
                 "or need user and assistant to alternate).",
                 "Fix chat_template.jinja in the model folder, or choose a model whose template works."],
        help_topic="models",
    )


def write_diagnostic_report(exc: BaseException, folder: Path) -> Path:
    """Save the technical details (stack trace) of an unexpected error for a bug report."""
    folder.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S")
    path = folder / f"diagnostic-{stamp}.txt"
    text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    path.write_text(f"PEFT Studio diagnostic report ({stamp} UTC)\n\n{text}", encoding="utf-8")
    return path


def disk_full(where: str) -> PlainError:
    return PlainError(
        title="The disk is full",
        what=f"PEFT Studio could not finish writing {where}.",
        why="There is not enough free space on the disk that holds your runs and models.",
        actions=["Free some disk space (old runs and their checkpoints are often the largest files).",
                 "Lower 'keep checkpoints' so fewer checkpoints are stored.",
                 "Choose a data folder on a disk with more free space."],
        help_topic="disk-space",
    )


def out_of_memory(device: str) -> PlainError:
    return PlainError(
        title="Not enough memory to train",
        what=f"Training needed more {device} memory than this machine has free.",
        why="The batch size or the maximum sequence length is too large for this model on this hardware.",
        actions=["Lower the batch size (gradient accumulation keeps the effective batch the same).",
                 "Lower the maximum sequence length, or turn on gradient checkpointing.",
                 "Pick a smaller model or 4-bit quantization (QLoRA) on a GPU."],
        help_topic="out-of-memory",
    )


def cannot_write(where: str, reason: str) -> PlainError:
    """A folder or file that exists but may not be written: not the same as a full disk."""
    return PlainError(
        title="PEFT Studio may not write there",
        what=f"It could not write to {where}.",
        why=reason,
        actions=["Choose a folder you own, for example one in your home folder.",
                 "Check the folder's permissions, or whether the disk is mounted read-only."],
        help_topic="troubleshooting",
    )


def _path_of(exc: OSError) -> str:
    return str(exc.filename) if exc.filename else "a file"


def os_error(exc: OSError) -> PlainError | None:
    """The plain, true message for the operating-system errors users cause (None for the others)."""
    where = _path_of(exc)
    if exc.errno == errno.ENOSPC or exc.errno == errno.EDQUOT:
        return disk_full(where)
    if exc.errno == errno.EROFS:
        return cannot_write(where, "The disk or folder is mounted read-only.")
    if exc.errno in (errno.EACCES, errno.EPERM):
        return cannot_write(where, "Your user account has no permission to change it.")
    if exc.errno == errno.EISDIR:
        return PlainError(
            title="A folder was given where a file is needed",
            what=f"{where} is a folder.",
            why="This option takes a file path, not a folder.",
            actions=["Give a file path inside the folder, for example folder/name.json.", "Check the command."],
        )
    if exc.errno in (errno.ENOTDIR, errno.EEXIST):
        return PlainError(
            title="A file was given where a folder is needed",
            what=f"A part of {where} is a file, not a folder.",
            why="A file with that name is in the way.",
            actions=["Choose another path.", "Rename or move the file that is in the way."],
        )
    if exc.errno == errno.ENOENT:
        return PlainError(
            title="A file or folder was not found",
            what=f"{where} does not exist.",
            why="It was moved, deleted, or the path has a typo.",
            actions=["Check the path.", "Choose the file again."],
        )
    if exc.errno == errno.ENAMETOOLONG:
        return PlainError(
            title="The path is too long",
            what=f"The operating system refused a path of {len(where)} characters.",
            why="File systems limit the length of names and paths.",
            actions=["Choose a shorter file or folder name.", "Choose a folder closer to the top of the disk."],
        )
    return None


DISK_FULL_WORDS = ("no space left on device", "os error 28", "errno 28", "disk quota exceeded", "enospc")


def is_disk_full(exc: BaseException, where: Path | None = None) -> bool:
    """True when the error (or one it came from) is a full disk. Libraries that write in C or Rust wrap the
    operating system's error in their own (safetensors: SafetensorError "... No space left on device (os error
    28)"; torch.save: RuntimeError "PytorchStreamWriter failed writing file" and numpy's tofile: OSError "N requested
    and M written", with no reason given, so then the free space where it wrote decides)."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
            return True
        text = str(exc).lower()
        if any(words in text for words in DISK_FULL_WORDS):
            return True
        # torch.save's writer and numpy's tofile (which gguf writes with) give no reason for a short write
        short_write = "pytorchstreamwriter failed writing" in text or re.search(r"\d+ requested and \d+ written", text)
        if short_write and where is not None:
            try:  # the folder written to may be gone with the failure: its nearest parent's disk is the same
                existing = next(p for p in (Path(where), *Path(where).parents) if p.exists())
                return shutil.disk_usage(existing).free < 64 * 2**20
            except OSError:
                return False
        exc = exc.__cause__ or exc.__context__
    return False


def from_exception(exc: BaseException, report_folder: Path | None = None, writing: Path | None = None) -> PlainError:
    """Turn any exception into a PlainError; unknown ones get a diagnostic report file. `writing`: where the
    work was writing (for a full disk's message), when that is not the report folder."""
    if isinstance(exc, PlainError):
        return exc
    if isinstance(exc, OSError):
        known = os_error(exc)
        if known is not None:
            return known
    writing = writing or report_folder
    if is_disk_full(exc, writing):
        return disk_full(str(writing) if writing is not None else "a file")
    if isinstance(exc, MemoryError) or type(exc).__name__ == "OutOfMemoryError":
        return out_of_memory("GPU" if type(exc).__name__ == "OutOfMemoryError" else "system")
    if type(exc).__module__.startswith("jinja2"):  # a chat template that raises, wherever it was used
        return chat_template_failed(exc)
    if isinstance(exc, RecursionError):
        return PlainError(
            title="The data is nested too deeply",
            what="A value inside the file holds lists or objects inside each other thousands of levels deep.",
            why="Real datasets and settings are at most a few levels deep; such a file is damaged or hostile.",
            actions=["Check the file in a text editor.", "Export the data again as flat JSONL or CSV."],
            help_topic="datasets",
        )
    if type(exc).__module__ == "sqlite3" or type(exc).__name__ == "DatabaseError":
        return PlainError(
            title="The history database could not be used",
            what="PEFT Studio's index of runs and versions could not be read or written.",
            why="The file is damaged, locked by another program, or its disk is failing.",
            actions=["Run 'peftstudio runs reindex' to rebuild it from the run folders.",
                     "Close other programs that may hold the file open, then try again."],
            help_topic="runs",
        )
    if isinstance(exc, Terminated):
        return PlainError(
            title="Ended by the system",
            what="PEFT Studio was asked to end (a termination signal) before the work finished.",
            why="The computer is shutting down, or another program or a job scheduler ended the process.",
            actions=["Run the same command again.", "Resume a training run with --resume and its run folder: it "
                     "goes on from its last checkpoint."],
            help_topic="runs",
        )
    if isinstance(exc, KeyboardInterrupt):
        return PlainError(
            title="Stopped by you",
            what="The operation was interrupted before it finished.",
            why="Ctrl+C was pressed or the window was closed.",
            actions=["Run the same command again.", "Resume a training run with --resume and its run folder."],
        )
    report = None
    if report_folder is not None:
        try:
            report = write_diagnostic_report(exc, report_folder)
        except OSError:
            report = None  # a full or read-only disk must not turn one error into two
    return PlainError(
        title="Something unexpected went wrong",
        what="PEFT Studio hit a problem it does not know how to explain yet.",
        why="This is most likely a bug in PEFT Studio or an unusual setup on this machine.",
        actions=["Try the same action again; your files were not changed.",
                 "If it happens again, send the diagnostic report to the developers."],
        diagnostic_report=str(report) if report else None,
    )
