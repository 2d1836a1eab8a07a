"""Random bytes and near-valid JSON/CSV never crash detection, validation, statistics or repair."""
import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from peftstudio.engine.data.detect import detect_format
from peftstudio.engine.data.repair import repair_file
from peftstudio.engine.data.dataset_file import validate_file
from peftstudio.engine.errors import PlainError

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def mutate(text: str, data) -> str:
    """Cut, duplicate or corrupt a valid text at random places."""
    for _ in range(data.draw(st.integers(1, 4))):
        if not text:
            break
        i = data.draw(st.integers(0, len(text) - 1))
        action = data.draw(st.sampled_from(["cut", "insert", "delete", "dup"]))
        if action == "cut":
            text = text[:i]
        elif action == "insert":
            text = text[:i] + data.draw(st.sampled_from(['"', "{", "}", ",", "\n", "\x00", "\\", "\t", "é", "]"])) \
                + text[i:]
        elif action == "delete":
            text = text[:i] + text[i + 1:]
        else:
            text = text[:i] + text[i:] + text[i:]
    return text


def check_structured(path):
    info = detect_format(path)
    report = validate_file(path, min_examples=1)
    assert report.exit_code in (0, 1, 2)
    assert info.is_dataset or report.exit_code == 2
    json.dumps(report.to_dict(), default=str)
    try:
        repair_file(path, path.with_name("fixed.jsonl"))
    except PlainError:
        pass


@FUZZ
@given(st.binary(max_size=2048))
def test_random_bytes(tmp_path, blob):
    path = tmp_path / "random.jsonl"
    path.write_bytes(blob)
    check_structured(path)


@FUZZ
@given(st.data(), st.sampled_from(["json", "jsonl", "csv"]))
def test_near_valid_json_and_csv(tmp_path, data, fmt):
    rows = [{"instruction": f"q{i}", "output": f"a \"{i}\", ok"} for i in range(5)]
    if fmt == "json":
        text = json.dumps(rows)
    elif fmt == "jsonl":
        text = "\n".join(json.dumps(r) for r in rows)
    else:
        text = "instruction,output\n" + "\n".join(f'{r["instruction"]},"{r["output"].replace(chr(34), 2 * chr(34))}"'
                                                  for r in rows)
    path = tmp_path / f"near.{fmt}"
    path.write_text(mutate(text, data), encoding="utf-8", errors="surrogateescape")
    check_structured(path)
