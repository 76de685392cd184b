import torch

from asr.audio.io import load_audio
from asr.features import functional as F
from asr.gmm.feats import add_deltas_cmvn, mono_features


def test_mono_features_are_cmvn_mfcc_with_deltas(an4_flacs):
    wave = load_audio(an4_flacs[0])
    feats = mono_features(wave)
    mfcc = F.mfcc(wave)
    assert feats.shape == (mfcc.shape[0], 39)
    assert torch.allclose(feats[:, :13], mfcc - mfcc.double().mean(0).float(), atol=1e-4)
    assert torch.allclose(feats[:, :13].double().mean(0), torch.zeros(13, dtype=torch.float64),
                          atol=1e-4)
    # deltas of a mean-shifted signal do not depend on the shift
    assert torch.allclose(feats[:, 13:], F.compute_deltas(mfcc)[:, 13:], atol=1e-4)


def test_speaker_cmvn_pools_utterances(an4_flacs):
    mfccs = {f.stem: F.mfcc(load_audio(f)) for f in an4_flacs[:3]}
    utt2spk = {u: "spk" for u in mfccs}
    feats = add_deltas_cmvn(mfccs, utt2spk)
    pooled = torch.cat([feats[u][:, :13] for u in mfccs]).double().mean(0)
    assert torch.allclose(pooled, torch.zeros(13, dtype=torch.float64), atol=1e-4)
    first = next(iter(mfccs))
    assert not torch.allclose(feats[first][:, :13].double().mean(0),
                              torch.zeros(13, dtype=torch.float64), atol=1e-2)
    assert list(feats) == list(mfccs)
