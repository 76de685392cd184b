"""Text normalization for transcripts: Unicode form, case, punctuation, whitespace."""

from __future__ import annotations

import re
import unicodedata

_SPACES = re.compile(r"\s+")
# Punctuation except the apostrophe inside words ("DON'T") and the hyphen.
_PUNCT = re.compile(r"[^\w\s'\-]|_")


def collapse_whitespace(text: str) -> str:
    """Strip the ends and turn every run of whitespace into one space."""
    return _SPACES.sub(" ", text).strip()


def normalize_text(text: str, case: str | None = "upper", remove_punctuation: bool = False) -> str:
    """Normalize a transcript.

    Args:
        text: the transcript.
        case: ``"upper"``, ``"lower"`` or ``None`` (keep).
        remove_punctuation: drop punctuation other than word-internal ``'`` and ``-``.

    Returns:
        NFKC-normalized text with single spaces.
    """
    text = unicodedata.normalize("NFKC", text)
    if remove_punctuation:
        text = _PUNCT.sub(" ", text)
    if case == "upper":
        text = text.upper()
    elif case == "lower":
        text = text.lower()
    elif case is not None:
        raise ValueError(f"case must be 'upper', 'lower' or None, got {case!r}")
    return collapse_whitespace(text)
