"""Prompts to CLIP embeddings the way AUTOMATIC1111 does: weighted, chunked, batched.

- Attention weights (see prompt_syntax) scale each token's embedding; the result is rescaled to
  the chunk's original mean so emphasis shifts the balance without blowing the scale up.
- Prompts beyond CLIP's 77-token window are not cut: the token ids are split into chunks of 75,
  each framed with BOS/EOS, padded to 77 and encoded on its own; the embeddings are concatenated
  along the sequence (the UNet's cross attention accepts any length).
- Every prompt and negative prompt of a batched call is padded with empty chunks to the same
  number of chunks, so rows of different members stack into one tensor.

With no weights and a short prompt this is exactly what diffusers' own encode_prompt computes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from generation.engine.prompt_syntax import attention_parse

CHUNK = 75  # 77 minus BOS and EOS


@dataclass
class _Tokens:
    ids: list[int]
    weights: list[float]

    def chunk_count(self) -> int:
        return max(1, -(-len(self.ids) // CHUNK))


def token_count(tokenizer: Any, text: str) -> int:
    return len(_tokenize(tokenizer, text).ids)


def _tokenize(tokenizer: Any, text: str) -> _Tokens:
    ids: list[int] = []
    weights: list[float] = []
    for piece, weight in attention_parse(text):
        if not piece.strip():
            continue
        piece_ids: list[int] = tokenizer(
            piece, add_special_tokens=False, truncation=False
        ).input_ids
        ids += piece_ids
        weights += [weight] * len(piece_ids)
    return _Tokens(ids=ids, weights=weights)


def _encode(
    text_encoder: Any, tokenizer: Any, tokens: _Tokens, chunks: int, clip_skip: int
) -> torch.Tensor:
    bos, eos = tokenizer.bos_token_id, tokenizer.eos_token_id
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else eos
    device = text_encoder.device
    parts = []
    for index in range(chunks):
        ids = tokens.ids[index * CHUNK : (index + 1) * CHUNK]
        weights = tokens.weights[index * CHUNK : (index + 1) * CHUNK]
        framed = torch.tensor([[bos, *ids, eos] + [pad] * (CHUNK - len(ids))], device=device)
        if clip_skip > 1:
            out = text_encoder(framed, output_hidden_states=True)
            hidden = text_encoder.final_layer_norm(out.hidden_states[-clip_skip])
        else:
            hidden = text_encoder(framed)[0]
        if any(w != 1.0 for w in weights):
            scale = torch.ones(CHUNK + 2, dtype=hidden.dtype, device=device)
            scale[1 : 1 + len(weights)] = torch.tensor(weights, dtype=hidden.dtype)
            original_mean = hidden.mean()
            hidden = hidden * scale[None, :, None]
            hidden = hidden * (original_mean / hidden.mean())
        parts.append(hidden)
    return torch.cat(parts, dim=1)


def prompts_encode(
    pipe: Any, prompts: list[str], negative_prompts: list[str], *, clip_skip: int = 1
) -> tuple[torch.Tensor, torch.Tensor]:
    """(prompt_embeds, negative_prompt_embeds), each (len(prompts), 77 * chunks, hidden)."""
    if len(prompts) != len(negative_prompts):
        raise ValueError("one negative prompt per prompt")
    tokenizer, encoder = pipe.tokenizer, pipe.text_encoder
    positive = [_tokenize(tokenizer, text) for text in prompts]
    negative = [_tokenize(tokenizer, text) for text in negative_prompts]
    chunks = max(t.chunk_count() for t in positive + negative)
    with torch.no_grad():
        pos = [_encode(encoder, tokenizer, t, chunks, clip_skip) for t in positive]
        neg = [_encode(encoder, tokenizer, t, chunks, clip_skip) for t in negative]
    return torch.cat(pos, dim=0), torch.cat(neg, dim=0)
