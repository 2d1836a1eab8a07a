"""Per-text checks and fixes shared by validation and repair: encoding damage, personal data, duplicates."""
from __future__ import annotations

import re
import unicodedata

# UTF-8 bytes read as Windows-1252/Latin-1: "Ã©" for "é", "â€™" for "’", "Ã¼" for "ü" ...
MOJIBAKE = re.compile("[\u00c2\u00c3][\u0080-\u00bf]|\u00e2\u20ac[\u0080-\u00bf\u2122\u0153\u201c\u201d\u02dc\u0161\u0152\u00a6\u2018\u2019\u201a\u201e\u2020\u2021\u2022\u2026\u2030\u2039\u203a\u017d\u017e\u0178\u00a0-\u00bf]")
CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
SURROGATE = re.compile("[\ud800-\udfff]")
EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]*[A-Za-z]{2,}")
PHONE = re.compile(r"(?<!\w)(?:\+\d{1,3}[ .-]?)?(?:\(\d{2,4}\)[ .-]?)?\d{3,4}[ .-]\d{3,4}(?:[ .-]\d{2,4})?(?!\w)")
NON_WORD = re.compile(r"[\W_]+")


def has_mojibake(text: str) -> bool:
    return MOJIBAKE.search(text) is not None


def fix_mojibake(text: str) -> str:
    """Undo UTF-8 read as Windows-1252, piece by piece; text that is not damaged stays as it is."""
    def repair(match: re.Match) -> str:
        piece = match.group(0)
        try:  # cp1252 leaves 5 bytes undefined (0x81, 0x8d, 0x8f, 0x90, 0x9d): latin-1 covers those
            raw = b"".join(_cp1252_or_latin1(ch) for ch in piece)
            return raw.decode("utf-8")
        except (UnicodeEncodeError, UnicodeDecodeError):
            return piece

    # widen each hit to the run of suspicious characters around it
    return re.sub("(?:[\u00c2-\u00f4][\u0080-\u00bf\u2018-\u203a\u0152-\u0178\u02c6\u02dc\u2122\u20ac]{1,3})+",
                  repair, text)


def _cp1252_or_latin1(ch: str) -> bytes:
    try:
        return ch.encode("cp1252")
    except UnicodeEncodeError:
        return ch.encode("latin-1")


def strip_control(text: str) -> str:
    return SURROGATE.sub("", CONTROL.sub("", text))


def personal_data_hints(text: str) -> list[str]:
    found = []
    if EMAIL.search(text):
        found.append("an email address")
    if PHONE.search(text):
        found.append("a phone number")
    return found


def near_duplicate_key(text: str) -> int:
    """Same key for texts that differ only in case, spacing, punctuation or accents."""
    folded = unicodedata.normalize("NFKD", text.casefold())
    return hash(NON_WORD.sub(" ", folded).strip())
