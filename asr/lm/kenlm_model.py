"""Querying an ARPA (or KenLM binary) model through the ``kenlm`` Python module.

``kenlm`` is optional (``pip install kenlm``, needs g++ and cmake); importing this module
works without it, and ``KenLM(...)`` raises ImportError with the install command.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterable, Sequence

from asr.lm.arpa import Perplexity


def kenlm_available() -> bool:
    """True when the ``kenlm`` module imports."""
    try:
        import kenlm  # noqa: F401
    except ImportError:
        return False
    return True


class KenLM:
    """A KenLM model: ``score`` gives log10 probabilities like ``ArpaModel.score_sentence``.

    Out-of-vocabulary words are scored as ``<unk>`` (KenLM's own behaviour).
    """

    def __init__(self, path: str | Path):
        try:
            import kenlm
        except ImportError as err:
            raise ImportError(
                "querying with KenLM needs the kenlm module: pip install kenlm"
            ) from err
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"language model not found: {path}")
        self.path = path
        config = kenlm.Config()
        config.show_progress = False
        self._model = kenlm.Model(str(path), config)

    @property
    def order(self) -> int:
        return self._model.order

    def __contains__(self, word: str) -> bool:
        return word in self._model

    def score(self, words: Sequence[str] | str, bos: bool = True, eos: bool = True) -> float:
        """Total log10 probability of a sentence (words or one space-separated string)."""
        text = words if isinstance(words, str) else " ".join(words)
        return self._model.score(text, bos=bos, eos=eos)

    def word_scores(
        self, words: Sequence[str] | str, bos: bool = True, eos: bool = True
    ) -> list[float]:
        """log10 probability of each word (and of ``</s>`` when ``eos``)."""
        text = words if isinstance(words, str) else " ".join(words)
        return [prob for prob, _, _ in self._model.full_scores(text, bos=bos, eos=eos)]

    def perplexity(self, sentences: Iterable[Sequence[str]]) -> Perplexity:
        """Perplexity over tokenized sentences; OOVs are scored as ``<unk>`` and counted."""
        logprob = 0.0
        num_sentences = num_words = num_oov = 0
        for sentence in sentences:
            words = list(sentence)
            num_sentences += 1
            num_words += len(words)
            num_oov += sum(1 for w in words if w not in self._model)
            logprob += self.score(words)
        return Perplexity(logprob, num_sentences, num_words, num_oov, 0)
