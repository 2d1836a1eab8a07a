import errno

from hypothesis import given, settings
from hypothesis import strategies as st

from peftstudio.engine.errors import PlainError, from_exception

EXCEPTIONS = [ValueError, KeyError, RuntimeError, TypeError, ZeroDivisionError, AttributeError,
              FileNotFoundError, PermissionError, MemoryError, IndexError]


@settings(max_examples=100, deadline=None)
@given(st.sampled_from(EXCEPTIONS), st.text(max_size=80))
def test_any_exception_becomes_a_plain_message_with_a_report(tmp_path_factory, exc_type, message):
    folder = tmp_path_factory.mktemp("report")
    try:
        raise exc_type(message)
    except BaseException as exc:  # noqa: BLE001
        error = from_exception(exc, report_folder=folder)
    text = error.render()
    assert "Traceback" not in text and 'File "' not in text
    assert exc_type.__name__ not in text.replace("Not enough memory", "")
    assert 2 <= len(error.actions) <= 3
    assert error.help_link.startswith("file://")
    if exc_type is not MemoryError:
        report = open(error.diagnostic_report, encoding="utf-8").read()
        assert "Traceback" in report and exc_type.__name__ in report


def test_full_disk_is_recognised():
    error = from_exception(OSError(errno.ENOSPC, "No space left on device"))
    assert error.title == "The disk is full"


def test_plain_error_requires_two_or_three_actions():
    try:
        PlainError("t", "w", "y", ["only one"])
    except ValueError:
        pass
    else:
        raise AssertionError("a single action must be refused")
