"""asr: a speech recognition toolkit that trains the classical HMM pipeline and
end-to-end models on the same data and scores them the same way."""

__version__ = "0.1.0"
