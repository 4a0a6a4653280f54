"""Prompts longer than CLIP's 77-token window, encoded the way AUTOMATIC1111 does instead of cut.

The token ids are split into chunks of 75; each chunk is framed with BOS/EOS, padded to 77 and
encoded on its own; the embeddings are concatenated along the sequence. The UNet's cross
attention accepts any sequence length. The negative prompt gets as many chunks (padded with empty
ones) so both can be batched for classifier-free guidance."""

from __future__ import annotations

from typing import Any

import torch

CHUNK = 75  # 77 minus BOS and EOS


def token_count(tokenizer: Any, text: str) -> int:
    ids: list[int] = tokenizer(text, add_special_tokens=False, truncation=False).input_ids
    return len(ids)


def needs_chunking(tokenizer: Any, prompt: str, negative_prompt: str) -> bool:
    return max(token_count(tokenizer, prompt), token_count(tokenizer, negative_prompt)) > CHUNK


def _chunks(tokenizer: Any, text: str, count: int) -> list[list[int]]:
    ids: list[int] = tokenizer(text, add_special_tokens=False, truncation=False).input_ids
    pieces = [ids[i : i + CHUNK] for i in range(0, len(ids), CHUNK)] or [[]]
    pieces += [[]] * (count - len(pieces))
    bos, eos = tokenizer.bos_token_id, tokenizer.eos_token_id
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else eos
    return [[bos, *piece, eos] + [pad] * (CHUNK - len(piece)) for piece in pieces]


def _encode(text_encoder: Any, chunks: list[list[int]], clip_skip: int) -> torch.Tensor:
    device = text_encoder.device
    parts = []
    for chunk in chunks:
        ids = torch.tensor([chunk], device=device)
        if clip_skip > 1:
            out = text_encoder(ids, output_hidden_states=True)
            hidden = text_encoder.final_layer_norm(out.hidden_states[-clip_skip])
        else:
            hidden = text_encoder(ids)[0]
        parts.append(hidden)
    return torch.cat(parts, dim=1)


def encode_long_prompts(
    pipe: Any, prompt: str, negative_prompt: str, *, clip_skip: int = 1
) -> tuple[torch.Tensor, torch.Tensor]:
    """(prompt_embeds, negative_prompt_embeds), each (1, 77 * chunks, hidden)."""
    tokenizer = pipe.tokenizer
    count = max(
        -(-token_count(tokenizer, prompt) // CHUNK),
        -(-token_count(tokenizer, negative_prompt) // CHUNK),
        1,
    )
    positive = _encode(pipe.text_encoder, _chunks(tokenizer, prompt, count), clip_skip)
    negative = _encode(pipe.text_encoder, _chunks(tokenizer, negative_prompt, count), clip_skip)
    return positive, negative
