"""Batched evaluation against one-at-a-time generation on the demo model, in one process.

Prints prompts/s for batch 1 (what a loop over `model.generate` does) and for the batched generator the
scorecard uses (left padding, several prompts per forward), the speed-up as N.NNx, and the time to score 100
held-back examples of a 6-step signature run (base and fine-tuned answers plus chrF).

Usage: python bench/eval.py        (trains a 6-step run first, about a minute)
"""
from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("PEFTSTUDIO_DATA_DIR", tempfile.mkdtemp(prefix="peftstudio-bench-eval-"))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from peftstudio.cli import quiet_libraries  # noqa: E402

PROMPTS = 32
NEW_TOKENS = 32


def main() -> int:
    quiet_libraries()
    from helpers import signature_rows, small_config

    from peftstudio.engine.evaluation.batched import generate_answers
    from peftstudio.engine.evaluation.scorecard import evaluate_run
    from peftstudio.engine.models import DEMO_MODEL_ID, load_causal_lm, load_tokenizer, resolve_model, trainable_folder
    from peftstudio.engine.training.session import TrainingSession

    folder = trainable_folder(resolve_model(DEMO_MODEL_ID))
    model, tokenizer = load_causal_lm(folder).eval(), load_tokenizer(folder)
    conversations = [[{"role": "user", "content": f"Give me one fact about the number {i}."}]
                     for i in range(PROMPTS)]
    generate_answers(model, tokenizer, conversations[:2], max_new_tokens=4, batch_size=2)  # warm-up
    started = time.perf_counter()
    generate_answers(model, tokenizer, conversations, max_new_tokens=NEW_TOKENS, batch_size=1)
    one = PROMPTS / (time.perf_counter() - started)
    print(f"one at a time   {one:6.2f} prompts/s ({PROMPTS} prompts, {NEW_TOKENS} new tokens each)")
    for batch in (8, 16):
        started = time.perf_counter()
        generate_answers(model, tokenizer, conversations, max_new_tokens=NEW_TOKENS, batch_size=batch)
        batched = PROMPTS / (time.perf_counter() - started)
        print(f"batch of {batch:<6} {batched:6.2f} prompts/s -> {batched / one:.2f}x")

    work = Path(tempfile.mkdtemp(prefix="peftstudio-bench-eval-run-"))
    dataset = work / "signature.json"
    dataset.write_text(json.dumps(signature_rows(1000)), encoding="utf-8")  # 10% held back: 100 examples
    session = TrainingSession.create(small_config(dataset, max_steps=6, learning_rate=2e-3, validation_split=0.1))
    session.run()
    started = time.perf_counter()
    card = evaluate_run(session.run_dir, limit=100, skills=False, batch_size=16)
    seconds = time.perf_counter() - started
    task = card["task"]
    print(f"scoring {task['examples']} held-back examples (base and fine-tuned answers, chrF): {seconds:.1f} s; "
          f"chrF base {task['base']:.3f}, fine-tuned {task['tuned']:.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
