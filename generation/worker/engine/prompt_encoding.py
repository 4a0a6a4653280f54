"""Prompts to CLIP embeddings the way AUTOMATIC1111 does: weighted, chunked, batched.

- Attention weights (see prompt_syntax) scale each token's embedding; the result is rescaled to
  the chunk's original mean so emphasis shifts the balance without blowing the scale up.
- Prompts beyond CLIP's 77-token window are not cut: the token ids are split into chunks of 75,
  each framed with BOS/EOS, padded to 77 and encoded on its own; the embeddings are concatenated
  along the sequence (the UNet's cross attention accepts any length).
- Every prompt and negative prompt of a batched call is padded with empty chunks to the same
  number of chunks, so rows of different members stack into one tensor.
- SDXL (two text encoders): each encoder does the above on its own (weights, mean rescale), its
  penultimate layer is taken as SDXL was trained, and the two are concatenated on the feature
  axis. The pooled embedding (second encoder's projected EOS state) comes from the first chunk,
  as in A1111, so words past token 75 steer cross attention but not the pooled vector.

With no weights and a short prompt this is exactly what diffusers' own encode_prompt computes."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch

from generation.prompt_syntax import attention_parse

CHUNK = 75  # 77 minus BOS and EOS

# One framed chunk of token ids (1, 77) -> its hidden states (1, 77, hidden) and, for an encoder
# with a projection, the pooled embedding (1, projection).
ChunkEncoder = Callable[[torch.Tensor], tuple[torch.Tensor, torch.Tensor | None]]


@dataclass(frozen=True)
class PromptEmbeddings:
    """Everything a pipeline call needs in place of its prompts; pooled only for SDXL."""

    positive: torch.Tensor
    negative: torch.Tensor
    pooled: torch.Tensor | None = None
    negative_pooled: torch.Tensor | None = None

    def as_kwargs(self) -> dict[str, torch.Tensor]:
        kwargs = {"prompt_embeds": self.positive, "negative_prompt_embeds": self.negative}
        if self.pooled is not None and self.negative_pooled is not None:
            kwargs |= {
                "pooled_prompt_embeds": self.pooled,
                "negative_pooled_prompt_embeds": self.negative_pooled,
            }
        return kwargs


@dataclass
class _Tokens:
    ids: list[int]
    weights: list[float]

    def chunk_count(self) -> int:
        return max(1, -(-len(self.ids) // CHUNK))


def is_sdxl(pipe: Any) -> bool:
    return getattr(pipe, "text_encoder_2", None) is not None


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


def _final_layer_norm(text_encoder: Any) -> Any:
    # transformers 5 flattened CLIPTextModel; CLIPTextModelWithProjection keeps ``text_model``.
    norm = getattr(text_encoder, "final_layer_norm", None)
    return norm if norm is not None else text_encoder.text_model.final_layer_norm


def _sd_chunk_encoder(text_encoder: Any, clip_skip: int) -> ChunkEncoder:
    def encode(framed: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        if clip_skip > 1:
            out = text_encoder(framed, output_hidden_states=True)
            return _final_layer_norm(text_encoder)(out.hidden_states[-clip_skip]), None
        return text_encoder(framed)[0], None

    return encode


def _sdxl_chunk_encoder(text_encoder: Any, clip_skip: int) -> ChunkEncoder:
    # SDXL was trained on the penultimate layer (no final layer norm), so A1111's clip skip 1 and 2
    # both mean that layer; 3 and up skip further (diffusers' clip_skip = ours - 2).
    layer = -max(2, clip_skip)

    def encode(framed: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        out = text_encoder(framed, output_hidden_states=True)
        # CLIPTextModelWithProjection's first output is the projected pooled embedding.
        pooled = out[0] if out[0].ndim == 2 else None
        return out.hidden_states[layer], pooled

    return encode


def _encode(
    chunk_encoder: ChunkEncoder, tokenizer: Any, tokens: _Tokens, chunks: int, device: Any
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """(hidden states of all chunks concatenated, pooled embedding of the first chunk)."""
    bos, eos = tokenizer.bos_token_id, tokenizer.eos_token_id
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else eos
    parts = []
    first_pooled = None
    for index in range(chunks):
        ids = tokens.ids[index * CHUNK : (index + 1) * CHUNK]
        weights = tokens.weights[index * CHUNK : (index + 1) * CHUNK]
        framed = torch.tensor([[bos, *ids, eos] + [pad] * (CHUNK - len(ids))], device=device)
        hidden, pooled = chunk_encoder(framed)
        if index == 0:
            first_pooled = pooled
        if any(w != 1.0 for w in weights):
            scale = torch.ones(CHUNK + 2, dtype=hidden.dtype, device=device)
            scale[1 : 1 + len(weights)] = torch.tensor(weights, dtype=hidden.dtype)
            original_mean = hidden.mean()
            hidden = hidden * scale[None, :, None]
            hidden = hidden * (original_mean / hidden.mean())
        parts.append(hidden)
    return torch.cat(parts, dim=1), first_pooled


def _sd_embeddings(
    pipe: Any, prompts: list[str], negative_prompts: list[str], clip_skip: int
) -> PromptEmbeddings:
    tokenizer, encoder = pipe.tokenizer, pipe.text_encoder
    positive = [_tokenize(tokenizer, text) for text in prompts]
    negative = [_tokenize(tokenizer, text) for text in negative_prompts]
    chunks = max(t.chunk_count() for t in positive + negative)
    chunk_encoder = _sd_chunk_encoder(encoder, clip_skip)
    pos = [_encode(chunk_encoder, tokenizer, t, chunks, encoder.device)[0] for t in positive]
    neg = [_encode(chunk_encoder, tokenizer, t, chunks, encoder.device)[0] for t in negative]
    return PromptEmbeddings(positive=torch.cat(pos, dim=0), negative=torch.cat(neg, dim=0))


def _sdxl_embeddings(
    pipe: Any, prompts: list[str], negative_prompts: list[str], clip_skip: int
) -> PromptEmbeddings:
    pairs = [(pipe.tokenizer, pipe.text_encoder), (pipe.tokenizer_2, pipe.text_encoder_2)]
    texts = prompts + negative_prompts
    tokens = [[_tokenize(tokenizer, text) for text in texts] for tokenizer, _ in pairs]
    chunks = max(t.chunk_count() for per_encoder in tokens for t in per_encoder)
    # SDXL base was trained with zeros, not the encoded "", for an empty negative prompt
    # (diffusers' and A1111's default too); decided per row so a job's pictures do not depend
    # on the jobs it is batched with.
    zero_empty = bool(pipe.config.get("force_zeros_for_empty_prompt", False))
    rows: list[tuple[torch.Tensor, torch.Tensor]] = []
    for index, text in enumerate(texts):
        features, pooled = [], None
        for (tokenizer, encoder), per_encoder in zip(pairs, tokens, strict=True):
            chunk_encoder = _sdxl_chunk_encoder(encoder, clip_skip)
            hidden, encoder_pooled = _encode(
                chunk_encoder, tokenizer, per_encoder[index], chunks, encoder.device
            )
            features.append(hidden)
            pooled = encoder_pooled if encoder_pooled is not None else pooled
        if pooled is None:
            raise ValueError("SDXL's second text encoder gave no pooled embedding")
        hidden = torch.cat(features, dim=-1)
        if zero_empty and index >= len(prompts) and not text.strip():
            hidden, pooled = torch.zeros_like(hidden), torch.zeros_like(pooled)
        rows.append((hidden, pooled))
    dtype = pipe.text_encoder_2.dtype
    hidden_all = torch.cat([hidden for hidden, _ in rows]).to(dtype)
    pooled_all = torch.cat([pooled for _, pooled in rows]).to(dtype)
    count = len(prompts)
    return PromptEmbeddings(
        positive=hidden_all[:count],
        negative=hidden_all[count:],
        pooled=pooled_all[:count],
        negative_pooled=pooled_all[count:],
    )


def prompt_embeddings_build(
    pipe: Any, prompts: list[str], negative_prompts: list[str], *, clip_skip: int = 1
) -> PromptEmbeddings:
    """Embeddings for one call, row i from prompts[i] and negative_prompts[i]: each
    (len(prompts), 77 * chunks, hidden); for SDXL also the pooled (len(prompts), projection)."""
    if len(prompts) != len(negative_prompts):
        raise ValueError("one negative prompt per prompt")
    build = _sdxl_embeddings if is_sdxl(pipe) else _sd_embeddings
    with torch.no_grad():
        return build(pipe, prompts, negative_prompts, clip_skip)


def prompts_encode(
    pipe: Any, prompts: list[str], negative_prompts: list[str], *, clip_skip: int = 1
) -> tuple[torch.Tensor, torch.Tensor]:
    """(prompt_embeds, negative_prompt_embeds), each (len(prompts), 77 * chunks, hidden).

    SD 1.x/2.x shorthand; SDXL needs the pooled embeddings too: use prompt_embeddings_build."""
    embeddings = prompt_embeddings_build(pipe, prompts, negative_prompts, clip_skip=clip_skip)
    return embeddings.positive, embeddings.negative
