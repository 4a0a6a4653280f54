"""The jobs API's views: the signed-in member's jobs, submit, cancel, rerun and results."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import (
    OpenApiParameter,
    extend_schema,
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
from generation import services
from generation.api.schema import (
    CREATE_EXAMPLE,
    ERRORS,
    IMG2IMG_EXAMPLE,
    JOB_EXAMPLE,
    JOB_ID,
    VALIDATION_EXAMPLE,
)
from generation.api.serializers import (
    MAX_ID,
    JobCreateSerializer,
    JobDetailSerializer,
    JobSerializer,
    ResultSerializer,
)
from generation.filters import JobFilter
from generation.models import GenerationJob
from generation.selectors import job_for_owner, jobs_of_user
from visionary.api.pagination import Pagination
from visionary.api.throttles import JobCreateThrottle


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
    filter_backends = [DjangoFilterBackend]
    filterset_class = JobFilter

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
    def cancel(self, request: Request, pk: str, format: str | None = None) -> Response:
        job = services.job_cancel(job=self.get_object(), user=self._member())
        return self._detail(job, status.HTTP_202_ACCEPTED)

    @extend_schema(
        summary="Queue the same request again",
        request=None,
        parameters=[JOB_ID],
        responses={201: JobDetailSerializer, **ERRORS},
    )
    @action(detail=True, methods=["post"])
    def rerun(self, request: Request, pk: str, format: str | None = None) -> Response:
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
        filters=False,  # a job's pictures, not the jobs list: ?state= does not apply
    )
    @action(detail=True, methods=["get"])
    def results(self, request: Request, pk: str, format: str | None = None) -> Response:
        job = self.get_object()
        context = {
            **self.get_serializer_context(),
            "include_data": request.query_params.get("include") == "data",
        }
        images = job.images.order_by("pk")
        return Response(ResultSerializer(images, many=True, context=context).data)

    def perform_destroy(self, instance: GenerationJob) -> None:
        services.job_delete(job=instance, user=self._member())
