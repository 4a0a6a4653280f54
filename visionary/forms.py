"""The one form path of domain errors: a service's ValidationError shown on the form that asked."""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError


def form_errors_add(form: forms.BaseForm, error: ValidationError) -> None:
    """Each field's messages on that field where the form has it; the rest (``"__all__"``, fields
    the form does not show, messages without a field) as the form's non-field errors."""
    if hasattr(error, "error_dict"):
        for field, errors in error.error_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, error)
