"""accounts.backends.UsernameOrEmailBackend: sign in with the username or the e-mail."""

from __future__ import annotations

from django.test import RequestFactory

from accounts.backends import UsernameOrEmailBackend, lockout_username
from tests.accounts.factories import PASSWORD, UserFactory


def _authenticate(username: str, password: str):
    request = RequestFactory().post("/accounts/login/")
    return UsernameOrEmailBackend().authenticate(request, username=username, password=password)


def test_logs_in_by_username(member):
    assert _authenticate(member.username, PASSWORD) == member


def test_logs_in_by_email_ignoring_case(member):
    assert _authenticate(member.email.upper(), PASSWORD) == member


def test_wrong_password_is_refused(member):
    assert _authenticate(member.username, "not-the-password") is None


def test_unknown_account_is_refused(db):
    assert _authenticate("nobody@example.com", PASSWORD) is None


def test_inactive_user_is_refused(db):
    user = UserFactory(is_active=False)

    assert _authenticate(user.username, PASSWORD) is None


def test_lockout_key_is_the_username_for_any_spelling_of_the_email(member):
    request = RequestFactory().post("/accounts/login/")

    keys = {
        lockout_username(request, {"username": spelling})
        for spelling in (member.username, member.email, member.email.upper(), f" {member.email} ")
    }

    assert keys == {member.username}


def test_lockout_key_for_an_unknown_name_ignores_case(db):
    request = RequestFactory().post("/accounts/login/")

    assert lockout_username(request, {"username": "Nobody@Example.com"}) == "nobody@example.com"


def test_lockout_key_falls_back_to_the_posted_form(member):
    request = RequestFactory().post("/accounts/login/", {"username": member.email.upper()})

    assert lockout_username(request) == member.username
