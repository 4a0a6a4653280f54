"""Screening text against the filter terms, and the terms' own upkeep.

``text_screen`` is the one entry point for text: prompts now, and titles, descriptions and
comments when the moderation issue applies it there too."""

from __future__ import annotations

import json
import logging
import threading
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.db.models import Count, Max
from django.utils.translation import gettext as _

from moderation.models import FilterTerm
from moderation.textfilter import Action, Category, Term, TermFilter, Verdict
from visionary.levels import Level

logger = logging.getLogger(__name__)
SEED_FILE = Path(__file__).resolve().parent / "seeds" / "terms.json"

_lock = threading.Lock()
_built: tuple[object, TermFilter] | None = None


def _sexual_blocks() -> bool:
    """Explicit sexual text is refused while the site's maximum level is below X."""
    return bool(settings.MODERATION_MAX_LEVEL < Level.X)


def term_filter() -> TermFilter:
    """The automaton for the active terms, rebuilt in this process when the terms change (one
    aggregate query tells: the count and the latest edit of the terms)."""
    global _built
    state = (
        FilterTerm.objects.aggregate(n=Count("pk"), latest=Max("updated_at")),
        _sexual_blocks(),
    )
    with _lock:
        if _built is None or _built[0] != state:
            active = FilterTerm.objects.filter(is_active=True).values_list(
                "term", "category", "action"
            )
            terms = [Term(text, Category(cat), Action(act)) for text, cat, act in active]
            _built = (state, TermFilter(terms, sexual_blocks=_sexual_blocks()))
            logger.info("prompt filter built", extra={"terms": len(terms)})
        return _built[1]


def text_screen(text: str) -> Verdict:
    return term_filter().screen(text)


@dataclass(frozen=True)
class Refusal:
    """Why a request was refused: the field and the category, never the matched term."""

    field: str
    category: Category

    @property
    def message(self) -> str:
        return refusal_message(self.category)


def refusal_message(category: Category) -> str:
    reasons = {
        Category.MINORS: _("it asks for sexual content involving minors, which is never allowed"),
        Category.SEXUAL: _("it asks for explicit sexual content, which this site does not allow"),
        Category.VIOLENCE: _("it asks for graphic violence or gore"),
        Category.HATE: _("it contains hateful content"),
        Category.REAL_PERSONS: _("it asks for sexualised pictures of a real person"),
        Category.WEAPONS_DRUGS: _("it asks for instructions to make weapons or drugs"),
    }
    return _("This prompt was refused: %(reason)s. Please change it and try again.") % {
        "reason": reasons[category]
    }


@dataclass(frozen=True)
class Screening:
    refusal: Refusal | None
    flagged: frozenset[Category]


def prompts_screen(*, prompt: str, negative_prompt: str = "") -> Screening:
    """The prompt and the negative prompt screened: the first refusal (None: both pass) and
    every category flagged in either."""
    refusal = None
    flagged: set[Category] = set()
    for field, text in (("prompt", prompt), ("negative_prompt", negative_prompt)):
        verdict = text_screen(text)
        flagged |= verdict.flagged
        if verdict.blocked is not None and refusal is None:
            refusal = Refusal(field=field, category=verdict.blocked)
    return Screening(refusal=refusal, flagged=frozenset(flagged))


def terms_seed(*, path: Path = SEED_FILE) -> int:
    """Add the starting terms that are missing (an edited or deactivated term is left as the
    moderators set it). Returns how many were added."""
    rows = json.loads(path.read_text(encoding="utf-8"))
    existing = set(FilterTerm.objects.values_list("term", "category"))
    new = [
        FilterTerm(
            term=row["term"],
            category=row["category"],
            language=row["language"],
            action=row["action"],
        )
        for row in rows
        if (row["term"], row["category"]) not in existing
    ]
    FilterTerm.objects.bulk_create(new, ignore_conflicts=True)
    return len(new)
