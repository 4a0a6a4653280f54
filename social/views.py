"""The feed, following, and members' profile pages (which show their pictures and whether the
viewer follows them)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.models import User
from accounts.selectors import users_active
from gallery.selectors import images_of_owner_for_viewer
from social import services
from social.selectors import feed_for_user, is_following


@login_required
def feed(request: HttpRequest) -> HttpResponse:
    assert isinstance(request.user, User)
    page = Paginator(feed_for_user(user=request.user), 24).get_page(request.GET.get("page"))
    return render(request, "social/feed.html", {"page": page})


@login_required
@require_POST
def follow_toggle(request: HttpRequest, username: str) -> HttpResponse:
    assert isinstance(request.user, User)
    member = get_object_or_404(users_active(), username=username)
    if is_following(follower=request.user, followee=member):
        services.follow_delete(follower=request.user, followee=member)
        messages.success(request, _("You no longer follow %(name)s.") % {"name": member.name})
    else:
        try:
            services.follow_create(follower=request.user, followee=member)
        except services.CannotFollowSelf as exc:
            messages.error(request, str(exc.message))
        else:
            messages.success(request, _("You now follow %(name)s.") % {"name": member.name})
    return redirect("profile", username=member.username)


def profile_detail(request: HttpRequest, username: str) -> HttpResponse:
    member = get_object_or_404(users_active(), username=username)
    images = images_of_owner_for_viewer(owner=member, viewer=request.user)[:48]
    context = {
        "member": member,
        "images": images,
        "is_following": is_following(follower=request.user, followee=member),
    }
    return render(request, "social/profile.html", context)
