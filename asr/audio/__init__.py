"""Audio input: the one place that turns files into float32 waveforms.

- :func:`load_audio` reads WAV/FLAC/OGG (soundfile), headerless raw PCM and Kaldi
  pipe entries (``cmd args |``), mixes down to mono and resamples to the model rate.
- :func:`resample` is a windowed-sinc polyphase resampler in torch.
- :func:`speed_perturb` changes speed (tempo and pitch), as Kaldi/ESPnet do.
"""

from asr.audio.io import (
    AudioError,
    AudioInfo,
    RawFormat,
    audio_info,
    load_audio,
    parse_wav_entry,
)
from asr.audio.resample import resample, speed_perturb

__all__ = [
    "AudioError",
    "AudioInfo",
    "RawFormat",
    "audio_info",
    "load_audio",
    "parse_wav_entry",
    "resample",
    "speed_perturb",
]
