"""form_errors_add: a service's ValidationError shown on the form that asked."""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError

from generation.errors import GenerationRejected
from visionary.forms import form_errors_add


class _NameForm(forms.Form):
    name = forms.CharField()


def _valid_form() -> _NameForm:
    form = _NameForm({"name": "cat"})
    assert form.is_valid()
    return form


def test_field_errors_go_on_their_field_and_the_rest_on_the_form():
    form = _valid_form()

    form_errors_add(
        form,
        GenerationRejected(
            {"name": ["Taken."], "__all__": ["Too many."], "hidden": ["Not on this form."]}
        ),
    )

    assert form.errors["name"] == ["Taken."]
    assert form.non_field_errors() == ["Too many.", "Not on this form."]
    assert "name" not in form.cleaned_data


def test_an_error_without_fields_is_a_non_field_error():
    form = _valid_form()

    form_errors_add(form, ValidationError(["One.", "Two."]))

    assert form.non_field_errors() == ["One.", "Two."]
    assert not form.has_error("name")
