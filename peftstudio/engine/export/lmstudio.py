"""LM Studio: the GGUF in the `publisher/model-name/` layout that LM Studio scans, with instructions."""
from __future__ import annotations


def instructions(publisher: str, model_name: str, gguf_file: str) -> str:
    return "\n".join([
        f"# {model_name} for LM Studio", "",
        f"LM Studio finds models in `~/.lmstudio/models/<publisher>/<model-name>/`. This export has that layout: "
        f"`{publisher}/{model_name}/{gguf_file}`.", "",
        "Either:", "",
        f"- copy the `{publisher}` folder into `~/.lmstudio/models/` (on Windows "
        "`%USERPROFILE%\\.lmstudio\\models\\`), or",
        f"- run `lms import {publisher}/{model_name}/{gguf_file}` in this folder.", "",
        f"Then pick `{publisher}/{model_name}` in LM Studio's model list. The chat template is stored inside the GGUF "
        "file, so LM Studio formats conversations the way the model was trained.", "",
        "`VERIFICATION.md` shows the check PEFT Studio ran on the GGUF file.", ""])
