"""TransformerDecoder: incremental (cached) next-token scores equal the full recompute."""

import pytest
import torch

from asr.nn.transformer import TransformerDecoder


@pytest.fixture(scope="module")
def decoder():
    torch.manual_seed(0)
    return TransformerDecoder(vocab_size=9, d_model=16, n_heads=2, ff_dim=24,
                              num_layers=2, dropout=0.1).eval()


def test_incremental_scores_equal_the_full_recompute_as_a_beam_reorders(decoder):
    memory = torch.randn(1, 11, 16)
    cached = decoder.incremental(memory)
    sos = 8
    prefixes = torch.tensor([[sos]])
    gen = torch.Generator().manual_seed(1)
    for _ in range(5):
        with torch.no_grad():
            got = cached(prefixes)
            want = decoder.next_token_log_probs(memory.expand(len(prefixes), -1, -1), None,
                                                prefixes)
        torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-5)
        # as a beam search does: some prefixes extended twice, some dropped, order shuffled
        parents = torch.randint(0, len(prefixes), (4,), generator=gen)
        tokens = torch.randint(0, 8, (4, 1), generator=gen)
        prefixes = torch.cat([prefixes[parents], tokens], dim=1)


def test_a_prefix_whose_parent_was_never_scored_is_computed_from_scratch(decoder):
    memory = torch.randn(1, 7, 16)
    cached = decoder.incremental(memory)
    with torch.no_grad():
        cached(torch.tensor([[8], ]))
        cached(torch.tensor([[8, 1]]))
        ys = torch.tensor([[8, 1, 2], [8, 3, 4]])  # parent (8, 3) was not among the rows
        got = cached(ys)
        want = decoder.next_token_log_probs(memory.expand(2, -1, -1), None, ys)
    torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-5)


def test_incremental_decoding_refuses_training_mode():
    dec = TransformerDecoder(vocab_size=5, d_model=8, n_heads=2, ff_dim=8, num_layers=1)
    with pytest.raises(ValueError, match="eval mode"):
        dec.train().incremental(torch.zeros(1, 3, 8))
