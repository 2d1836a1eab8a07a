"""Device, precision and quantization decisions, as pure functions the tests can drive on CPU."""
from __future__ import annotations

from peftstudio.engine.config import TrainingConfig
from peftstudio.engine.errors import PlainError


def detect_device() -> tuple[str, bool]:
    """("cuda" | "mps" | "cpu", whether bf16 is supported there)."""
    import torch

    if torch.cuda.is_available():
        return "cuda", bool(torch.cuda.is_bf16_supported())
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        return "mps", False
    return "cpu", False


def resolve_precision(requested: str, device: str, bf16_supported: bool) -> str:
    """fp32 on CPU and Apple GPUs; bf16 where CUDA supports it, else fp16; explicit choices checked."""
    if device != "cuda":
        if requested in ("fp16", "bf16"):
            raise PlainError(
                title="Half precision needs an NVIDIA GPU",
                what=f"'{requested}' was chosen but training will run on the {device.upper()}.",
                why="Mixed-precision training in PEFT Studio needs CUDA; elsewhere it is slower or unsupported.",
                actions=["Set precision to 'auto' (full precision on this machine).",
                         "Run on a machine with an NVIDIA GPU."],
                help_topic="settings",
            )
        return "fp32"
    if requested == "auto":
        return "bf16" if bf16_supported else "fp16"
    if requested == "bf16" and not bf16_supported:
        raise PlainError(
            title="This GPU does not support bf16",
            what="bf16 precision was chosen but this GPU cannot compute in bf16.",
            why="bf16 needs an NVIDIA GPU of the Ampere generation (RTX 30xx, A100) or newer.",
            actions=["Set precision to 'auto' (fp16 on this GPU).", "Set precision to 'fp16'."],
            help_topic="settings",
        )
    return requested


def check_quantization(config: TrainingConfig, device: str) -> None:
    """QLoRA (bitsandbytes 4-/8-bit) trains only on CUDA: refuse it elsewhere in plain words."""
    if config.quantization is None and config.peft_method != "qlora":
        return
    if device != "cuda":
        raise PlainError(
            title="QLoRA needs an NVIDIA GPU",
            what="4-bit/8-bit quantized training (QLoRA) was chosen, but this machine has no NVIDIA GPU.",
            why="The quantized layers of bitsandbytes train only with CUDA.",
            actions=["Switch the method to LoRA and turn quantization off (works on any machine).",
                     "Pick a smaller model that fits without quantization.",
                     "Run on a machine with an NVIDIA GPU."],
            help_topic="qlora",
        )


def bitsandbytes_config(config: TrainingConfig, compute_precision: str):
    """The BitsAndBytesConfig for the chosen quantization (None without quantization)."""
    if config.quantization is None:
        return None
    import torch
    from transformers import BitsAndBytesConfig

    if config.quantization == "8bit":
        return BitsAndBytesConfig(load_in_8bit=True)
    compute_dtype = torch.bfloat16 if compute_precision == "bf16" else torch.float16
    return BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_use_double_quant=True,
                              bnb_4bit_compute_dtype=compute_dtype)


def torch_dtype(precision: str):
    import torch

    return {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}[precision]
