"""Score the starter model on held-out prompts:
``python -m tools.starter.evaluate --model OUT/pipeline --lora OUT/outline-lora.safetensors``.

Pictures are generated through the same engine the workers use (prompt encoding, sampler,
classifier-free guidance, LoRA loading and unloading) and read back by the deterministic
checker; the table gives the share of pictures whose shape colour, background, shape type,
position and size match the prompt, and how often the outline style is seen with the LoRA at
weight 1 and at weight 0 (and without it)."""

from __future__ import annotations

import argparse
import hashlib
import statistics
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from generation.worker.engine.runner import LoraWeights, RenderRequest, Row, render
from tools.starter import RECOMMENDED_CFG_SCALE, SIDE
from tools.starter.checker import Reading, picture_read
from tools.starter.shapes import ShapeSpec, eval_specs

FIELDS = ("colour", "background", "shape", "position", "size")
GOALS = {"colour": 0.85, "shape": 0.70, "position": 0.70}


@dataclass
class Scores:
    sized: bool = True  # False: the prompts left the size out, so the size column means nothing
    pictures: int = 0
    right: dict[str, int] = field(default_factory=lambda: dict.fromkeys(FIELDS, 0))
    outlined: int = 0
    misses: list[tuple[str, str]] = field(default_factory=list)

    def share(self, name: str) -> float:
        return self.right[name] / self.pictures if self.pictures else 0.0

    @property
    def outline_share(self) -> float:
        return self.outlined / self.pictures if self.pictures else 0.0


def lora_weights(path: Path, weight: float) -> LoraWeights:
    # Keyed by its hash, as the workers key a member's LoRA.
    return LoraWeights(
        path=path, weight=weight, key=hashlib.sha256(path.read_bytes()).hexdigest()[:16]
    )


def _answers(drawn: ShapeSpec | Reading) -> dict[str, object]:
    """What the scored fields say, for a prompt's spec or a picture's reading alike."""
    return {
        "colour": drawn.colour,
        "background": (drawn.background, drawn.background_2),
        "shape": drawn.shape,
        "position": drawn.position,
        "size": drawn.size,
    }


def score(
    pipe: Any,
    specs: Sequence[ShapeSpec],
    *,
    steps: int = 20,
    cfg_scale: float = RECOMMENDED_CFG_SCALE,
    sampler: str = "Euler a",
    loras: tuple[LoraWeights, ...] = (),
    seed: int = 1,
    batch: int = 8,
    sized: bool = True,
) -> Scores:
    """Generate one picture per spec (seed + its index) and read each back. ``sized=False``
    leaves the size out of the prompts ("a red circle on a blue background"): its size column
    then means nothing."""
    scores = Scores(sized=sized)
    for start in range(0, len(specs), batch):
        chunk = specs[start : start + batch]
        request = RenderRequest(
            rows=tuple(
                Row(spec.caption(size=sized), "", seed + start + offset)
                for offset, spec in enumerate(chunk)
            ),
            steps=steps,
            cfg_scale=cfg_scale,
            width=SIDE,
            height=SIDE,
            sampler=sampler,
            loras=loras,
        )
        for spec, (picture,) in zip(chunk, render(pipe, request), strict=True):
            reading = picture_read(picture)
            truth, seen = _answers(spec), _answers(reading)
            scores.pictures += 1
            for name in FIELDS:
                scores.right[name] += truth[name] == seen[name]
            scores.outlined += reading.style == "outline"
            if any(truth[name] != seen[name] for name in GOALS):
                scores.misses.append((spec.caption(size=sized), f"{reading}"))
    return scores


def table(runs: dict[str, Scores]) -> list[str]:
    """The Markdown table README and the model card quote: one row per run, shares of pictures
    read right per field ("–" for the size of prompts without one), then the outline style."""
    lines = [
        f"| run | {' | '.join(FIELDS)} | outline style |",
        f"|---|{'---|' * (len(FIELDS) + 1)}",
    ]
    for name, scores in runs.items():
        cells = " | ".join(
            "–" if f == "size" and not scores.sized else f"{scores.share(f):.1%}" for f in FIELDS
        )
        lines.append(f"| {name} | {cells} | {scores.outline_share:.1%} |")
    return lines


def seconds_per_picture(pipe: Any, *, steps: int = 20, runs: int = 5) -> float:
    """Median wall time of one native-size picture (batch of one, CFG on), after a warm-up call."""
    request = RenderRequest(
        rows=(Row("a red circle on a blue background", "", 1),),
        steps=steps,
        cfg_scale=RECOMMENDED_CFG_SCALE,
        width=SIDE,
        height=SIDE,
        sampler="Euler a",
    )
    render(pipe, request)
    timings = []
    for _ in range(runs):
        started = time.perf_counter()
        render(pipe, request)
        timings.append(time.perf_counter() - started)
    return statistics.median(timings)


def main(argv: Sequence[str] | None = None) -> None:
    from generation.worker.engine.loading import pipeline_load

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, required=True, help="OUT/pipeline of the trainer")
    parser.add_argument("--lora", type=Path, help="OUT/outline-lora.safetensors")
    parser.add_argument("--count", type=int, default=200)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--cfg", type=float, default=RECOMMENDED_CFG_SCALE)
    parser.add_argument("--sampler", default="Euler a", help="the site's default sampler")
    parser.add_argument("--misses", action="store_true", help="list the misread pictures")
    args = parser.parse_args(argv)

    pipe = pipeline_load(args.model)
    specs = eval_specs(args.count)
    common = {"steps": args.steps, "cfg_scale": args.cfg, "sampler": args.sampler}
    base = score(pipe, specs, **common)
    runs = {
        "no LoRA": base,
        "no LoRA, no size in the prompt": score(pipe, specs, sized=False, **common),
    }
    if args.lora is not None:
        runs["LoRA weight 1"] = score(pipe, specs, loras=(lora_weights(args.lora, 1.0),), **common)
        runs["LoRA weight 0"] = score(pipe, specs, loras=(lora_weights(args.lora, 0.0),), **common)

    print(
        f"{len(specs)} held-out prompts, {args.steps} steps, CFG {args.cfg}, "
        f"{args.sampler}, {SIDE} px"
    )
    print("\n".join(table(runs)))
    verdicts = [f"{name} {base.share(name):.1%} (goal {goal:.0%})" for name, goal in GOALS.items()]
    if args.lora is not None:
        verdicts += [
            f"LoRA style at weight 1 {runs['LoRA weight 1'].outline_share:.1%} (goal 80%)",
            f"at weight 0 {runs['LoRA weight 0'].outline_share:.1%} (goal at most 10%)",
        ]
    print("goals: " + ", ".join(verdicts))
    print(f"seconds per picture at {args.steps} steps: {seconds_per_picture(pipe):.3f}")
    if args.misses:
        for caption, reading in base.misses:
            print(f"  {caption!r}: {reading}")


if __name__ == "__main__":
    main()
