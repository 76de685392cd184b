"""The AN4 lexicon from CMU's ``etc/`` files: ``an4.dic``, ``an4.phone``, ``an4.filler``."""

from __future__ import annotations

from pathlib import Path

from asr.lexicon.lexicon import Lexicon, read_cmu_dict

SENTENCE_MARKERS = ("<s>", "</s>")


def an4_lexicon(etc_dir: str | Path, oov_word: str = "<UNK>", oov_phone: str = "SPN") -> Lexicon:
    """The AN4 lexicon: ``an4.dic`` (with its ``WORD(2)`` variants), the filler words of
    ``an4.filler`` other than ``<s>``/``</s>`` (``<sil> SIL``), and ``oov_word oov_phone``.

    Raises FileNotFoundError for a missing file and ValueError when ``an4.dic`` or
    ``an4.filler`` uses a phone that ``an4.phone`` does not list.
    """
    etc = Path(etc_dir)
    for name in ("an4.dic", "an4.phone", "an4.filler"):
        if not (etc / name).is_file():
            raise FileNotFoundError(f"AN4 lexicon: {etc / name} not found")
    phones = set((etc / "an4.phone").read_text(encoding="utf-8").split())
    lexicon = read_cmu_dict(etc / "an4.dic")
    fillers = read_cmu_dict(etc / "an4.filler")
    for source, lex in (("an4.dic", lexicon), ("an4.filler", fillers)):
        unknown = sorted(set(lex.phones()) - phones)
        if unknown:
            raise ValueError(f"AN4 lexicon: {etc / source} uses phones not in an4.phone: {unknown}")
    for entry in fillers:
        if entry.word not in SENTENCE_MARKERS:
            lexicon.add(entry.word, entry.phones)
    if oov_word not in lexicon:
        lexicon.add(oov_word, [oov_phone])
    return lexicon
