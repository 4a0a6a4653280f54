"""The text filter: listed terms found in normalised text with Aho–Corasick automata.

Pure Python, no Django: ``TermFilter(terms).screen(text)`` runs in time linear in the text
(normalisation is a handful of passes through C-implemented ``str`` methods and splits on one
character class, which cannot backtrack; matching is one walk of each automaton), so an
adversarial 20,000-character prompt costs milliseconds.

What the normaliser undoes, applied to terms and text alike:
- full-width and other compatibility forms (NFKC), case (casefold) and accents (NFKD, marks
  dropped), zero-width and other invisible format characters;
- leetspeak, by folding look-alike characters into one class (0/o, 1/l/i, 3/e, 4/@/a,
  5/$/s, 7/t): "s3x", "p0rn" and "$ex" read as the words they spell;
- letters spread out with spaces or punctuation: a run of one-character tokens joins into a
  word ("p o r n", "s.e.x"), and punctuation inside a whitespace-free token is dropped
  ("se-x", "n.u.d.e") in a second reading of the same text.

How terms match:
- Latin-script terms match whole words or phrases ("sex" does not match "Sussex"); a trailing
  ``*`` makes a prefix ("porn*" matches "pornographic").
- Latin terms of ``SQUEEZED_MIN_LETTERS`` letters or more (and no digits) also match inside the
  text with every separator removed, which catches any spacing trick ("blow j ob").
- Chinese, Japanese and Korean terms match anywhere (those scripts have no spaces between words),
  also with separators removed.
- An "allow" term masks the matches that lie inside it ("nude colour", "血腥玛丽").
- Combinations count: a "combine" term alone does nothing, but together with a term of the
  category ``COMBINATIONS`` pairs it with, blocks (a word about minors with a sexual word).
"""

from __future__ import annotations

import bisect
import itertools
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum

import ahocorasick


class Category(StrEnum):
    MINORS = "minors"
    SEXUAL = "sexual"
    VIOLENCE = "violence"
    HATE = "hate"
    REAL_PERSONS = "real_persons"
    WEAPONS_DRUGS = "weapons_drugs"
    # Context: words that refuse nothing alone, only in the combinations below ("step by step"
    # with a drug's name; "vermin" with a people's name).
    INSTRUCTIONS = "instructions"
    HOSTILITY = "hostility"


class Action(StrEnum):
    BLOCK = "block"
    FLAG = "flag"
    COMBINE = "combine"
    ALLOW = "allow"


# Categories found together (by terms of any action but "allow") -> the category blocked.
COMBINATIONS: dict[tuple[Category, Category], Category] = {
    (Category.MINORS, Category.SEXUAL): Category.MINORS,
    (Category.REAL_PERSONS, Category.SEXUAL): Category.REAL_PERSONS,
    (Category.WEAPONS_DRUGS, Category.INSTRUCTIONS): Category.WEAPONS_DRUGS,
    (Category.HATE, Category.HOSTILITY): Category.HATE,
}
CONTEXT = frozenset({Category.INSTRUCTIONS, Category.HOSTILITY})
# The order in which a blocked prompt's category is reported when several apply.
SEVERITY = (
    Category.MINORS,
    Category.REAL_PERSONS,
    Category.SEXUAL,
    Category.HATE,
    Category.WEAPONS_DRUGS,
    Category.VIOLENCE,
)
SQUEEZED_MIN_LETTERS = 6

_LOOKALIKES = str.maketrans(
    {"0": "o", "1": "i", "l": "i", "3": "e", "4": "a", "@": "a", "5": "s", "$": "s", "7": "t"}
)
_INVISIBLE = dict.fromkeys(
    map(ord, "\u00ad\u180e\u200b\u200c\u200d\u200e\u200f\u2060\u2061\u2062\u2063\u2064\ufeff")
)
# Combining marks (accents once NFKD has split them off), dropped by one str.translate.
_MARKS = {cp: None for cp in range(0x10000) if unicodedata.combining(chr(cp))}
_SEPARATORS = re.compile(r"[\W_]+")


@dataclass(frozen=True)
class Term:
    text: str
    category: Category
    action: Action


@dataclass(frozen=True)
class Verdict:
    """What the filter decided: ``blocked`` names the category that blocks (None: allowed);
    ``flagged``: categories recorded for moderators although the text passes."""

    blocked: Category | None = None
    flagged: frozenset[Category] = field(default_factory=frozenset)

    @property
    def allowed(self) -> bool:
        return self.blocked is None


def _is_cjk(char: str) -> bool:
    name = unicodedata.name(char, "")
    return name.startswith(("CJK", "HIRAGANA", "KATAKANA", "HANGUL"))


def _characters(text: str) -> str:
    """Case, width, accents, invisible characters and look-alikes folded away."""
    text = unicodedata.normalize("NFKC", text).casefold()
    text = unicodedata.normalize("NFKD", text.translate(_INVISIBLE))
    return text.translate(_MARKS).translate(_LOOKALIKES)


def _tokens(pieces: Iterable[str]) -> list[str]:
    """Join runs of one-character tokens ("p o r n" -> "porn"); keep the others as they are."""
    tokens: list[str] = []
    run: list[str] = []
    for piece in pieces:
        if not piece:
            continue
        if len(piece) == 1 and not _is_cjk(piece):
            run.append(piece)
            continue
        if run:
            tokens.append("".join(run))
            run = []
        tokens.append(piece)
    if run:
        tokens.append("".join(run))
    return tokens


@dataclass(frozen=True)
class Readings:
    """The two texts the automata walk: words (space-separated, two readings joined by a
    newline) and squeezed (every separator removed)."""

    words: str
    squeezed: str


def readings(text: str) -> Readings:
    folded = _characters(text)
    split_everywhere = _tokens(_SEPARATORS.split(folded))
    joined_inside = _tokens(_SEPARATORS.sub("", chunk) for chunk in folded.split())
    words = " " + " ".join(split_everywhere) + " \n " + " ".join(joined_inside) + " "
    return Readings(words=words, squeezed="".join(split_everywhere))


def term_key(text: str) -> tuple[str, str] | None:
    """(automaton, key) for a term: ("words", " porn") or ("squeezed", "色情"); None when
    nothing is left of the term after normalising."""
    prefix = text.strip().endswith("*")
    folded = readings(text.strip().rstrip("*"))
    words = " ".join(folded.words.split("\n")[0].split())
    if not words:
        return None
    if any(_is_cjk(c) for c in words):
        return ("squeezed", folded.squeezed)
    return ("words", " " + words + ("" if prefix else " "))


def _automaton(keys: dict[str, list[int]], terms: list[Term]) -> ahocorasick.Automaton | None:
    """Each key's value: (its length, the indexes of the terms it stands for that are not
    exceptions, whether it is an "allow" exception)."""
    if not keys:
        return None
    automaton = ahocorasick.Automaton()
    for key, indexes in keys.items():
        listed = tuple(i for i in indexes if terms[i].action != Action.ALLOW)
        automaton.add_word(key, (len(key), listed, len(listed) < len(indexes)))
    automaton.make_automaton()
    return automaton


class TermFilter:
    """Screens text against a fixed list of terms; build once, screen many times."""

    def __init__(self, terms: Iterable[Term], *, sexual_blocks: bool = True) -> None:
        self.terms = list(terms)
        self.sexual_blocks = sexual_blocks
        words: dict[str, list[int]] = {}
        squeezed: dict[str, list[int]] = {}
        for index, term in enumerate(self.terms):
            key = term_key(term.text)
            if key is None:
                continue
            kind, text = key
            if kind == "squeezed":
                squeezed.setdefault(text, []).append(index)
                continue
            words.setdefault(text, []).append(index)
            letters = text.replace(" ", "")
            # A term written with digits ("rule 34") folds them into letters like leetspeak;
            # without its word boundaries it would turn up inside words ("brûlée and").
            has_digits = any(c.isdigit() for c in term.text)
            if len(letters) >= SQUEEZED_MIN_LETTERS and not has_digits:
                squeezed.setdefault(letters, []).append(index)
        self._words = _automaton(words, self.terms)
        self._squeezed = _automaton(squeezed, self.terms)

    @staticmethod
    def _found(automaton: ahocorasick.Automaton | None, text: str) -> set[int]:
        """Indexes of the terms found in ``text``, matches inside an "allow" term dropped."""
        if automaton is None:
            return set()
        matches: list[tuple[int, int, tuple[int, ...]]] = []
        allowed: list[tuple[int, int]] = []
        for end, (length, listed, is_exception) in automaton.iter(text):
            if is_exception:
                allowed.append((end - length + 1, end))
            if listed:
                matches.append((end - length + 1, end, listed))
        # A match is masked when an allowed span starts at or before it and ends at or after
        # it: sorted starts and a running maximum of ends answer that in O(log n) per match.
        allowed.sort()
        starts = [start for start, _ in allowed]
        reach = list(itertools.accumulate((end for _, end in allowed), max))
        found: set[int] = set()
        for start, end, listed in matches:
            before = bisect.bisect_right(starts, start)
            if before and reach[before - 1] >= end:
                continue
            found.update(listed)
        return found

    def screen(self, text: str) -> Verdict:
        if not text:
            return Verdict()
        read = readings(text)
        found = self._found(self._words, read.words) | self._found(self._squeezed, read.squeezed)
        matched = [self.terms[i] for i in found]
        blocked: set[Category] = set()
        flagged: set[Category] = set()
        present = {term.category for term in matched}
        for term in matched:
            if term.category in CONTEXT:
                continue  # counts in combinations only, whatever its action says
            if term.action == Action.BLOCK:
                blocked.add(term.category)
            elif term.action == Action.FLAG:
                flagged.add(term.category)
        for (first, second), combined in COMBINATIONS.items():
            if first in present and second in present:
                blocked.add(combined)
        if Category.SEXUAL in blocked and not self.sexual_blocks:
            blocked.discard(Category.SEXUAL)
            flagged.add(Category.SEXUAL)
        for category in SEVERITY:
            if category in blocked:
                return Verdict(blocked=category, flagged=frozenset(flagged | blocked))
        return Verdict(flagged=frozenset(flagged))
