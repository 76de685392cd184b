"""Property tests (hypothesis): frame arithmetic, data dir round trips."""

import string

import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from asr.data import DataDir
from asr.features import fbank, num_frames


@settings(max_examples=60, deadline=None)
@given(num_samples=st.integers(0, 2000), snip_edges=st.booleans(),
       shift_ms=st.sampled_from([5.0, 10.0]), length_ms=st.sampled_from([20.0, 25.0]))
def test_num_frames_matches_the_extractor(num_samples, snip_edges, shift_ms, length_ms):
    expected = int(num_frames(num_samples, length_ms, shift_ms, 8000, snip_edges))
    assert expected >= 0
    if num_samples == 0:
        return
    wave = torch.linspace(-0.5, 0.5, num_samples)
    feats = fbank(wave, 8000, num_mel_bins=10, frame_length_ms=length_ms,
                  frame_shift_ms=shift_ms, snip_edges=snip_edges, low_freq=20.0)
    assert feats.shape[0] == expected


ids = st.text(alphabet=string.ascii_lowercase + string.digits, min_size=1, max_size=6)
words = st.lists(st.text(alphabet=string.ascii_uppercase + "'", min_size=1, max_size=8),
                 max_size=6).map(" ".join)


@settings(max_examples=60, deadline=None)
@given(st.dictionaries(ids, st.tuples(st.sampled_from(["spka", "spkb", "spkc"]), words,
                                      st.floats(0.1, 30.0)), min_size=1, max_size=20))
def test_data_dir_round_trip(tmp_path_factory, utts):
    data = DataDir()
    for utt, (spk, text, dur) in sorted(utts.items()):
        uid = f"{spk}-{utt}"  # speaker-prefixed ids keep Kaldi's sort rule
        data.wav_scp[uid] = f"/audio/{uid} with space.flac"
        data.text[uid] = text
        data.utt2spk[uid] = spk
        data.utt2dur[uid] = round(dur, 3)
    data.validate()
    path = tmp_path_factory.mktemp("rt")
    data.save(path)
    assert DataDir.load(path) == data
    parts = data.split(min(2, len(data.speakers)))
    assert sorted(u for p in parts for u in p.utterances) == data.utterances
