"""Tokenizers for end-to-end models: sentencepiece BPE, characters and phones.

Every tokenizer shares one id layout, so CTC and attention models need not know
which one they got::

    0            <blank>     CTC blank (never produced by ``encode``)
    1            <unk>       anything outside the vocabulary
    2 .. V-2     units       BPE pieces or characters (word boundary ``▁``), or phones
    V-1          <sos/eos>   start and end of sentence for attention decoders

``save(dir)`` writes ``tokenizer.yaml`` (the config), ``tokens.txt`` (Kaldi
``<sym> <id>`` format) and, for BPE, ``bpe.model`` (for phones ``lexicon.txt``, see
:mod:`asr.text.phone_tokenizer`); :func:`load_tokenizer` reads them back.
"""

from __future__ import annotations

import dataclasses
import io
import logging
from pathlib import Path
from typing import Iterable, Sequence

from asr.text.normalize import normalize_text
from asr.text.symbols import SymbolTable

log = logging.getLogger(__name__)

BLANK = "<blank>"
UNK = "<unk>"
SOS_EOS = "<sos/eos>"
SPACE = "\u2581"  # "▁": the word-boundary mark shared by sentencepiece and the char tokenizer

CONFIG_FILE = "tokenizer.yaml"
TOKENS_FILE = "tokens.txt"
BPE_FILE = "bpe.model"


@dataclasses.dataclass
class TokenizerConfig:
    """How to build a tokenizer.

    Attributes:
        kind: ``"bpe"`` (sentencepiece), ``"char"`` or ``"phone"`` (pronunciations from
            ``lexicon``; :mod:`asr.text.phone_tokenizer`).
        vocab_size: BPE only: the total vocabulary including the 3 special ids; the
            sentencepiece model gets ``vocab_size - 2`` pieces (its own ``<unk>`` included).
            On a small corpus sentencepiece may stop earlier; ``Tokenizer.vocab_size`` is
            the size actually built.
        model_type: sentencepiece model type (``"bpe"`` or ``"unigram"``).
        case: text case applied before encoding: ``"upper"``, ``"lower"`` or ``None``.
        strict: raise ``ValueError`` on characters outside the vocabulary instead of
            mapping them to ``<unk>`` (and counting them in ``Tokenizer.num_unk``).
        lexicon: phone only: the pronunciation lexicon to build from (Kaldi
            ``lexicon.txt`` or CMU ``.dic``); a saved phone tokenizer keeps its own copy.
    """

    kind: str = "bpe"
    vocab_size: int = 300
    model_type: str = "bpe"
    case: str | None = "upper"
    strict: bool = False
    lexicon: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in ("bpe", "char", "phone"):
            raise ValueError(f"tokenizer kind must be 'bpe', 'char' or 'phone', got {self.kind!r}")
        if self.model_type not in ("bpe", "unigram"):
            raise ValueError(f"model_type must be 'bpe' or 'unigram', got {self.model_type!r}")
        if self.kind == "bpe" and self.vocab_size < 5:
            raise ValueError(f"vocab_size must be at least 5, got {self.vocab_size}")


class Tokenizer:
    """Base class: the id layout, ``decode`` and saving. Subclasses define ``_encode_units``."""

    blank_id = 0
    unk_id = 1

    def __init__(self, config: TokenizerConfig, units: Sequence[str]):
        self.config = config
        self.symbols = SymbolTable.from_symbols([BLANK, UNK, *units, SOS_EOS])
        self._tokens = self.symbols.symbols
        self.num_unk = 0  # characters (char) or pieces (BPE) mapped to <unk> so far

    @property
    def vocab_size(self) -> int:
        return len(self._tokens)

    @property
    def sos_id(self) -> int:
        return self.vocab_size - 1

    @property
    def eos_id(self) -> int:
        return self.vocab_size - 1

    @property
    def tokens(self) -> list[str]:
        """Token strings in id order."""
        return list(self._tokens)

    def id_to_token(self, idx: int) -> str:
        return self._tokens[idx]

    def normalize(self, text: str) -> str:
        return normalize_text(text, case=self.config.case)

    def encode(self, text: str) -> list[int]:
        """Normalize ``text`` and return its ids (no blank, no sos/eos)."""
        text = self.normalize(text)
        ids = self._encode_units(text)
        unk = sum(1 for i in ids if i == self.unk_id)
        if unk:
            if self.config.strict:
                raise ValueError(
                    f"transcript {text!r} has characters outside the vocabulary: "
                    f"{sorted(self._unknown_chars(text))}")
            if self.num_unk == 0:
                log.warning("mapping out-of-vocabulary characters in %r to %s", text, UNK)
            self.num_unk += unk
        return ids

    def decode(self, ids: Iterable[int]) -> str:
        """Ids -> text; blank and sos/eos are skipped, ``▁`` becomes a space."""
        skip = (self.blank_id, self.sos_id)
        pieces = [self._tokens[int(i)] for i in ids if int(i) not in skip]
        return " ".join("".join(pieces).replace(SPACE, " ").split())

    def _encode_units(self, text: str) -> list[int]:
        raise NotImplementedError

    def _unknown_chars(self, text: str) -> set[str]:
        return {ch for ch in text if ch != " " and self._encode_units(ch) == [self.unk_id]}

    def save(self, directory: str | Path) -> None:
        """Write ``tokenizer.yaml`` and ``tokens.txt`` (and ``bpe.model``) into ``directory``."""
        from asr.config import save_config

        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        self._save_model(directory)
        self.symbols.write(directory / TOKENS_FILE)
        save_config(self.config, directory / CONFIG_FILE)

    def _save_model(self, directory: Path) -> None:
        pass


class CharTokenizer(Tokenizer):
    """One token per character; the space is the token ``▁``."""

    def __init__(self, config: TokenizerConfig, chars: Sequence[str]):
        super().__init__(config, chars)
        self._char2id = {ch: self.symbols.get_id(ch) for ch in chars}

    @classmethod
    def train(cls, config: TokenizerConfig, sentences: Iterable[str]) -> "CharTokenizer":
        """The vocabulary is every character of the (normalized) sentences, sorted."""
        chars: set[str] = set()
        for sentence in sentences:
            chars.update(normalize_text(sentence, case=config.case).replace(" ", SPACE))
        if not chars:
            raise ValueError("cannot build a character tokenizer from no text")
        return cls(config, sorted(chars))

    def _encode_units(self, text: str) -> list[int]:
        return [self._char2id.get(ch, self.unk_id) for ch in text.replace(" ", SPACE)]


class BpeTokenizer(Tokenizer):
    """Sentencepiece pieces; sentencepiece id ``i`` is our id ``i + 1`` (its ``<unk>`` is 0)."""

    def __init__(self, config: TokenizerConfig, model_proto: bytes):
        import sentencepiece as spm

        self._sp = spm.SentencePieceProcessor(model_proto=model_proto)
        self._proto = model_proto
        pieces = [self._sp.id_to_piece(i) for i in range(self._sp.get_piece_size())]
        if pieces[0] != UNK:
            raise ValueError(f"sentencepiece model must have {UNK} at id 0, has {pieces[0]!r}")
        super().__init__(config, pieces[1:])

    @classmethod
    def train(cls, config: TokenizerConfig, sentences: Iterable[str]) -> "BpeTokenizer":
        """Train sentencepiece on ``sentences``; the same input gives the same model."""
        import sentencepiece as spm

        text = [normalize_text(s, case=config.case) for s in sentences]
        text = [t for t in text if t]
        if not text:
            raise ValueError("cannot train a BPE tokenizer from no text")
        model = io.BytesIO()
        spm.SentencePieceTrainer.train(
            sentence_iterator=iter(text), model_writer=model,
            vocab_size=config.vocab_size - 2, model_type=config.model_type,
            character_coverage=1.0, normalization_rule_name="identity",
            unk_id=0, bos_id=-1, eos_id=-1, pad_id=-1, unk_surface=UNK,
            hard_vocab_limit=False, input_sentence_size=0, shuffle_input_sentence=False,
            num_threads=1, minloglevel=2)
        return cls(config, model.getvalue())

    def _encode_units(self, text: str) -> list[int]:
        return [i + 1 for i in self._sp.encode(text, out_type=int)]

    def _save_model(self, directory: Path) -> None:
        from asr.utils.io import atomic_write_bytes

        atomic_write_bytes(directory / BPE_FILE, self._proto)


def build_tokenizer(config: TokenizerConfig, sentences: Iterable[str]) -> Tokenizer:
    """Train the tokenizer ``config.kind`` on ``sentences`` (training transcripts)."""
    if config.kind == "bpe":
        return BpeTokenizer.train(config, sentences)
    if config.kind == "phone":
        from asr.text.phone_tokenizer import PhoneTokenizer

        return PhoneTokenizer.build(config)
    return CharTokenizer.train(config, sentences)


def load_tokenizer(directory: str | Path) -> Tokenizer:
    """Read a tokenizer written by ``Tokenizer.save``."""
    from asr.config import load_config

    directory = Path(directory)
    config_path = directory / CONFIG_FILE
    if not config_path.is_file():
        raise FileNotFoundError(f"no tokenizer in {directory}: {config_path} is missing")
    config = load_config(TokenizerConfig, config_path)
    table = SymbolTable.read(directory / TOKENS_FILE)
    if config.kind == "bpe":
        model_path = directory / BPE_FILE
        if not model_path.is_file():
            raise FileNotFoundError(f"BPE tokenizer in {directory} lacks {model_path}")
        tokenizer: Tokenizer = BpeTokenizer(config, model_path.read_bytes())
    elif config.kind == "phone":
        from asr.text.phone_tokenizer import PhoneTokenizer

        tokenizer = PhoneTokenizer.load(directory, config, table)
    else:
        symbols = table.symbols
        if symbols[:2] != [BLANK, UNK] or symbols[-1] != SOS_EOS:
            raise ValueError(f"{directory / TOKENS_FILE}: expected {BLANK}, {UNK} first "
                             f"and {SOS_EOS} last")
        tokenizer = CharTokenizer(config, symbols[2:-1])
    if tokenizer.symbols != table:
        raise ValueError(f"{directory / TOKENS_FILE} does not match the tokenizer model in "
                         f"{directory}")
    return tokenizer
