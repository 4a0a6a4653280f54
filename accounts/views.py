"""Account pages: thin views over accounts.services and selectors."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login, logout
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.cache import add_never_cache_headers
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST
from django.views.i18n import set_language

from accounts import services
from accounts.api_tokens import api_token_create, api_token_revoke
from accounts.exports import user_data_export
from accounts.forms import (
    ApiTokenForm,
    DeleteAccountForm,
    ProfileForm,
    RegisterForm,
    SettingsForm,
)
from accounts.models import ApiToken, User
from visionary.forms import form_errors_add

BACKEND = "accounts.backends.UsernameOrEmailBackend"


def _current_user(request: HttpRequest) -> User:
    assert isinstance(request.user, User)
    return request.user


@require_http_methods(["GET", "POST"])
def register(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect("home")
    form = RegisterForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = services.user_register(
            username=form.cleaned_data["username"],
            email=form.cleaned_data["email"],
            password=form.cleaned_data["password1"],
            language=getattr(request, "LANGUAGE_CODE", ""),
        )
        login(request, user, backend=BACKEND)
        messages.success(request, _("Welcome to Visionary Art, %(name)s!") % {"name": user.name})
        return redirect("home")
    return render(request, "accounts/register.html", {"form": form})


@require_POST
def logout_view(request: HttpRequest) -> HttpResponse:
    logout(request)
    return redirect(settings.LOGOUT_REDIRECT_URL)


@login_required
@require_http_methods(["GET", "POST"])
def profile_edit(request: HttpRequest) -> HttpResponse:
    user = _current_user(request)
    initial = {"display_name": user.display_name, "bio": user.bio}
    form = ProfileForm(request.POST or None, request.FILES or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        services.user_profile_update(
            user=user,
            display_name=form.cleaned_data["display_name"],
            bio=form.cleaned_data["bio"],
            avatar=form.cleaned_data["avatar"],
            remove_avatar=form.cleaned_data["remove_avatar"],
        )
        messages.success(request, _("Your profile was saved."))
        return redirect("profile", username=user.username)
    return render(request, "accounts/profile_edit.html", {"form": form})


@login_required
@require_http_methods(["GET", "POST"])
def settings_view(request: HttpRequest) -> HttpResponse:
    user = _current_user(request)
    form = SettingsForm(
        request.POST or None,
        initial={"language": user.language or getattr(request, "LANGUAGE_CODE", "en")},
    )
    if request.method == "POST" and form.is_valid():
        services.user_language_set(user=user, language=form.cleaned_data["language"])
        messages.success(request, _("Your settings were saved."))
        return redirect("accounts:settings")
    return _settings_page(request, form=form)


def _settings_page(
    request: HttpRequest,
    *,
    form: SettingsForm | None = None,
    token_form: ApiTokenForm | None = None,
    new_token: str = "",
    status: int = 200,
) -> HttpResponse:
    user = _current_user(request)
    if form is None:
        form = SettingsForm(
            initial={"language": user.language or getattr(request, "LANGUAGE_CODE", "en")}
        )
    context = {
        "form": form,
        "token_form": token_form or ApiTokenForm(prefix="token"),
        "tokens": ApiToken.objects.filter(user=user).order_by("-created_at", "-pk"),
        "new_token": new_token,
        "tokens_max": settings.API_TOKENS_PER_USER,
    }
    return render(request, "accounts/settings.html", context, status=status)


@login_required
@require_POST
def api_token_new(request: HttpRequest) -> HttpResponse:
    """Make a named token and show it on the settings page, this once (it is never stored)."""
    user = _current_user(request)
    token_form = ApiTokenForm(request.POST, prefix="token")
    if token_form.is_valid():
        try:
            _token, raw = api_token_create(user=user, name=token_form.cleaned_data["name"])
        except ValidationError as exc:
            form_errors_add(token_form, exc)
        else:
            response = _settings_page(request, new_token=raw)
            add_never_cache_headers(response)  # the raw token must not sit in any cache
            return response
    return _settings_page(request, token_form=token_form, status=400)


@login_required
@require_POST
def api_token_delete(request: HttpRequest, pk: int) -> HttpResponse:
    """Revoke one of my tokens; anyone else's is not found."""
    try:
        api_token_revoke(user=_current_user(request), token_id=pk)
    except ApiToken.DoesNotExist as exc:
        raise Http404 from exc
    messages.success(request, _("The token was revoked; it no longer works."))
    return redirect(f"{reverse('accounts:settings')}#api-tokens")


@require_POST
def language_set(request: HttpRequest) -> HttpResponseBase:
    """Django's set_language, remembering the choice on the member's account too."""
    response = set_language(request)
    language = request.POST.get("language", "")
    if request.user.is_authenticated and language in dict(settings.LANGUAGES):
        services.user_language_set(user=_current_user(request), language=language)
    return response


@login_required
@require_POST
def data_export(request: HttpRequest) -> FileResponse:
    user = _current_user(request)
    archive = user_data_export(user=user)
    return FileResponse(
        archive,
        as_attachment=True,
        filename=f"visionary-art-{user.username}.zip",
        content_type="application/zip",
    )


@login_required
@require_http_methods(["GET", "POST"])
def account_delete(request: HttpRequest) -> HttpResponse:
    user = _current_user(request)
    form = DeleteAccountForm(request.POST or None, user=user)
    if request.method == "POST" and form.is_valid():
        services.user_delete(user=user)
        logout(request)
        messages.success(request, _("Your account was deleted."))
        return redirect("home")
    return render(request, "accounts/delete.html", {"form": form})


def avatar_file(request: HttpRequest, name: str) -> FileResponse:
    """Avatars are public; served from local storage in the embedded mode."""
    from django.core.files.storage import default_storage

    path = f"avatars/{name}"
    # ".." and "." name the folders themselves (a URL may spell them %2e%2e); no avatar is hidden.
    if "/" in name or name.startswith(".") or not default_storage.exists(path):
        raise Http404
    try:
        avatar = default_storage.open(path)
    except (IsADirectoryError, NotADirectoryError, FileNotFoundError) as exc:
        raise Http404 from exc
    response = FileResponse(avatar, content_type="image/png")
    response["Cache-Control"] = "public, max-age=86400"
    return response
