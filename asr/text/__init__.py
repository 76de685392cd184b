"""Text: normalization, symbol tables and tokenizers (sentencepiece BPE, characters)."""

from asr.text.normalize import collapse_whitespace, normalize_text
from asr.text.symbols import SymbolTable
from asr.text.tokenizer import (
    BLANK, SOS_EOS, SPACE, UNK, BpeTokenizer, CharTokenizer, Tokenizer, TokenizerConfig,
    build_tokenizer, load_tokenizer,
)

__all__ = [
    "BLANK", "SOS_EOS", "SPACE", "UNK", "BpeTokenizer", "CharTokenizer", "SymbolTable",
    "Tokenizer", "TokenizerConfig", "build_tokenizer", "collapse_whitespace", "load_tokenizer",
    "normalize_text",
]
