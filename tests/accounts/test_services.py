"""accounts.services: registration, profile, language and account deletion."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from PIL import Image as PILImage

from accounts.models import User
from accounts.services import (
    user_delete,
    user_language_set,
    user_profile_update,
    user_register,
)
from gallery.models import Image
from generation.models import GenerationJob
from social.models import Follow
from tests.accounts.factories import PASSWORD, UserFactory
from tests.gallery.factories import ImageFactory, png_bytes
from tests.generation.factories import GenerationJobFactory


def _avatar(color: tuple[int, int, int] = (10, 200, 10)) -> ContentFile[bytes]:
    return ContentFile(png_bytes(size=32, color=color), name="upload.png")


def test_register_stores_a_hashed_password(db):
    user = user_register(username="painter", email="Painter@Example.COM", password=PASSWORD)

    user.refresh_from_db()
    assert user.password != PASSWORD
    assert user.password.startswith("md5$")
    assert user.check_password(PASSWORD)


def test_register_normalises_the_email_domain(db):
    user = user_register(username="painter", email="Painter@Example.COM", password=PASSWORD)

    assert user.email == "Painter@example.com"


def test_register_rejects_an_invalid_username(db):
    with pytest.raises(ValidationError) as excinfo:
        user_register(username="not a valid name!", email="a@example.com", password=PASSWORD)

    assert "username" in excinfo.value.message_dict
    assert not User.objects.exists()


def test_register_rejects_a_taken_username(db):
    UserFactory(username="painter")

    with pytest.raises(ValidationError) as excinfo:
        user_register(username="painter", email="other@example.com", password=PASSWORD)

    assert "username" in excinfo.value.message_dict


def test_profile_update_saves_display_name_and_bio(member):
    user_profile_update(user=member, display_name="Ada", bio="Paints owls.")

    member.refresh_from_db()
    assert (member.display_name, member.bio) == ("Ada", "Paints owls.")


def test_profile_update_saves_the_avatar_as_png(member):
    user_profile_update(user=member, display_name="", bio="", avatar=_avatar())

    member.refresh_from_db()
    assert member.avatar.name.startswith("avatars/")
    assert member.avatar.name.endswith(".png")
    with default_storage.open(member.avatar.name) as fh, PILImage.open(fh) as image:
        assert image.format == "PNG"


def test_profile_update_deletes_the_old_avatar_only_after_commit(
    member, django_capture_on_commit_callbacks
):
    user_profile_update(user=member, display_name="", bio="", avatar=_avatar())
    old_name = member.avatar.name

    with django_capture_on_commit_callbacks(execute=True):
        user_profile_update(user=member, display_name="", bio="", avatar=_avatar((1, 2, 3)))
        assert default_storage.exists(old_name)

    assert not default_storage.exists(old_name)
    assert default_storage.exists(member.avatar.name)


def test_profile_update_can_remove_the_avatar(member, django_capture_on_commit_callbacks):
    user_profile_update(user=member, display_name="", bio="", avatar=_avatar())
    old_name = member.avatar.name

    with django_capture_on_commit_callbacks(execute=True):
        user_profile_update(user=member, display_name="", bio="", remove_avatar=True)

    member.refresh_from_db()
    assert not member.avatar
    assert not default_storage.exists(old_name)


def test_language_set_persists_the_choice(member):
    user_language_set(user=member, language="zh-hans")

    member.refresh_from_db()
    assert member.language == "zh-hans"


def test_delete_anonymises_the_account(member):
    old_username, old_email = member.username, member.email

    user_delete(user=member)

    member.refresh_from_db()
    assert member.username.startswith("deleted-")
    assert old_username not in member.username
    assert member.email.endswith("@deleted.invalid")
    assert member.email != old_email
    assert member.display_name == ""
    assert not member.has_usable_password()
    assert not member.is_active
    assert member.deleted_at is not None


def test_delete_removes_private_images_and_their_files(member, django_capture_on_commit_callbacks):
    private = ImageFactory(owner=member)
    file_name = private.file.name
    assert default_storage.exists(file_name)

    with django_capture_on_commit_callbacks(execute=True):
        user_delete(user=member)

    assert not Image.objects.filter(pk=private.pk).exists()
    assert not default_storage.exists(file_name)


def test_delete_keeps_published_images(member, django_capture_on_commit_callbacks):
    published = ImageFactory(owner=member, published=True)

    with django_capture_on_commit_callbacks(execute=True):
        user_delete(user=member)

    published.refresh_from_db()
    assert published.owner_id == member.pk
    assert default_storage.exists(published.file.name)


def test_delete_removes_follows_both_ways(member):
    other = UserFactory()
    Follow.objects.create(follower=member, followee=other)
    Follow.objects.create(follower=other, followee=member)

    user_delete(user=member)

    assert not Follow.objects.exists()


def test_delete_removes_generation_jobs(member):
    GenerationJobFactory(user=member)
    kept = GenerationJobFactory()

    user_delete(user=member)

    assert list(GenerationJob.objects.all()) == [kept]


def test_delete_removes_the_avatar_file(member, django_capture_on_commit_callbacks):
    user_profile_update(user=member, display_name="", bio="", avatar=_avatar())
    avatar_name = member.avatar.name

    with django_capture_on_commit_callbacks(execute=True):
        user_delete(user=member)

    member.refresh_from_db()
    assert not member.avatar
    assert not default_storage.exists(avatar_name)
