"""The model card (README.md) of a Hugging Face export: what the model is, how it was made, how to load it.

Everything taken from the run is sanitized: control characters removed, lengths bounded, and YAML
values written as JSON strings (valid YAML), so no run name or setting can break the card's metadata.
"""
from __future__ import annotations

import json
import unicodedata

from peftstudio.engine.config import TrainingConfig
from peftstudio.engine.evaluation.scorecard import headline
from peftstudio.engine.export.run_model import ExportableRun
from peftstudio.engine.settings import with_role


def clean(value, limit: int = 200) -> str:
    """One line of printable text: control, format and surrogate characters and line separators dropped."""
    text = "".join(c if c not in "\n\t" else " " for c in str(value)
                   if unicodedata.category(c)[0] != "C" or c in "\n\t")
    text = "".join(c for c in text if unicodedata.category(c) not in ("Zl", "Zp"))
    return text.strip()[:limit].strip()


def _number(value, digits: int = 4) -> str:
    return "n/a" if value is None else (f"{value:.{digits}f}" if isinstance(value, float) else str(value))


SETTINGS = with_role(TrainingConfig, "model-card")  # declared with each setting (engine/config.py)


def _scorecard_lines(card: dict | None) -> list[str]:
    """PEFT Studio's scorecard, when the run was scored: the task before and after, and general skills."""
    if not card:
        return []

    return ["## Scorecard", "", "Measured by PEFT Studio on the run's held-back examples (never trained on) and on "
            "its general-skills check, base model vs fine-tuned:", "",
            *[f"- {clean(line, 300)}" for line in headline(card)], ""]


def model_card(run: ExportableRun, merged: bool, repo_hint: str) -> str:
    summary = run.info.get("summary") or {}
    quality = summary.get("quality") or {}
    base = clean(run.base_model_id)
    name = clean(run.name)
    data = run.data_summary
    front = [
        "---",
        f"base_model: {json.dumps(base, ensure_ascii=False)}",
        f"library_name: {'transformers' if merged else 'peft'}",
        "pipeline_tag: text-generation",
        "tags:",
        "- peftstudio",
        "- lora",
        *(["- merged"] if merged else []),
        "---",
    ]
    kind = "the full model with the LoRA adapter merged into its weights" if merged else "a LoRA adapter"
    lines = [
        f"# {name}",
        "",
        f"This is {kind}, fine-tuned from [{base}](https://huggingface.co/{base}) with PEFT Studio.",
        "",
        "## Intended use",
        "",
        f"Use case: {clean(run.info.get('profile') or 'general chat')}. It answers in the style of its training "
        "examples; it inherits the base model's knowledge and limitations, and was not evaluated for safety-critical "
        "use. Check its answers before relying on them.",
        "",
        "## Training data",
        "",
        "The dataset stayed on the machine it was trained on; this is a summary only.",
        "",
        f"- Format: {clean(data.get('schema') or 'n/a')}",
        f"- Training examples: {_number(data.get('train_examples'))}",
        f"- Validation examples: {_number(data.get('validation_examples'))}",
        f"- Answer tokens per epoch (the tokens the loss is computed on): {_number(data.get('loss_tokens_per_epoch'))}",
        "",
        "## Training configuration",
        "",
        "| setting | value |",
        "|---|---|",
        *[f"| {key} | {clean(json.dumps(getattr(run.config, key)), 120)} |" for key in SETTINGS],
        "",
        "## Results",
        "",
        f"- Steps: {_number(summary.get('steps'))}, epochs: {_number(summary.get('epochs'), 2)}",
        f"- Training loss: {_number(summary.get('first_loss'))} at the start, {_number(summary.get('final_loss'))} "
        "at the end",
        f"- Validation loss: {_number(summary.get('final_eval_loss'))}",
        f"- Quality score (PEFT Studio's 0-100 summary): {_number(quality.get('score'))}",
        f"- Training time: {_number(summary.get('duration_seconds'), 0)} s",
        "",
        *_scorecard_lines(run.info.get("scorecard")),
        "## How to load",
        "",
        "```python",
    ]
    if merged:
        lines += ["from transformers import AutoModelForCausalLM, AutoTokenizer",
                  "",
                  f'tokenizer = AutoTokenizer.from_pretrained("{repo_hint}")',
                  f'model = AutoModelForCausalLM.from_pretrained("{repo_hint}")']
    else:
        lines += ["from peft import PeftModel",
                  "from transformers import AutoModelForCausalLM, AutoTokenizer",
                  "",
                  f'base = AutoModelForCausalLM.from_pretrained("{base}")',
                  f'model = PeftModel.from_pretrained(base, "{repo_hint}")',
                  f'tokenizer = AutoTokenizer.from_pretrained("{repo_hint}")']
    lines += ['messages = [{"role": "user", "content": "Hello!"}]',
              "inputs = tokenizer.apply_chat_template(messages, add_generation_prompt=True, return_tensors=\"pt\", "
              "return_dict=True)",
              "print(tokenizer.decode(model.generate(**inputs, max_new_tokens=64)[0]))",
              "```", ""]
    return "\n".join(front + [""] + lines)
