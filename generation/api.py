"""REST API for generation jobs (/api/v1/jobs/): submit, follow, cancel, list, results."""

from __future__ import annotations

import base64
import binascii
from typing import Any

from django.conf import settings
from django.db.models import QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
    extend_schema_view,
)
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import BaseThrottle

from accounts.models import User
from gallery.models import Image
from generation import services
from generation.forms import DEFAULT_DENOISING_STRENGTH
from generation.models import GenerationJob, Sampler
from generation.selectors import job_for_owner, job_status, jobs_of_user
from modelhub.models import ModelVersion
from modelhub.selectors import version_default, versions_generatable
from visionary.api.errors import ErrorSerializer
from visionary.api.pagination import Pagination
from visionary.api.throttles import JobCreateThrottle

MAX_SEED = 2**32 - 1
# Database ids are 64-bit: a larger number is "not found", never an overflow.
MAX_ID = 2**63 - 1


class JobCreateSerializer(serializers.Serializer[Any]):
    """What a client sends to generate; the service checks what depends on the model."""

    model_version = serializers.IntegerField(
        min_value=1,
        max_value=MAX_ID,
        required=False,
        help_text="A generatable version's id (GET /api/v1/versions/); the site default if left out.",
    )
    prompt = serializers.CharField(max_length=2000, help_text="May name LoRAs: <lora:name:0.8>.")
    negative_prompt = serializers.CharField(
        max_length=2000, required=False, allow_blank=True, default=""
    )
    seed = serializers.IntegerField(min_value=-1, max_value=MAX_SEED, default=-1)
    steps = serializers.IntegerField(min_value=1, max_value=100, default=20)
    cfg_scale = serializers.FloatField(
        min_value=1, max_value=30, required=False, help_text="The model's recommended scale."
    )
    width = serializers.IntegerField(
        min_value=64, max_value=4096, required=False, help_text="Multiple of 8; model default."
    )
    height = serializers.IntegerField(
        min_value=64, max_value=4096, required=False, help_text="Multiple of 8; model default."
    )
    sampler = serializers.ChoiceField(choices=Sampler.choices, default=Sampler.EULER_A)
    batch_size = serializers.IntegerField(min_value=1, max_value=4, default=1)
    clip_skip = serializers.IntegerField(min_value=1, max_value=12, default=1)
    init_image = serializers.CharField(
        required=False,
        allow_blank=True,
        help_text="img2img: the starting picture as base64 (a data: URL works too).",
    )
    denoising_strength = serializers.FloatField(
        min_value=0.05, max_value=1.0, default=DEFAULT_DENOISING_STRENGTH
    )
    share_live = serializers.BooleanField(default=False)

    def validate_model_version(self, value: int) -> ModelVersion:
        version = versions_generatable().filter(pk=value).first()
        if version is None:
            raise serializers.ValidationError("No generatable model version with this id.")
        return version

    def validate_init_image(self, value: str) -> bytes | None:
        if not value:
            return None
        encoded = value.split(",", 1)[1] if value.startswith("data:") else value
        # base64 is 4/3 of the bytes; refuse before decoding anything far too big.
        if len(encoded) > settings.GENERATION_INIT_IMAGE_MAX_BYTES * 4 // 3 + 8:
            raise serializers.ValidationError("The picture is too big.")
        try:
            return base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise serializers.ValidationError("Not valid base64.") from exc

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs.get("model_version") is None:
            default = version_default()
            if default is None:
                raise serializers.ValidationError(
                    {"model_version": "No model can generate on this site yet."}
                )
            attrs["model_version"] = default
        attrs["init_image"] = attrs.get("init_image") or None
        return attrs


class ProgressSerializer(serializers.Serializer[Any]):
    step = serializers.IntegerField()
    total = serializers.IntegerField()
    eta_s = serializers.FloatField(allow_null=True, help_text="Seconds left, when running.")


class JobSerializer(serializers.ModelSerializer[GenerationJob]):
    model_name = serializers.SerializerMethodField()
    img2img = serializers.BooleanField(source="is_img2img", read_only=True)
    url = serializers.SerializerMethodField(help_text="The job's page on the site.")

    class Meta:
        model = GenerationJob
        fields = [
            "id",
            "state",
            "model_version",
            "model_name",
            "prompt",
            "negative_prompt",
            "seed",
            "seed_used",
            "steps",
            "cfg_scale",
            "width",
            "height",
            "sampler",
            "batch_size",
            "clip_skip",
            "loras",
            "img2img",
            "denoising_strength",
            "share_live",
            "error",
            "blocked_category",
            "created_at",
            "started_at",
            "finished_at",
            "url",
        ]
        read_only_fields = fields

    def get_model_name(self, job: GenerationJob) -> str:
        return str(job.model_version)

    def get_url(self, job: GenerationJob) -> str:
        request = self.context.get("request")
        path = job.get_absolute_url()
        return request.build_absolute_uri(path) if request else path


class WithheldSerializer(serializers.Serializer[Any]):
    level = serializers.CharField(help_text="PG-13, R or X: above the site's limit.")
    reason = serializers.CharField()


class JobDetailSerializer(JobSerializer):
    """One job with where it stands now (the same document the job page polls)."""

    progress = serializers.SerializerMethodField()
    queue_position = serializers.SerializerMethodField()
    images = serializers.SerializerMethodField()
    withheld = serializers.SerializerMethodField(
        help_text="One notice per picture the image classifier withheld: level and reason."
    )

    class Meta(JobSerializer.Meta):
        fields = [*JobSerializer.Meta.fields, "progress", "queue_position", "images", "withheld"]
        read_only_fields = fields

    def _status(self, job: GenerationJob) -> dict[str, Any]:
        # Computed once per job and serializer (three fields read it).
        cached: dict[int, dict[str, Any]] = self.__dict__.setdefault("_status_cache", {})
        if job.pk not in cached:
            cached[job.pk] = job_status(job=job)
        return cached[job.pk]

    @extend_schema_field(ProgressSerializer)
    def get_progress(self, job: GenerationJob) -> dict[str, Any]:
        progress: dict[str, Any] = self._status(job)["progress"]
        return progress

    @extend_schema_field(serializers.IntegerField(allow_null=True))
    def get_queue_position(self, job: GenerationJob) -> int | None:
        position: int | None = self._status(job)["queue_position"]
        return position

    @extend_schema_field(serializers.ListField(child=serializers.URLField()))
    def get_images(self, job: GenerationJob) -> list[str]:
        request = self.context.get("request")
        urls: list[str] = self._status(job)["images"]
        return [request.build_absolute_uri(url) if request else url for url in urls]

    @extend_schema_field(serializers.ListField(child=WithheldSerializer()))
    def get_withheld(self, job: GenerationJob) -> list[dict[str, str]]:
        notices: list[dict[str, str]] = self._status(job)["withheld"]
        return notices


class ResultSerializer(serializers.ModelSerializer[Image]):
    url = serializers.SerializerMethodField(help_text="The PNG (infotext in its text chunk).")
    page_url = serializers.SerializerMethodField()
    published = serializers.BooleanField(source="is_published", read_only=True)
    level = serializers.CharField(
        source="level_label", read_only=True, help_text="The image classifier's rating."
    )
    png_base64 = serializers.SerializerMethodField(
        help_text="The PNG as base64, only with ?include=data (token clients cannot use url)."
    )

    class Meta:
        model = Image
        fields = [
            "id",
            "url",
            "page_url",
            "width",
            "height",
            "seed",
            "infotext",
            "level",
            "published",
            "png_base64",
        ]
        read_only_fields = fields

    def _absolute(self, path: str) -> str:
        request = self.context.get("request")
        return request.build_absolute_uri(path) if request else path

    def get_url(self, image: Image) -> str:
        return self._absolute(image.get_file_url())

    def get_page_url(self, image: Image) -> str:
        return self._absolute(image.get_absolute_url())

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_png_base64(self, image: Image) -> str | None:
        if not self.context.get("include_data"):
            return None
        with image.file.open("rb") as fh:
            return base64.b64encode(fh.read()).decode("ascii")


ERRORS = {
    400: OpenApiResponse(ErrorSerializer, description="Not valid; see error.fields."),
    401: OpenApiResponse(ErrorSerializer, description="No or bad credentials."),
    404: OpenApiResponse(ErrorSerializer, description="Not one of your jobs."),
    429: OpenApiResponse(ErrorSerializer, description="Too many requests; see Retry-After."),
}
JOB_ID = OpenApiParameter("id", OpenApiTypes.INT, OpenApiParameter.PATH, description="Job id.")

CREATE_EXAMPLE = OpenApiExample(
    "txt2img",
    value={
        "prompt": "a lighthouse at dusk, oil painting",
        "negative_prompt": "blurry",
        "seed": -1,
        "steps": 20,
        "cfg_scale": 7,
        "width": 512,
        "height": 512,
        "sampler": "Euler a",
    },
    request_only=True,
)
IMG2IMG_EXAMPLE = OpenApiExample(
    "img2img",
    value={
        "prompt": "the same scene in winter",
        "init_image": "iVBORw0KGgoAAAANSUhEUgAA...",
        "denoising_strength": 0.6,
        "steps": 30,
    },
    request_only=True,
)
JOB_EXAMPLE = OpenApiExample(
    "A running job",
    value={
        "id": 42,
        "state": "running",
        "model_version": 1,
        "model_name": "Tiny v1",
        "prompt": "a lighthouse at dusk, oil painting",
        "negative_prompt": "blurry",
        "seed": -1,
        "seed_used": 1234567,
        "steps": 20,
        "cfg_scale": 7.0,
        "width": 512,
        "height": 512,
        "sampler": "Euler a",
        "batch_size": 1,
        "clip_skip": 1,
        "loras": [],
        "img2img": False,
        "denoising_strength": None,
        "share_live": False,
        "error": "",
        "created_at": "2025-05-01T12:00:00Z",
        "started_at": "2025-05-01T12:00:01Z",
        "finished_at": None,
        "url": "https://example.com/generate/jobs/42/",
        "progress": {"step": 7, "total": 20, "eta_s": 3.2},
        "queue_position": None,
        "images": [],
    },
    response_only=True,
)
VALIDATION_EXAMPLE = OpenApiExample(
    "Validation error",
    value={
        "error": {
            "status": 400,
            "code": "invalid",
            "message": "Some fields are not valid; see “fields”.",
            "fields": {"steps": ["Ensure this value is less than or equal to 100."]},
        }
    },
    response_only=True,
    status_codes=["400"],
)


@extend_schema_view(
    list=extend_schema(
        summary="My jobs, newest first",
        responses={200: JobSerializer(many=True), 401: ERRORS[401], 429: ERRORS[429]},
    ),
    retrieve=extend_schema(
        summary="One job with its state and progress",
        parameters=[JOB_ID],
        responses={200: JobDetailSerializer, 401: ERRORS[401], 404: ERRORS[404]},
        examples=[JOB_EXAMPLE],
    ),
    destroy=extend_schema(
        summary="Delete a finished job and its unpublished pictures",
        parameters=[JOB_ID],
        responses={204: None, 400: ERRORS[400], 401: ERRORS[401], 404: ERRORS[404]},
    ),
)
class JobViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet[GenerationJob],
):
    """The signed-in member's generation jobs; anyone else's is "not found"."""

    permission_classes = [IsAuthenticated]
    pagination_class = Pagination
    serializer_class = JobSerializer
    queryset = GenerationJob.objects.none()  # for the schema; get_queryset says whose

    def get_queryset(self) -> QuerySet[GenerationJob]:
        return jobs_of_user(user=self.request.user).order_by("-created_at", "-pk")

    def get_serializer_class(self) -> type[serializers.BaseSerializer[Any]]:
        if self.action in {"retrieve", "create", "cancel", "rerun"}:
            return JobDetailSerializer
        return JobSerializer

    def get_throttles(self) -> list[BaseThrottle]:
        throttles = super().get_throttles()
        if self.action in {"create", "rerun"}:
            throttles.append(JobCreateThrottle())
        return throttles

    def get_object(self) -> GenerationJob:
        pk = self.kwargs["pk"]
        job_id = int(pk) if str(pk).isdigit() else 0
        job = job_for_owner(user=self.request.user, job_id=job_id) if job_id <= MAX_ID else None
        if job is None:
            raise NotFound
        return job

    def _member(self) -> User:
        assert isinstance(self.request.user, User)
        return self.request.user

    def _detail(self, job: GenerationJob, code: int = status.HTTP_200_OK) -> Response:
        job.refresh_from_db()
        serializer = JobDetailSerializer(job, context=self.get_serializer_context())
        return Response(serializer.data, status=code)

    @extend_schema(
        summary="Submit a generation job",
        request=JobCreateSerializer,
        responses={201: JobDetailSerializer, **ERRORS},
        examples=[CREATE_EXAMPLE, IMG2IMG_EXAMPLE, JOB_EXAMPLE, VALIDATION_EXAMPLE],
    )
    def create(self, request: Request) -> Response:
        params = JobCreateSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        job = services.job_submit(user=self._member(), **params.validated_data)
        return self._detail(job, status.HTTP_201_CREATED)

    @extend_schema(
        summary="Cancel a job (queued: at once; running: after the current step)",
        request=None,
        parameters=[JOB_ID],
        responses={202: JobDetailSerializer, 401: ERRORS[401], 404: ERRORS[404]},
    )
    @action(detail=True, methods=["post"])
    def cancel(self, request: Request, pk: str) -> Response:
        job = services.job_cancel(job=self.get_object(), user=self._member())
        return self._detail(job, status.HTTP_202_ACCEPTED)

    @extend_schema(
        summary="Queue the same request again",
        request=None,
        parameters=[JOB_ID],
        responses={201: JobDetailSerializer, **ERRORS},
    )
    @action(detail=True, methods=["post"])
    def rerun(self, request: Request, pk: str) -> Response:
        job = services.job_rerun(job=self.get_object(), user=self._member())
        return self._detail(job, status.HTTP_201_CREATED)

    @extend_schema(
        summary="The job's pictures with their seeds and infotext",
        parameters=[
            JOB_ID,
            OpenApiParameter(
                "include",
                str,
                enum=["data"],
                description="data: also return each PNG as base64.",
            ),
        ],
        responses={200: ResultSerializer(many=True), 401: ERRORS[401], 404: ERRORS[404]},
    )
    @action(detail=True, methods=["get"])
    def results(self, request: Request, pk: str) -> Response:
        job = self.get_object()
        context = {
            **self.get_serializer_context(),
            "include_data": request.query_params.get("include") == "data",
        }
        images = job.images.order_by("pk")
        return Response(ResultSerializer(images, many=True, context=context).data)

    def perform_destroy(self, instance: GenerationJob) -> None:
        services.job_delete(job=instance, user=self._member())
