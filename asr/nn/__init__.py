"""Shared neural-network layers: subsampling, positional encodings, attention, masks,
Conformer blocks and the Transformer decoder."""

from asr.nn.attention import MultiHeadAttention, RelPositionMultiHeadAttention, rel_shift
from asr.nn.conformer import ConformerBlock, ConformerEncoder, ConvModule, FeedForward
from asr.nn.mask import make_non_pad_mask, make_pad_mask, subsequent_mask, target_mask
from asr.nn.pos_enc import AbsolutePositionalEncoding, RelativePositionalEncoding, sinusoid
from asr.nn.subsampling import Conv2dSubsampling, Conv2dSubsampling4, conv_output_lengths
from asr.nn.transformer import TransformerDecoder, TransformerDecoderLayer

__all__ = [
    "AbsolutePositionalEncoding", "ConformerBlock", "ConformerEncoder", "Conv2dSubsampling",
    "Conv2dSubsampling4", "ConvModule", "FeedForward", "MultiHeadAttention",
    "RelPositionMultiHeadAttention", "RelativePositionalEncoding", "TransformerDecoder",
    "TransformerDecoderLayer", "conv_output_lengths", "make_non_pad_mask", "make_pad_mask",
    "rel_shift", "sinusoid", "subsequent_mask", "target_mask",
]
