"""AUTOMATIC1111's prompt syntax: ``<lora:name:weight>`` tags and attention weights.

Members paste prompts written for A1111 (and A1111 API clients send them), so this reads that
syntax rather than compel's, whose grammar differs (``(word)1.3``, ``word++``):

- ``(word)`` multiplies attention by 1.1, ``[word]`` divides it by 1.1; they nest.
- ``(word:1.3)`` sets the weight of the group to 1.3.
- ``\\(`` ``\\)`` ``\\[`` ``\\]`` are literal brackets; unmatched closers are plain text and an
  unclosed opener lasts to the end of the prompt, as in A1111.

One left-to-right pass with no regular expression backtracking: linear in the prompt's length.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

ROUND = 1.1
SQUARE = 1 / 1.1

# <lora:name> or <lora:name:weight>; a name holds no ':' or '>' (bounded classes, no nesting).
_LORA_TAG = re.compile(r"<lora:([^:<>]{1,100})(?::([^:<>]{0,20}))?>", re.IGNORECASE)
_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)")


class PromptSyntaxError(ValueError):
    """A tag the member wrote cannot be read; the message says which."""


@dataclass(frozen=True)
class LoraTag:
    name: str
    weight: float


def loras_extract(prompt: str) -> tuple[str, list[LoraTag]]:
    """The prompt without its ``<lora:...>`` tags, and the tags in order of appearance.

    A LoRA named twice keeps its last weight (A1111 applies it once)."""
    found: dict[str, LoraTag] = {}
    for match in _LORA_TAG.finditer(prompt):
        name = match.group(1).strip()
        raw = (match.group(2) or "1").strip() or "1"
        if not _NUMBER.fullmatch(raw):
            raise PromptSyntaxError(f'<lora:{name}:{raw}>: "{raw}" is not a number')
        weight = float(raw)
        if not -4 <= weight <= 4:
            raise PromptSyntaxError(f"<lora:{name}:{raw}>: the weight must be between -4 and 4")
        found.pop(name.lower(), None)
        found[name.lower()] = LoraTag(name=name, weight=weight)
    text = _LORA_TAG.sub("", prompt)
    return " ".join(text.split()) if found else prompt, list(found.values())


def _weight_closer(text: str, start: int) -> tuple[float, int] | None:
    """At a ':' inside a round group: ``:<number>)`` gives (weight, index after ')')."""
    i = start + 1
    while i < len(text) and text[i] == " ":
        i += 1
    match = _NUMBER.match(text, i)
    if match is None:
        return None
    j = match.end()
    while j < len(text) and text[j] == " ":
        j += 1
    if j < len(text) and text[j] == ")":
        return float(match.group()), j + 1
    return None


def attention_parse(text: str) -> list[tuple[str, float]]:
    """Split a prompt into (text, weight) runs; adjacent runs of equal weight are merged."""
    runs: list[list[str | float]] = []
    rounds: list[int] = []
    squares: list[int] = []
    buffer: list[str] = []

    def flush() -> None:
        if buffer:
            runs.append(["".join(buffer), 1.0])
            buffer.clear()

    def multiply(start: int, factor: float) -> None:
        for run in runs[start:]:
            run[1] = float(run[1]) * factor

    i = 0
    while i < len(text):
        char = text[i]
        if char == "\\" and i + 1 < len(text) and text[i + 1] in "()[]\\":
            buffer.append(text[i + 1])
            i += 2
            continue
        if char == "(":
            flush()
            rounds.append(len(runs))
        elif char == "[":
            flush()
            squares.append(len(runs))
        elif char == ")" and rounds:
            flush()
            multiply(rounds.pop(), ROUND)
        elif char == "]" and squares:
            flush()
            multiply(squares.pop(), SQUARE)
        elif char == ":" and rounds and (closer := _weight_closer(text, i)) is not None:
            flush()
            weight, i = closer
            multiply(rounds.pop(), weight)
            continue
        else:
            buffer.append(char)
        i += 1
    flush()
    for start in rounds:
        multiply(start, ROUND)
    for start in squares:
        multiply(start, SQUARE)

    merged: list[tuple[str, float]] = []
    for piece, weight in ((str(r[0]), round(float(r[1]), 6)) for r in runs):
        if merged and merged[-1][1] == weight:
            merged[-1] = (merged[-1][0] + piece, weight)
        else:
            merged.append((piece, weight))
    return merged or [("", 1.0)]
