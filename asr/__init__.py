"""asr: a speech recognition toolkit that trains the classical HMM pipeline and
end-to-end models on the same data and scores them the same way."""

__version__ = "0.1.0"


def transcribe(model_dir, files, **kwargs):
    """Transcribe audio files with a trained system; see :func:`asr.api.transcribe`."""
    from asr.api import transcribe as _transcribe

    return _transcribe(model_dir, files, **kwargs)
