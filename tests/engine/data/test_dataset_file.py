"""DatasetFile: a file is opened once, and one inspection gives the validation, the preview and the statistics."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from peftstudio.engine.data.dataset_file import DatasetFile

OPENED: list[str] = []
WATCHED: set[str] = set()


def _count_opens(event, args):
    if event == "open" and args and isinstance(args[0], str) and args[0] in WATCHED:
        OPENED.append(args[0])


sys.addaudithook(_count_opens)  # audit hooks cannot be removed; this one only counts the watched paths


def rows(n=60):
    return [{"question": f"What is {i} plus {i}?", "reply": f"{i} plus {i} is {2 * i}." + " Indeed." * (i % 50)}
            for i in range(n)]


@pytest.mark.parametrize("suffix", ["jsonl", "csv", "parquet"])
def test_one_inspection_reads_the_file_once(tmp_path, demo_tokenizer, suffix):
    path = tmp_path / f"data.{suffix}"
    if suffix == "jsonl":
        path.write_text("\n".join(json.dumps(r) for r in rows()) + "\n")
    elif suffix == "csv":
        path.write_text("question,reply\n" + "".join(f'"{r["question"]}","{r["reply"]}"\n' for r in rows()))
    else:
        import pyarrow as pa
        import pyarrow.parquet as pq

        pq.write_table(pa.Table.from_pylist(rows()), path)
    WATCHED.add(str(path))
    OPENED.clear()
    with DatasetFile.open(path, {"prompt": "question", "response": "reply"}) as data:
        found = data.inspect(demo_tokenizer, max_seq_length=64, preview=5)
        assert data.passes == 1
    assert OPENED == [str(path)]  # sniffing, schema, validation, preview and statistics: one open, one pass
    report = found.report
    assert report.schema.name == "mapped" and report.rows_usable == 60
    assert len(found.preview) == 5 and found.preview[0]["example"]["messages"][0]["content"] == "What is 0 plus 0?"
    assert found.stats.examples == 60 and found.stats.tokens_max > 64
    assert report.counts.get("truncated") == 1  # one warning listing the long examples, from the same counts
    assert found.stats.loss_tokens_per_epoch > 0


def test_rows_and_examples_reuse_the_sniffed_head(tmp_path):
    path = tmp_path / "d.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows(300)) + "\nnot json\n")
    with DatasetFile.open(path, {"prompt": "question", "response": "reply"}) as data:
        items = list(data.items())
        assert data.passes == 1 and len(items) == 301 and items[-1].line == 301
        examples = list(data.examples())  # a second pass rewinds the same handle
        assert data.passes == 2 and len(examples) == 300 and examples[0][0] == 1


def test_the_wizard_and_the_cli_check_with_the_same_length_and_mapping(tmp_path, demo_tokenizer):
    from peftstudio.engine.config import TrainingConfig
    from peftstudio.ui.wizard.dataset_page import inspect_dataset

    path = tmp_path / "odd-columns.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows()) + "\n")
    mapping = {"prompt": "question", "response": "reply"}
    shown = inspect_dataset(str(path), lambda progress=None: demo_tokenizer, TrainingConfig().max_seq_length, mapping)
    cli = subprocess.run([sys.executable, "-m", "peftstudio", "validate", str(path), "--json", "--model",
                          "HuggingFaceTB/SmolLM2-135M-Instruct", "--mapping", json.dumps(mapping)],
                         capture_output=True, text=True, timeout=300)
    document = json.loads(cli.stdout)
    assert shown["report"].schema.name == document["schema"]["name"] == "mapped"
    assert shown["report"].counts == document["counts"]
    assert shown["stats"].tokens_max == document["stats"]["tokens_max"]
