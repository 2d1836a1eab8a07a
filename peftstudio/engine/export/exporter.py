"""Exporting a completed run, top to bottom: check the destination, build the package in a staging
folder, verify it by loading it back, save the report, then move the package into place.

    result = export_run(run_dir, "ollama", "~/exports/support-bot", quant="q4_k_m")
"""
from __future__ import annotations

import json
import os
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from peftstudio.engine.errors import PlainError
from peftstudio.engine.export import (json_answers, llama_cpp_reference, llama_cpp_runner, lmstudio, ollama,
                                      quant_choice, safety)
from peftstudio.engine.export.chat_format import probe_chat_format, stop_strings
from peftstudio.engine.export.tool_templates import AgentTemplates, agent_templates
from peftstudio.engine.export.model_card import model_card
from peftstudio.engine.export.run_model import ExportableRun, load_merged_model, load_tokenizer_for, open_run
from peftstudio.engine.export.formats import DEFAULT_QUANT, FORMATS, GGUF_FORMATS, GGUF_TYPES, LOSSY
from peftstudio.engine.export.gguf_convert import GGUFMetadata, pre_tokenizer_for, write_gguf
from peftstudio.engine.export.llama_cpp_runner import GGUFModel
from peftstudio.engine.export.verify import (Agreement, Reference, VerificationReport, agreement_of,
                                             reference, save_report, verify_gguf, verify_hf)
from peftstudio.engine.evaluation.scorecard import validation_examples
from peftstudio.engine.export.json_answers import PROMPTS, check_with_grammar
from peftstudio.engine.export.tool_check import check_agent_gguf
from peftstudio.engine.inference import validation_prompts
from peftstudio.engine.runs.folder import RunFolder
from peftstudio.engine.runs.layout import ADAPTER_CONFIG_FILE

# Below this size a K-quant export is also quantized by llama.cpp's own quantizer (from an F16 file of the
# same weights) so the report can put both agreements side by side; above it that costs too much disk.
COMPARE_WITH_LLAMA_CPP_UP_TO = 1_500_000_000
Progress = Callable[[float, str], None]


@dataclass
class ExportResult:
    format: str
    folder: Path
    files: list[str]
    report: VerificationReport | None
    seconds: float
    details: dict = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.report is None or self.report.passed

    def to_dict(self) -> dict:
        return {"ok": self.ok, "format": self.format, "folder": str(self.folder), "files": self.files,
                "seconds": round(self.seconds, 2), "details": self.details,
                "verification": self.report.to_dict() if self.report else None}


def unknown_format(fmt: str) -> PlainError:
    return PlainError(
        title="Unknown export format",
        what=f"'{fmt}' is not a format PEFT Studio exports.",
        why=f"The formats are: {', '.join(FORMATS)}.",
        actions=["Use hf for the adapter, hf-merged for a full model, gguf/ollama/lmstudio for local apps.",
                 "See the export help page for what each one is for."],
        help_topic="export",
    )


def estimated_bytes(run: ExportableRun, fmt: str, quant: str) -> int:
    adapter = safety.folder_size(run.adapter_dir)
    if fmt == "hf":
        return adapter + 20_000_000
    if fmt == "hf-merged":
        return run.parameters * 4 + 20_000_000
    return GGUF_TYPES[quant].estimated_bytes(run.parameters)


def quant_choices(run_dir: Path) -> list[tuple[str, str, int | None]]:
    """(quant, what it means, estimated file size in bytes or None) for each GGUF choice, best default first."""
    try:
        parameters = open_run(Path(run_dir)).parameters
    except Exception:  # noqa: BLE001 - sizes are a hint; the export itself reports a broken run plainly
        parameters = None
    return [(t.name, t.meaning, t.estimated_bytes(parameters) if parameters else None) for t in GGUF_TYPES.values()]


def export_run(run_dir: Path, fmt: str, out: str | os.PathLike, quant: str | None = DEFAULT_QUANT,
               verify: bool = True, overwrite: bool = False, progress: Progress | None = None,
               publisher: str = "peftstudio", name: str | None = None) -> ExportResult:
    """quant=None: PEFT Studio chooses (q4_k_m, or the smallest larger type that keeps the model's answers,
    see quant_choice.py); a type given is kept, and the report says when it loses too much."""
    started = time.perf_counter()
    choose = quant is None
    quant = quant or DEFAULT_QUANT
    say = progress or (lambda fraction, message: None)
    if fmt not in FORMATS:
        raise unknown_format(fmt)
    destination = safety.check_destination(out, overwrite)
    run = open_run(Path(run_dir))
    model_name = safety.safe_name(name or run.name).lower()
    safety.check_free_space(destination.parent, estimated_bytes(run, fmt, quant))

    say(0.02, "Loading the base model and merging the adapter")
    tokenizer = load_tokenizer_for(run)
    merged = load_merged_model(run)
    say(0.15, "Recording the reference answers")
    judged_by_llama_cpp = fmt in GGUF_FORMATS and llama_cpp_runner.available()
    ref = reference(merged, tokenizer, agreement=judged_by_llama_cpp, own_prompt=_own_prompt(run)) if verify else None
    # an agent (taught on tool conversations) is exported with templates that ask for tools as it was taught
    agent = agent_templates(tokenizer) if run.data_summary.get("tool_examples") else None
    schema = run.config.answer_schema_dict()  # JSON answers: written beside a GGUF file and checked in llama.cpp

    with safety.staged_folder(destination, overwrite) as staging:
        details: dict = {"model_name": model_name, "publisher": safety.safe_name(publisher)}
        if fmt in ("hf", "hf-merged"):
            _write_hf(run, fmt, merged, tokenizer, staging, say, agent)
            report = verify_hf(staging, ref, fmt, run.base_folder if fmt == "hf" else None) if verify else None
        else:
            gguf_path, details = _write_gguf_package(run, fmt, merged, tokenizer, staging, quant, model_name,
                                                     publisher, say, agent, schema)
            beside = None
            if verify and judged_by_llama_cpp and quant in LOSSY and run.parameters <= COMPARE_WITH_LLAMA_CPP_UP_TO:
                say(0.76, "Quantizing the same weights with llama.cpp's own quantizer, for comparison")
                beside = _llama_cpp_quantizer_agreement(run, merged, tokenizer, staging, quant, ref)
            del merged  # the reader below needs the memory more
            say(0.8, "Verifying: loading the GGUF in llama.cpp" if judged_by_llama_cpp
                else "Verifying: loading the GGUF back with transformers")
            report = verify_gguf(gguf_path, ref, fmt, quant, beside) if verify else None
            if report is not None and report.loaded and quant in LOSSY and not quant_choice.keeps_behaviour(report):
                report, gguf_path, details = _keep_the_answers(run, fmt, tokenizer, staging, quant, model_name,
                                                               publisher, say, agent, schema, ref, report,
                                                               gguf_path, details, choose)
            if report is not None and report.loaded and agent is not None and judged_by_llama_cpp:
                say(0.92, "Verifying: the exported agent calls tools in llama.cpp")
                _check_agent(report, gguf_path, tokenizer, run)
            if report is not None and report.loaded and schema is not None and judged_by_llama_cpp:
                say(0.95, "Verifying: JSON answers with the schema's grammar in llama.cpp")
                report.json_answers = check_with_grammar(gguf_path, tokenizer,
                                                         validation_prompts(run.run_dir, PROMPTS), schema)
        if report is not None:
            save_report(staging, report)
        safety.write_text_atomic(staging / safety.EXPORT_MARKER, json.dumps(
            {"format": fmt, "run": run.run_dir.name, "at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}))
        files = sorted(str(p.relative_to(staging)) for p in staging.rglob("*") if p.is_file())
    result = ExportResult(fmt, destination, files, report, time.perf_counter() - started, details)
    _record(run, result)
    if result.report is None:
        say(1.0, "Export written (not verified)")
    else:
        say(1.0, "Export verified" if result.ok else "Export written, but verification failed")
    return result


def _keep_the_answers(run: ExportableRun, fmt: str, tokenizer, staging: Path, quant: str, model_name: str,
                      publisher: str, say: Progress, agent, schema, ref: Reference, report: VerificationReport,
                      gguf_path: Path, details: dict, choose: bool):
    """The type lost too much of the model's answers. Chosen by PEFT Studio: write and verify the next larger
    types (each in a scratch folder inside the staging) and keep the smallest that agrees enough. Chosen by
    the user: keep the file and say so."""
    if not choose:
        advice = quant_choice.plain_advice(quant, report)
        report.quant_advice = advice.to_dict() | {"sentence": quant_choice.advice_sentence(advice)}
        return report, gguf_path, details
    scratch = staging / ".larger-types"
    tried: dict[str, tuple] = {}

    def try_type(larger: str):
        say(0.82, f"{quant} loses too much of your model's answers: trying {larger}")
        folder = scratch / larger
        folder.mkdir(parents=True)
        merged = load_merged_model(run)
        path, written = _write_gguf_package(run, fmt, merged, tokenizer, folder, larger, model_name, publisher,
                                            lambda fraction, message: None, agent, schema)
        del merged
        tried[larger] = (path, written, verify_gguf(path, ref, fmt, larger))
        return tried[larger][2]

    advice, kept = quant_choice.climb(quant, report, try_type)
    if kept not in tried:  # no larger type to try
        report.quant_advice = advice.to_dict() | {"sentence": quant_choice.advice_sentence(advice)}
        return report, gguf_path, details
    path, written, kept_report = tried[kept]
    for item in staging.iterdir():  # the first file gives way to the kept one
        if item == scratch:
            continue
        if item.is_dir():
            shutil.rmtree(item)
        else:
            item.unlink()
    for item in path.parent.iterdir():
        os.replace(item, staging / item.name)
    shutil.rmtree(scratch)
    kept_report.quant_advice = advice.to_dict() | {"sentence": quant_choice.advice_sentence(advice)}
    return kept_report, staging / path.name, written


def _write_hf(run: ExportableRun, fmt: str, merged, tokenizer, staging: Path, say: Progress,
              agent: AgentTemplates | None) -> None:
    say(0.3, "Writing the Hugging Face files")
    if fmt == "hf":
        for item in run.adapter_dir.iterdir():
            if item.is_file() and not item.is_symlink() and item.name != "README.md":
                shutil.copy2(item, safety.safe_join(staging, item.name))
        adapter_config = staging / ADAPTER_CONFIG_FILE
        if adapter_config.exists():  # peft records the local base folder: name the public model instead
            data = json.loads(adapter_config.read_text(encoding="utf-8"))
            data["base_model_name_or_path"] = run.base_model_id
            safety.write_text_atomic(adapter_config, json.dumps(data, indent=2))
    else:
        merged.save_pretrained(staging, safe_serialization=True, max_shard_size="2GB")
    own = tokenizer.chat_template
    if agent is not None and agent.jinja is not None:  # apply_chat_template(tools=...) then asks as training did
        tokenizer.chat_template = agent.jinja
    try:
        tokenizer.save_pretrained(staging)
    finally:
        tokenizer.chat_template = own
    safety.write_text_atomic(staging / "README.md", model_card(run, fmt == "hf-merged", f"your-name/{run.name}"))
    say(0.6, "Verifying: loading the files back with transformers")


def _write_gguf_package(run: ExportableRun, fmt: str, merged, tokenizer, staging: Path, quant: str,
                        model_name: str, publisher: str, say: Progress,
                        agent: AgentTemplates | None, schema: dict | None) -> tuple[Path, dict]:
    file_name = f"{model_name}-{quant}.gguf"
    if fmt == "lmstudio":
        gguf_path = safety.safe_join(staging, f"{safety.safe_name(publisher)}/{model_name}/{file_name}")
        gguf_path.parent.mkdir(parents=True)
    else:
        gguf_path = safety.safe_join(staging, file_name)
    meta = GGUFMetadata(name=model_name, base_model=run.base_model_id, finetune="lora",
                        description=f"Fine-tuned with PEFT Studio from {run.base_model_id}",
                        pre_tokenizer=pre_tokenizer_for(run.base_model_id, run.source_gguf, run.base_folder),
                        chat_template=agent.jinja if agent is not None else None)
    say(0.2, f"Writing {file_name}")
    details = {"model_name": model_name, "publisher": safety.safe_name(publisher)}
    details |= write_gguf(merged, tokenizer, run.base_folder, gguf_path, quant, meta,
                         progress=lambda f, msg: say(0.2 + 0.55 * f, msg))
    if fmt == "ollama":
        chat = probe_chat_format(tokenizer)
        package = ollama.build_package(model_name, file_name, chat, stop_strings(tokenizer, chat),
                                       run.config.system_prompt,
                                       run.config.max_seq_length if run.config.max_seq_length > 4096 else None,
                                       agent=agent)
        safety.write_text_atomic(staging / "Modelfile", package.modelfile())
        safety.write_text_atomic(staging / "README.md", package.instructions())
        details["ollama_template"] = ("from the GGUF file" if not package.template else
                                      "translated, with tools" if package.tools else "translated")
    elif fmt == "lmstudio":
        safety.write_text_atomic(staging / "README.md", lmstudio.instructions(
            safety.safe_name(publisher), model_name, file_name))
    if schema is not None:  # JSON answers: the schema and its llama.cpp grammar beside the file
        details["answer_schema"] = json_answers.write_schema_files(gguf_path.parent, schema)
        readme = staging / "README.md"
        before = readme.read_text(encoding="utf-8") if readme.exists() else ""
        safety.write_text_atomic(readme, before + json_answers.instructions(fmt))
    return gguf_path, details


def _check_agent(report: VerificationReport, gguf_path: Path, tokenizer, run: ExportableRun) -> None:
    """Add the agent's checks to the report; a template that asks for tools differently from training fails it."""
    examples = validation_examples(run.run_dir)
    if not any(example.get("tools") for example in examples):
        return  # the dataset has moved, or its held-back rows have no tools: nothing to check against
    report.tools = check_agent_gguf(gguf_path, tokenizer, examples)
    if report.tools["template_exact"] < report.tools["template_compared"]:
        report.passed = False
        report.problem = "the file's chat template writes tools differently from the way the model was taught"


def _own_prompt(run: ExportableRun) -> str | None:
    """A question from the run's own held-back examples, so the report shows the export on the user's task."""
    try:
        prompts = validation_prompts(run.run_dir, 1)
    except Exception:  # noqa: BLE001 - the dataset may have moved since training; the check goes on without it
        return None
    return prompts[0][:500] if prompts else None


def _llama_cpp_quantizer_agreement(run: ExportableRun, merged, tokenizer, staging: Path, quant: str,
                                   ref: Reference) -> Agreement | None:
    """Write the same weights as F16, quantize them with llama.cpp, measure that file's agreement."""
    scratch = staging / ".llama-cpp-comparison"
    scratch.mkdir()
    try:
        source, target = scratch / "f16.gguf", scratch / f"{quant}.gguf"
        write_gguf(merged, tokenizer, run.base_folder, source, "f16",
                   GGUFMetadata(name="comparison", base_model=run.base_model_id,
                                pre_tokenizer=pre_tokenizer_for(run.base_model_id, run.source_gguf, run.base_folder)))
        llama_cpp_reference.quantize_file(source, target, quant)
        source.unlink()
        model = GGUFModel.open(target, context=1024, all_logits=True)
        try:
            return agreement_of(model, ref)
        finally:
            model.close()
    except Exception:  # noqa: BLE001 - the comparison is extra information, never a reason to fail the export
        return None
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def exported_gguf_files(run_dir: Path) -> list[Path]:
    """The GGUF files of this run's exports that are still where they were written, newest first."""
    found: list[Path] = []
    for entry in reversed(RunFolder(Path(run_dir)).info().get("exports", [])):
        folder = Path(entry.get("folder", ""))
        if entry.get("format") in GGUF_FORMATS and folder.is_dir():
            found += [path for path in sorted(folder.rglob("*.gguf")) if path not in found]
    return found


def _record(run: ExportableRun, result: ExportResult) -> None:
    """Remember the export in the run's run.json (the run folder stays the single source of truth)."""
    RunFolder(run.run_dir).record_export({
        "format": result.format, "folder": str(result.folder), "verified": result.report.passed
        if result.report else None, "at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())})
