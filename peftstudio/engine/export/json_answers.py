"""JSON answers in an export: the run's answer schema beside the GGUF file, as JSON and as a llama.cpp grammar, and
a check of what the grammar does.

The grammar is llama.cpp's own translation of the schema (`llama_cpp.llama_grammar.json_schema_to_gbnf`, the
converter behind llama.cpp's `--json-schema`): with it, llama.cpp can only write answers that follow the schema.
Ollama and LM Studio take the schema itself (Ollama's `format`, LM Studio's `response_format`), so both files are
written. The check answers the run's held-back prompts in llama.cpp with and without the grammar and counts the
answers that follow the schema (jsonschema's check, evaluation/metrics.schema_problem).
"""
from __future__ import annotations

import json
from pathlib import Path

from peftstudio.engine.evaluation.metrics import schema_valid_rate
from peftstudio.engine.export.safety import write_text_atomic
from peftstudio.engine.export.verify import prompt_text

SCHEMA_FILE, GRAMMAR_FILE = "answer-schema.json", "answer-grammar.gbnf"
ANSWER_TOKENS = 192  # a JSON answer of a few fields; one cut short counts as not following the schema
PROMPTS = 8


def write_schema_files(folder: Path, schema: dict) -> list[str]:
    """The schema, and its grammar where llama-cpp-python (which has the converter) is installed."""
    write_text_atomic(folder / SCHEMA_FILE, json.dumps(schema, indent=2))
    try:
        from llama_cpp.llama_grammar import json_schema_to_gbnf
    except ImportError:
        return [SCHEMA_FILE]
    write_text_atomic(folder / GRAMMAR_FILE, json_schema_to_gbnf(json.dumps(schema)))
    return [SCHEMA_FILE, GRAMMAR_FILE]


def instructions(fmt: str) -> str:
    """How to make Ollama, LM Studio or llama.cpp follow the schema (for the export's README)."""
    lines = ["", "## Answers that follow your JSON schema", "",
             f"`{SCHEMA_FILE}` is the schema the model was taught to answer in; `{GRAMMAR_FILE}` is the same schema "
             "as a llama.cpp grammar. With either, the runtime can only write answers that follow it:", "",
             f"- llama.cpp: `llama-cli -m FILE.gguf --grammar-file {GRAMMAR_FILE}` "
             f"(or `--json-schema \"$(cat {SCHEMA_FILE})\"`)"]
    if fmt == "ollama":
        lines.append(f"- Ollama: pass the schema as `format` in the chat API, e.g. `\"format\": <contents of "
                     f"{SCHEMA_FILE}>`")
    lines.append("- LM Studio: send it as `response_format: {\"type\": \"json_schema\", \"json_schema\": {\"schema\": "
                 "...}}` in its OpenAI-compatible API")
    return "\n".join(lines) + "\n"


def check_with_grammar(path: Path, tokenizer, prompts: list[str], schema: dict) -> dict:
    """How many held-back answers follow the schema in llama.cpp, without and with the grammar."""
    from llama_cpp import LlamaGrammar

    from peftstudio.engine.export.llama_cpp_runner import GGUFModel, quiet_stderr  # lazy: defers numpy

    prompts = prompts[:PROMPTS]
    with quiet_stderr():
        grammar = LlamaGrammar.from_json_schema(json.dumps(schema), verbose=False)
    model = GGUFModel.open(path, context=2048)
    answers: dict[str, list[str]] = {"free": [], "grammar": []}
    try:
        for prompt in prompts:
            ids = model.tokenize(prompt_text(tokenizer, prompt))
            for kind in answers:
                with quiet_stderr():
                    out = model.llm.create_completion(ids, max_tokens=ANSWER_TOKENS, temperature=0.0, top_k=1,
                                                      grammar=grammar if kind == "grammar" else None, seed=0)
                answers[kind].append(out["choices"][0]["text"])
    finally:
        model.close()
    return {"prompts": len(prompts), "follows_schema": schema_valid_rate(answers["free"], schema),
            "follows_schema_with_grammar": schema_valid_rate(answers["grammar"], schema),
            "sample_with_grammar": answers["grammar"][0][:300] if prompts else ""}
