"""Per-text checks and fixes shared by validation and repair: encoding damage, personal data, duplicates."""
from __future__ import annotations

import re
import unicodedata

# UTF-8 bytes read as Windows-1252/Latin-1: "Ã©" for "é", "â€™" for "’", "Ã¼" for "ü" ...
MOJIBAKE = re.compile("[\u00c2\u00c3][\u0080-\u00bf]|\u00e2\u20ac[\u0080-\u00bf\u2122\u0153\u201c\u201d\u02dc\u0161\u0152\u00a6\u2018\u2019\u201a\u201e\u2020\u2021\u2022\u2026\u2030\u2039\u203a\u017d\u017e\u0178\u00a0-\u00bf]")
CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
SURROGATE = re.compile("[\ud800-\udfff]")
# right-to-left overrides and isolates, zero-width space, word joiner, a byte-order mark inside text: they make
# text read differently than it shows ("Trojan source"); joiners (U+200C/D) and direction marks stay, scripts
# and emoji need them
HIDDEN = re.compile("[\u202a-\u202e\u2066-\u2069\u200b\u2060\ufeff]")
EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]*[A-Za-z]{2,}")
PHONE = re.compile(r"(?<!\w)(?:\+\d{1,3}[ .-]?)?(?:\(\d{2,4}\)[ .-]?)?\d{3,4}[ .-]\d{3,4}(?:[ .-]\d{2,4})?(?!\w)")


# punctuation, symbols and spaces are dropped for the near-duplicate key (str.translate runs in C)
_FOLD = dict.fromkeys(i for i in range(0x10000) if not chr(i).isalnum())


def has_mojibake(text: str) -> bool:
    return not text.isascii() and MOJIBAKE.search(text) is not None


def has_surrogates(text: str) -> bool:
    return not text.isascii() and SURROGATE.search(text) is not None


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


def has_control(text: str) -> bool:
    return not text.isprintable() and CONTROL.search(text) is not None  # isprintable: a fast C pre-check


def has_hidden(text: str) -> bool:
    return HIDDEN.search(text) is not None


def strip_hidden(text: str) -> str:
    return HIDDEN.sub("", text)


def strip_control(text: str) -> str:
    return SURROGATE.sub("", CONTROL.sub("", text))


# An address has at most 64 characters before the "@" and 255 after it (RFC 5321). Searching only these
# windows keeps the check linear: the plain regex over a long run of word characters is quadratic
# (49 s for a 120 KB field).
EMAIL_BEFORE, EMAIL_AFTER = 64, 255
MAX_AT_SIGNS = 1000  # a hint, not an audit: past this many "@" the answer is already known or hopeless


def has_email(text: str) -> bool:
    at = text.find("@")
    for _ in range(MAX_AT_SIGNS):
        if at < 0:
            return False
        if EMAIL.search(text, max(0, at - EMAIL_BEFORE), at + EMAIL_AFTER + 1):
            return True
        at = text.find("@", at + 1)
    return False


def personal_data_hints(text: str) -> list[str]:
    found = []
    if has_email(text):
        found.append("an email address")
    # a phone number has at least 7 digits; counting them (C speed) spares most texts the slow regex
    if sum(text.count(d) for d in "0123456789") >= 7 and PHONE.search(text):
        found.append("a phone number")
    return found


def near_duplicate_key(text: str) -> int:
    """Same key for texts that differ only in case, spacing, punctuation or accents."""
    folded = text.casefold()
    if not folded.isascii():
        folded = "".join(c for c in unicodedata.normalize("NFKD", folded) if not unicodedata.combining(c))
    return hash(folded.translate(_FOLD))
