"""Stand-ins for the `ollama` and `lms` commands, which cannot be installed here.

They behave like the real commands where it matters: `ollama create NAME -f Modelfile` checks the Modelfile
and that its FROM file is a GGUF, `ollama run NAME PROMPT` answers from that file with llama.cpp (the
engine inside Ollama), `lms import FILE --copy --yes --user-repo P/M` copies the file into LM Studio's
models folder layout. Anything else makes them fail, as an unknown command or flag would.
"""
from __future__ import annotations

import os
import stat
import sys
from pathlib import Path

OLLAMA = r'''
import json, os, sys
from pathlib import Path
state = Path(os.environ["STANDIN_STATE"])
models = json.loads(state.read_text()) if state.exists() else {}
args = sys.argv[1:]
with open(state.with_suffix(".log"), "a") as log:
    log.write(json.dumps({"cwd": os.getcwd(), "args": args}) + "\n")
if args[:1] == ["create"] and len(args) == 4 and args[2] == "-f":
    text = Path(args[3]).read_text()
    source = next(line.split(" ", 1)[1] for line in text.splitlines() if line.startswith("FROM "))
    path = (Path.cwd() / source).resolve()
    if path.read_bytes()[:4] != b"GGUF":
        sys.exit("Error: invalid file magic")
    models[args[1]] = str(path)
    state.write_text(json.dumps(models))
    print("success")
elif args[:1] == ["run"] and len(args) == 3 and args[1] in models:
    from llama_cpp import Llama
    llm = Llama(model_path=models[args[1]], n_ctx=512, verbose=False)
    reply = llm.create_chat_completion([{"role": "user", "content": args[2]}], temperature=0, max_tokens=32)
    print(reply["choices"][0]["message"]["content"])
else:
    sys.exit(f"Error: unknown command {args}")
'''

LMS = r'''
import os, shutil, sys
from pathlib import Path
args = sys.argv[1:]
if args[:1] != ["import"] or "--copy" not in args or "--yes" not in args or "--user-repo" not in args:
    sys.exit(f"error: unknown arguments {args}")
source = Path(args[1])
repo = args[args.index("--user-repo") + 1]
if source.read_bytes()[:4] != b"GGUF":
    sys.exit("error: not a GGUF file")
target = Path(os.environ["STANDIN_LMSTUDIO_MODELS"]) / repo / source.name
target.parent.mkdir(parents=True, exist_ok=True)
shutil.copy(source, target)
print(f"File copied to {target}")
'''


def install_stand_ins(folder: Path) -> dict:
    """Write both commands into folder/bin; returns an environment with them first on PATH."""
    bin_dir = folder / "bin"
    bin_dir.mkdir(exist_ok=True)
    for name, body in (("ollama", OLLAMA), ("lms", LMS)):
        path = bin_dir / name
        path.write_text(f"#!{sys.executable}\n{body}", encoding="utf-8")
        path.chmod(path.stat().st_mode | stat.S_IEXEC)
    return dict(os.environ, PATH=f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
                STANDIN_STATE=str(folder / "ollama-state.json"),
                STANDIN_LMSTUDIO_MODELS=str(folder / "lmstudio-models"))
