"""The prompt filter's terms: data moderators manage in the admin."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from moderation.textfilter import Action, Category


class FilterTerm(models.Model):
    class Categories(models.TextChoices):
        MINORS = Category.MINORS.value, _("Sexual content involving minors")
        SEXUAL = Category.SEXUAL.value, _("Explicit sexual content")
        VIOLENCE = Category.VIOLENCE.value, _("Graphic violence and gore")
        HATE = Category.HATE.value, _("Hate")
        REAL_PERSONS = Category.REAL_PERSONS.value, _("Sexualised real persons")
        WEAPONS_DRUGS = Category.WEAPONS_DRUGS.value, _("Instructions for weapons or drugs")
        INSTRUCTIONS = Category.INSTRUCTIONS.value, _("Instructions (with weapons or drugs only)")
        HOSTILITY = Category.HOSTILITY.value, _("Hostility (with a group's name only)")

    class Actions(models.TextChoices):
        BLOCK = Action.BLOCK.value, _("Block")
        FLAG = Action.FLAG.value, _("Flag for moderators")
        COMBINE = Action.COMBINE.value, _("Only in combination")
        ALLOW = Action.ALLOW.value, _("Allow (an exception)")

    class Languages(models.TextChoices):
        ENGLISH = "en", _("English")
        CHINESE = "zh", _("Chinese")
        OTHER = "other", _("Other")

    term = models.CharField(
        _("term"),
        max_length=200,
        help_text=_(
            "Case, accents, full-width letters, spacing and leetspeak are ignored. Latin-script "
            "terms match whole words; end one with * to match words starting with it. Chinese "
            "terms match anywhere."
        ),
    )
    category = models.CharField(_("category"), max_length=20, choices=Categories.choices)
    language = models.CharField(
        _("language"), max_length=8, choices=Languages.choices, default=Languages.ENGLISH
    )
    action = models.CharField(
        _("action"),
        max_length=10,
        choices=Actions.choices,
        default=Actions.BLOCK,
        help_text=_(
            "Only in combination: counts when the text also holds a term of the paired "
            "category (minors or a real person with a sexual term, weapons or drugs with "
            "instructions, a group with hostility). Allow: a harmless phrase that contains a "
            "listed term, such as “nude colour”."
        ),
    )
    is_active = models.BooleanField(_("active"), default=True)
    note = models.CharField(_("note"), max_length=200, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True, db_index=True)

    class Meta:
        ordering = ["category", "term"]
        constraints = [
            models.UniqueConstraint(fields=["term", "category"], name="filterterm_unique"),
        ]
        verbose_name = _("filter term")
        verbose_name_plural = _("filter terms")

    def __str__(self) -> str:
        return f"{self.term} ({self.category}, {self.action})"
