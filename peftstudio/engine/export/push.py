"""Optional upload of a Hugging Face export to the hub (private repository), only when asked."""
from __future__ import annotations

import os
from pathlib import Path

from peftstudio.engine.app_settings import load_settings
from peftstudio.engine.errors import PlainError


def _cannot_push(what: str, why: str) -> PlainError:
    return PlainError(
        title="The export could not be uploaded",
        what=what,
        why=why,
        actions=["Add a Hugging Face token with write access in Settings (or set HF_TOKEN).",
                 "Check the internet connection and try again; the export on disk is complete.",
                 "Upload the folder yourself later with: hf upload REPO FOLDER"],
        help_topic="export",
    )


def push_to_hub(folder: Path, repo_id: str, token: str | None = None) -> str:
    token = token or os.environ.get("HF_TOKEN") or load_settings().hf_token
    if not token:
        raise _cannot_push(f"Uploading to {repo_id} needs a Hugging Face token.", "No token is set.")
    if os.environ.get("HF_HUB_OFFLINE", "").lower() in ("1", "true", "yes"):
        raise _cannot_push(f"Uploading to {repo_id} was skipped.", "PEFT Studio is in offline mode (HF_HUB_OFFLINE).")
    from huggingface_hub import HfApi

    api = HfApi(token=token)
    try:
        api.create_repo(repo_id, private=True, exist_ok=True)
        commit = api.upload_folder(folder_path=str(folder), repo_id=repo_id,
                                   commit_message="Upload from PEFT Studio")
    except Exception as exc:  # noqa: BLE001 - network, auth and permission failures all end here
        raise _cannot_push(f"Uploading to {repo_id} failed.", f"The hub answered: {str(exc)[:200]}") from None
    return getattr(commit, "commit_url", f"https://huggingface.co/{repo_id}")
