"""Quality of the prompt filter with its shipped starting terms, on the labelled prompts in
tests/data/prompt_safety/, each written independently of the term list: dev (the terms were
tuned on its misses), holdout (its misses were seen once, so it is not clean any more) and fresh
(written after the tuning, never used to change a term).

    .venv/bin/python benchmarks/prompt_filter_quality.py [--show-errors]

Prints, per file and for both together: recall and precision per category (a violating prompt
counts as caught when it is blocked, whatever the category named; the category table says how
often the right one was named), the false-positive rate on benign prompts and on the traps
among them, recall per disguise, and the time to screen a 20,000-character adversarial prompt.
Goal: recall >= 0.95 with <= 2% false positives. The site's default level (PG-13) is assumed:
explicit sexual prompts are refused."""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from moderation.textfilter import Action, Category, Term, TermFilter  # noqa: E402

DATA = ROOT / "tests" / "data" / "prompt_safety"
SEEDS = ROOT / "moderation" / "seeds" / "terms.json"
BENIGN = "benign"


def shipped_filter() -> TermFilter:
    rows = json.loads(SEEDS.read_text(encoding="utf-8"))
    return TermFilter(
        Term(row["term"], Category(row["category"]), Action(row["action"])) for row in rows
    )


def load(name: str) -> list[dict[str, str]]:
    lines = (DATA / f"{name}.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def report(title: str, cases: list[dict[str, str]], term_filter: TermFilter, show: bool) -> None:
    caught: Counter[str] = Counter()
    named: Counter[str] = Counter()
    total: Counter[str] = Counter()
    blocked_as: Counter[str] = Counter()  # predicted category -> count (for precision)
    right_as: Counter[str] = Counter()
    variants: Counter[str] = Counter()
    variants_caught: Counter[str] = Counter()
    errors = []
    for case in cases:
        truth = case["category"]
        verdict = term_filter.screen(case["prompt"])
        predicted = str(verdict.blocked) if verdict.blocked else BENIGN
        total[truth] += 1
        if predicted != BENIGN:
            blocked_as[predicted] += 1
            right_as[predicted] += predicted == truth
        if truth == BENIGN:
            caught[truth] += predicted != BENIGN  # a false positive
            if case["variant"] == "trap":
                variants["trap (benign)"] += 1
                variants_caught["trap (benign)"] += predicted != BENIGN
        else:
            caught[truth] += predicted != BENIGN
            named[truth] += predicted == truth
            variants[case["variant"]] += 1
            variants_caught[case["variant"]] += predicted != BENIGN
        if (predicted == BENIGN) != (truth == BENIGN):
            errors.append((truth, predicted, case["prompt"]))
    violating = [c for c in total if c != BENIGN]
    all_violating = sum(total[c] for c in violating)
    all_caught = sum(caught[c] for c in violating)
    print(f"\n## {title}: {len(cases)} prompts ({all_violating} violating, {total[BENIGN]} benign)")
    print(f"{'category':<15}{'n':>5}{'recall':>9}{'named':>9}{'precision':>11}")
    for category in Category:
        c = str(category)
        if not total[c]:
            continue
        precision = right_as[c] / blocked_as[c] if blocked_as[c] else float("nan")
        print(
            f"{c:<15}{total[c]:>5}{caught[c] / total[c]:>9.3f}{named[c] / total[c]:>9.3f}"
            f"{precision:>11.3f}"
        )
    blocked_any = sum(blocked_as.values())
    precision_all = (blocked_any - caught[BENIGN]) / blocked_any if blocked_any else float("nan")
    print(
        f"{'all violating':<15}{all_violating:>5}{all_caught / all_violating:>9.3f}"
        f"{'':>9}{precision_all:>11.3f}"
    )
    print(
        f"false positives on benign: {caught[BENIGN]}/{total[BENIGN]} = "
        f"{caught[BENIGN] / total[BENIGN]:.2%}"
    )
    print(
        "by variant: "
        + ", ".join(f"{v} {variants_caught[v]}/{variants[v]}" for v in sorted(variants))
        + "  (trap: blocked count, lower is better)"
    )
    if show:
        for truth, predicted, prompt in errors:
            print(f"  {truth:>13} -> {predicted:<13} {prompt}")


def adversarial_timing(term_filter: TermFilter) -> None:
    prompts = {
        "letters": "a" * 20_000,
        "spread letters": ("s e x " * 3_400)[:20_000],
        "repeated term": ("porn" * 5_000)[:20_000],
        "chinese": ("色情" * 10_000)[:20_000],
        "zero-width": ("p\u200b" * 10_000)[:20_000],
    }
    print("\n## 20,000-character adversarial prompts (best of 5)")
    for name, text in prompts.items():
        best = min(_timed(term_filter, text) for _ in range(5))
        print(f"{name:<16}{best * 1000:>8.1f} ms")


def _timed(term_filter: TermFilter, text: str) -> float:
    started = time.perf_counter()
    term_filter.screen(text)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--show-errors", action="store_true")
    args = parser.parse_args()
    term_filter = shipped_filter()
    print(f"terms: {len(term_filter.terms)}")
    sets = {name: load(name) for name in ("dev", "holdout", "fresh")}
    for name, cases in sets.items():
        report(name, cases, term_filter, args.show_errors)
    report("all three", [case for cases in sets.values() for case in cases], term_filter, False)
    adversarial_timing(term_filter)


if __name__ == "__main__":
    main()
