import pytest

from asr.text import normalize_text


def test_normalize_text():
    assert normalize_text("  hello,   World!\t") == "HELLO, WORLD!"
    assert normalize_text("Don't stop-now!", case="lower", remove_punctuation=True) == \
        "don't stop-now"
    assert normalize_text("ｆｕｌｌ width", case=None) == "full width"  # NFKC
    with pytest.raises(ValueError, match="case"):
        normalize_text("x", case="title")
