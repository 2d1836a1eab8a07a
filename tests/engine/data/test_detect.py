import string

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from peftstudio.engine.data.detect import detect_format
from peftstudio.engine.data.reader import Row, iter_rows
from peftstudio.engine.data.dataset_file import validate_file
from dataset_writers import FORMATS, expected_format, write_dataset

words = st.text(alphabet=string.ascii_letters + "éüß ,.?!'", min_size=1, max_size=40).filter(lambda s: s.strip())
alpaca_rows = st.lists(st.fixed_dictionaries({"instruction": words, "input": st.just(""), "output": words}),
                       min_size=2, max_size=15)


# **Feature: simplified-llm-optimization, Property 7: Dataset format detection**
@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(alpaca_rows, st.sampled_from(FORMATS), st.sampled_from(["utf-8", "utf-8-sig", "utf-16"]))
def test_format_is_detected_by_content_for_every_format_and_encoding(tmp_path, rows, fmt, encoding):
    if fmt == "parquet" and encoding != "utf-8":
        encoding = "utf-8"
    path = write_dataset(rows, tmp_path, fmt, encoding)
    # the extension must not be what decides: rename everything but parquet/txt to .dat
    if fmt not in ("txt", "tsv", "csv"):
        path = path.rename(path.with_suffix(".dat"))
    info = detect_format(path)
    assert info.is_dataset, info.reason
    assert info.format == expected_format(fmt)
    read = [item.data for item in iter_rows(path, info) if isinstance(item, Row)]
    if fmt == "txt":
        assert len(read) == len(rows)
    else:
        assert read == rows


# **Feature: simplified-llm-optimization, Property 6: Dataset format acceptance**
@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(alpaca_rows, st.sampled_from(["csv", "json", "jsonl", "txt"]))
def test_every_csv_json_jsonl_and_text_file_is_accepted_and_processed(tmp_path, rows, fmt):
    path = write_dataset(rows, tmp_path, fmt)
    report = validate_file(path, min_examples=1)
    assert report.readable and report.schema is not None
    assert report.schema.name == ("text" if fmt == "txt" else "alpaca")
    assert report.rows_usable == len(rows)
    assert report.exit_code == 0


def test_legacy_single_byte_files_are_read_with_a_warning(tmp_path):
    path = tmp_path / "legacy.csv"
    path.write_bytes("instruction,output\nCaf\xe9 order?,Un caf\xe9 cr\xe8me\n".encode("latin-1"))
    info = detect_format(path)
    assert info.encoding == "cp1252" and "UTF-8" in info.encoding_warning
    [row] = [i.data for i in iter_rows(path, info) if isinstance(i, Row)]
    assert row == {"instruction": "Café order?", "output": "Un café crème"}
    report = validate_file(path, min_examples=1)
    assert report.counts["legacy_encoding"] == 1 and report.exit_code == 0


@pytest.mark.parametrize("content,what", [
    (b"", "empty"), (b"   \n\n  ", "blank"), (b"PK\x03\x04" + b"\x00" * 64, "zip"),
    (b"\x89PNG\r\n\x1a\n" + bytes(range(256)), "PNG"), (b"%PDF-1.7\n" + b"\x00\x01" * 40, "PDF"),
    (bytes(range(256)) * 4, "binary"),
])
def test_files_that_are_not_datasets_give_a_structured_answer(tmp_path, content, what):
    path = tmp_path / "thing.json"
    path.write_bytes(content)
    info = detect_format(path)
    assert not info.is_dataset and info.reason
    report = validate_file(path)
    assert report.exit_code == 2 and report.results[0].code == "not_a_dataset"


def test_files_over_one_gigabyte_are_refused_before_reading(tmp_path):
    path = tmp_path / "huge.jsonl"
    with open(path, "wb") as handle:  # sparse: no disk used, nothing read
        handle.truncate((1 << 30) + 1)
    info = detect_format(path)
    assert not info.is_dataset and "1 GB" in info.reason
