"""Generation pages and the JSON status URL."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase, JsonResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from accounts.models import User
from generation import services
from generation.filters import JobFilter
from generation.forms import GenerateForm
from generation.models import GenerationJob
from generation.selectors import job_for_owner, job_status, jobs_live_state, jobs_of_user
from modelhub.models import ModelVersion
from modelhub.selectors import loras_for_base
from visionary.file_responses import stored_file_response
from visionary.forms import form_errors_add

SESSION_LAST_SETTINGS = "generation_last_settings"


def _own_job(request: HttpRequest, pk: int) -> GenerationJob:
    job = job_for_owner(user=request.user, job_id=pk)
    if job is None:
        raise Http404
    return job


@login_required
@require_http_methods(["GET", "POST"])
def generate(request: HttpRequest) -> HttpResponse:
    assert isinstance(request.user, User)
    form = GenerateForm(
        request.POST or None,
        request.FILES or None,
        initial=request.session.get(SESSION_LAST_SETTINGS),
    )
    if request.method == "POST" and form.is_valid():
        try:
            job = services.job_submit(user=request.user, **form.cleaned_data)
        except ValidationError as exc:
            form_errors_add(form, exc)
        else:
            request.session[SESSION_LAST_SETTINGS] = form.remembered()
            return redirect(job.get_absolute_url())
    status = 400 if request.method == "POST" else 200
    recent = list(jobs_of_user(user=request.user)[:8])
    last_seed = next((job.seed_used for job in recent if job.seed_used is not None), None)
    versions = list(form.fields["model_version"].queryset)  # type: ignore[attr-defined]
    model_sizes = {
        str(version.pk): [version.default_width, version.default_height] for version in versions
    }
    model_cfg = {str(version.pk): version.default_cfg_scale for version in versions}
    context = {
        "form": form,
        "recent": recent,
        "last_seed": last_seed,
        "model_sizes": model_sizes,
        "model_cfg": model_cfg,
        **_lora_picker_context(form, versions),
    }
    return render(request, "generation/generate.html", context, status=status)


def _lora_picker_context(form: GenerateForm, versions: list[ModelVersion]) -> dict[str, Any]:
    """The LoRAs for the picker, each marked usable or not with the model selected now; the
    page's script filters them again when the member picks another model."""
    model_bases = {str(version.pk): version.base_model for version in versions}
    selected_base = model_bases.get(str(form["model_version"].value()), "")
    loras = [
        {
            "name": lora.model.name,
            "base": lora.base_model,
            "base_label": lora.get_base_model_display(),
            "usable": lora.base_model == selected_base,
        }
        for lora in loras_for_base()
    ]
    return {
        "loras": loras,
        "loras_usable": any(lora["usable"] for lora in loras),
        "model_bases": model_bases,
        "lora_picker": [{"name": lora["name"], "base": lora["base"]} for lora in loras],
    }


@login_required
def job_detail(request: HttpRequest, pk: int) -> HttpResponse:
    job = _own_job(request, pk)
    return render(request, "generation/job.html", {"job": job, "status": job_status(job=job)})


@login_required
def job_init_image(request: HttpRequest, pk: int) -> HttpResponseBase:
    """An img2img job's starting picture: its owner's upload, never public."""
    job = _own_job(request, pk)
    if not job.init_image:
        raise Http404
    return stored_file_response(job.init_image.name or "", content_type="image/png", public=False)


@login_required
@require_POST
def job_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    """Cancel one of my jobs; anyone else's is not found (and never touched)."""
    assert isinstance(request.user, User)
    job = _own_job(request, pk)
    services.job_cancel(job=job, user=request.user)
    if request.headers.get("Accept", "").startswith("application/json"):
        return JsonResponse({"id": job.pk, "cancel_requested": True})
    messages.info(request, _("Cancelling…"))
    return redirect(job.get_absolute_url())


@never_cache
def job_status_json(request: HttpRequest, pk: int) -> JsonResponse:
    if not request.user.is_authenticated:
        return JsonResponse({"detail": "Authentication required."}, status=401)
    job = job_for_owner(user=request.user, job_id=pk)
    if job is None:
        return JsonResponse({"detail": "No such job."}, status=404)
    return JsonResponse(job_status(job=job))


@login_required
def history(request: HttpRequest) -> HttpResponse:
    assert isinstance(request.user, User)
    jobs = jobs_of_user(user=request.user).prefetch_related("images")
    page = Paginator(JobFilter(request.GET, queryset=jobs).qs, 20).get_page(request.GET.get("page"))
    return render(request, "generation/history.html", {"page": page})


@login_required
@require_POST
def job_rerun(request: HttpRequest, pk: int) -> HttpResponse:
    assert isinstance(request.user, User)
    job = _own_job(request, pk)
    try:
        new_job = services.job_rerun(job=job, user=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("generation:history")
    return redirect(new_job.get_absolute_url())


@login_required
@require_POST
def job_delete(request: HttpRequest, pk: int) -> HttpResponse:
    assert isinstance(request.user, User)
    job = _own_job(request, pk)
    try:
        services.job_delete(job=job, user=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("The job was deleted."))
    return redirect("generation:history")


def live(request: HttpRequest) -> HttpResponse:
    """Generations in progress that their owners share; updated over /ws/live/."""
    return render(request, "generation/live.html", {"jobs": jobs_live_state()})
