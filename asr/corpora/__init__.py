"""asr.corpora."""
