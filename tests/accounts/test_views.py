"""Account pages: registration, log-in (with lockout), profile, settings, export, deletion."""

from __future__ import annotations

import io
import json
import re
import zipfile

from django.conf import settings
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from accounts.models import User
from accounts.services import user_delete
from tests.accounts.factories import PASSWORD, UserFactory
from tests.gallery.factories import ImageFactory, png_bytes
from tests.generation.factories import GenerationJobFactory

NEW_PASSWORD = "a-brand-new-passphrase-42"
LOGIN_URL = reverse("accounts:login")


def _logged_in_user_id(client) -> int | None:
    raw = client.session.get("_auth_user_id")
    return int(raw) if raw is not None else None


def _login(client, username: str, password: str = PASSWORD, ip: str = "127.0.0.1"):
    return client.post(LOGIN_URL, {"username": username, "password": password}, REMOTE_ADDR=ip)


# --- Registration ---------------------------------------------------------------------------


def test_register_creates_the_user_and_logs_in(client, db):
    response = client.post(
        reverse("accounts:register"),
        {
            "username": "painter",
            "email": "painter@example.com",
            "password1": NEW_PASSWORD,
            "password2": NEW_PASSWORD,
        },
    )

    assert response.status_code == 302
    user = User.objects.get(username="painter")
    assert user.check_password(NEW_PASSWORD)
    assert _logged_in_user_id(client) == user.pk


def test_register_with_a_taken_email_shows_a_form_error(client, member):
    response = client.post(
        reverse("accounts:register"),
        {
            "username": "someone-else",
            "email": member.email.upper(),
            "password1": NEW_PASSWORD,
            "password2": NEW_PASSWORD,
        },
    )

    assert response.status_code == 200
    assert "email" in response.context["form"].errors
    assert not User.objects.filter(username="someone-else").exists()


# --- Log-in and log-out ---------------------------------------------------------------------


def test_login_with_username(client, member):
    response = _login(client, member.username)

    assert response.status_code == 302
    assert _logged_in_user_id(client) == member.pk


def test_login_with_email(client, member):
    response = _login(client, member.email)

    assert response.status_code == 302
    assert _logged_in_user_id(client) == member.pk


def test_login_with_wrong_password_shows_the_form_again(client, member):
    response = _login(client, member.username, "not-the-password")

    assert response.status_code == 200
    assert response.context["form"].non_field_errors()
    assert _logged_in_user_id(client) is None


def test_repeated_failures_lock_out_the_username_from_that_address(client, member):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        _login(client, member.username, "not-the-password", ip="10.0.0.1")

    response = _login(client, member.username, PASSWORD, ip="10.0.0.1")

    assert response.status_code == 429
    assert "Too many failed log-ins" in response.content.decode()
    assert _logged_in_user_id(client) is None


def test_lockout_does_not_reach_the_same_username_from_another_address(client, member):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        _login(client, member.username, "not-the-password", ip="10.0.0.1")

    response = _login(client, member.username, PASSWORD, ip="10.0.0.2")

    assert response.status_code == 302
    assert _logged_in_user_id(client) == member.pk


def test_lockout_counts_username_and_any_spelling_of_the_email_together(client, member):
    spellings = [member.username, member.email, member.email.upper(), member.email.title()]
    for attempt in range(settings.AXES_FAILURE_LIMIT):
        _login(client, spellings[attempt % len(spellings)], "not-the-password", ip="10.0.0.1")

    response = _login(client, member.email.swapcase(), PASSWORD, ip="10.0.0.1")

    assert response.status_code == 429
    assert _logged_in_user_id(client) is None


def test_other_members_remain_unaffected_by_a_lockout(client, member):
    other = UserFactory()
    for _ in range(settings.AXES_FAILURE_LIMIT):
        _login(client, member.username, "not-the-password")

    assert _login(client, other.username).status_code == 302


def test_logout_refuses_get(member_client):
    response = member_client.get(reverse("accounts:logout"))

    assert response.status_code == 405
    assert _logged_in_user_id(member_client) is not None


def test_logout_by_post(member_client):
    response = member_client.post(reverse("accounts:logout"))

    assert response.status_code == 302
    assert _logged_in_user_id(member_client) is None


# --- Public profile -------------------------------------------------------------------------


def test_profile_shows_display_name_and_only_published_images_to_others(client, member):
    ImageFactory(owner=member, published=True, prompt="a public lighthouse")
    ImageFactory(owner=member, prompt="a secret garden")

    response = client.get(reverse("profile", args=[member.username]))

    assert response.status_code == 200
    assert member.display_name in response.content.decode()
    assert "a public lighthouse" in response.content.decode()
    assert "a secret garden" not in response.content.decode()


def test_profile_shows_private_images_to_the_owner(member_client, member):
    ImageFactory(owner=member, prompt="a secret garden")

    response = member_client.get(reverse("profile", args=[member.username]))

    assert "a secret garden" in response.content.decode()


def test_profile_of_a_deleted_member_is_not_found(client, member):
    old_username = member.username
    user_delete(user=member)

    assert client.get(reverse("profile", args=[old_username])).status_code == 404
    assert client.get(reverse("profile", args=[member.username])).status_code == 404


# --- Profile edit ---------------------------------------------------------------------------


def test_profile_edit_saves_the_avatar(member_client, member):
    avatar = SimpleUploadedFile("me.png", png_bytes(size=80), content_type="image/png")

    response = member_client.post(
        reverse("accounts:profile_edit"),
        {"display_name": "Ada", "bio": "Owls.", "avatar": avatar},
    )

    assert response.status_code == 302
    member.refresh_from_db()
    assert member.display_name == "Ada"
    assert member.avatar.name.endswith(".png")
    assert default_storage.exists(member.avatar.name)


def test_profile_edit_with_an_invalid_file_shows_an_error_and_saves_nothing(member_client, member):
    old_name = member.display_name
    fake = SimpleUploadedFile("me.png", b"not an image at all", content_type="image/png")

    response = member_client.post(
        reverse("accounts:profile_edit"),
        {"display_name": "Changed", "bio": "", "avatar": fake},
    )

    assert response.status_code == 200
    assert "avatar" in response.context["form"].errors
    member.refresh_from_db()
    assert member.display_name == old_name
    assert not member.avatar


# --- Language -------------------------------------------------------------------------------


def test_settings_language_change_is_saved_and_sets_the_cookie(member_client, member):
    response = member_client.post(reverse("accounts:settings"), {"language": "zh-hans"})

    assert response.status_code == 302
    member.refresh_from_db()
    assert member.language == "zh-hans"
    assert response.cookies[settings.LANGUAGE_COOKIE_NAME].value == "zh-hans"


def test_after_choosing_chinese_the_next_page_is_chinese(member_client):
    member_client.post(reverse("accounts:settings"), {"language": "zh-hans"})

    assert '<html lang="zh-hans"' in member_client.get(reverse("home")).content.decode()


def test_footer_language_switch_sets_the_cookie_for_visitors(client, db):
    response = client.post(reverse("set_language"), {"language": "zh-hans", "next": "/"})

    assert response.status_code == 302
    assert response.cookies[settings.LANGUAGE_COOKIE_NAME].value == "zh-hans"
    assert '<html lang="zh-hans"' in client.get("/").content.decode()


def test_footer_language_switch_saves_the_members_language(member_client, member):
    member.language = "en"
    member.save()

    response = member_client.post(reverse("set_language"), {"language": "zh-hans", "next": "/"})

    member.refresh_from_db()
    assert member.language == "zh-hans"
    assert response.cookies[settings.LANGUAGE_COOKIE_NAME].value == "zh-hans"


# --- Data export and account deletion -------------------------------------------------------


def test_data_export_zip_holds_metadata_and_image_files(member_client, member):
    image = ImageFactory(owner=member)
    GenerationJobFactory(user=member)

    response = member_client.post(reverse("accounts:export"))

    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    names = set(archive.namelist())
    assert {"profile.json", "images.json", "models.json", "generation_jobs.json"} <= names
    assert json.loads(archive.read("profile.json"))["username"] == member.username
    assert len(json.loads(archive.read("generation_jobs.json"))) == 1
    with default_storage.open(image.file.name) as fh:
        assert archive.read(f"images/{image.pk}.png") == fh.read()


def test_data_export_refuses_get(member_client):
    assert member_client.get(reverse("accounts:export")).status_code == 405


def test_delete_account_with_wrong_password_keeps_everything(member_client, member):
    response = member_client.post(reverse("accounts:delete"), {"password": "wrong"})

    assert response.status_code == 200
    assert "password" in response.context["form"].errors
    member.refresh_from_db()
    assert member.is_active
    assert member.deleted_at is None


def test_delete_account_with_right_password_anonymises_and_logs_out(member_client, member):
    response = member_client.post(reverse("accounts:delete"), {"password": PASSWORD})

    assert response.status_code == 302
    member.refresh_from_db()
    assert member.username.startswith("deleted-")
    assert member.deleted_at is not None
    assert _logged_in_user_id(member_client) is None


# --- Passwords ------------------------------------------------------------------------------


def test_password_reset_mail_link_sets_a_new_password(client, member, mailoutbox):
    client.post(reverse("accounts:password_reset"), {"email": member.email})

    assert len(mailoutbox) == 1
    assert mailoutbox[0].to == [member.email]
    link = re.search(r"https?://[^/\s]+(/\S+)", mailoutbox[0].body).group(1)
    form_page = client.get(link, follow=True)
    assert form_page.status_code == 200
    assert form_page.context["validlink"]

    done = client.post(
        form_page.redirect_chain[-1][0],
        {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )

    assert done.status_code == 302
    assert _login(client, member.username, NEW_PASSWORD).status_code == 302
    assert _logged_in_user_id(client) == member.pk


def test_password_reset_for_an_unknown_address_sends_nothing(client, db, mailoutbox):
    response = client.post(reverse("accounts:password_reset"), {"email": "nobody@example.com"})

    assert response.status_code == 302
    assert mailoutbox == []


def test_password_change(member_client, member):
    response = member_client.post(
        reverse("accounts:password_change"),
        {"old_password": PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )

    assert response.status_code == 302
    member.refresh_from_db()
    assert member.check_password(NEW_PASSWORD)
    assert _logged_in_user_id(member_client) == member.pk


def test_password_change_requires_the_old_password(member_client, member):
    response = member_client.post(
        reverse("accounts:password_change"),
        {"old_password": "wrong", "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )

    assert response.status_code == 200
    member.refresh_from_db()
    assert member.check_password(PASSWORD)
