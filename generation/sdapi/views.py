"""/sdapi/v1/ endpoints: thin DRF views over generation.sdapi services and selectors.

HTTP Basic only (site credentials or an API token as the password), no session, no CSRF, as
A1111's --api-auth. Errors take A1111's (FastAPI's) shapes: 422 {"detail": [{loc, msg, type}]}
for bad values, {"error", "detail", "body", "errors"} for work that could not be done (413 for a
body over the upload limit, 503 with Retry-After while Redis, the database or the broker is down)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from adrf.views import APIView as AsyncAPIView
from asgiref.sync import sync_to_async
from django.core.exceptions import SuspiciousOperation
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import HttpResponse, JsonResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions, serializers, status
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView, exception_handler

from accounts.authentication import BasicCredentialsAuthentication
from accounts.models import User
from generation.sdapi import selectors, services
from generation.sdapi.mapping import BadImage, image_b64_decode, infotext_parse, png_info_read
from generation.sdapi.serializers import (
    SCHEDULER_LIST_SCHEMA,
    GenerationResponseSerializer,
    Img2ImgRequestSerializer,
    LoraItemSerializer,
    PngInfoRequestSerializer,
    PngInfoResponseSerializer,
    ProgressResponseSerializer,
    SamplerItemSerializer,
    SdModelSerializer,
    Txt2ImgRequestSerializer,
)
from visionary.api.errors import bad_request_summary
from visionary.errors import ApplicationError, Invalid, ServiceUnavailable
from visionary.outages import DEPENDENCY_ERRORS, outage_log, outage_marked

logger = logging.getLogger(__name__)
TAG = "sdapi (AUTOMATIC1111-compatible)"
# Our job fields named as the request names them, for 422 locations.
FIELD_LOCATIONS: dict[str, list[str | int]] = {
    "init_image": ["body", "init_images", 0],
    "sampler": ["body", "sampler_name"],
    "clip_skip": ["body", "override_settings", "CLIP_stop_at_last_layers"],
}
REQUEST_FIELDS = {
    "negative_prompt",
    "seed",
    "steps",
    "cfg_scale",
    "width",
    "height",
    "batch_size",
    "denoising_strength",
}


def _detail_items(errors: Any, loc: list[str | int]) -> list[dict[str, Any]]:
    """DRF's nested error structure flattened into FastAPI's detail list."""
    if isinstance(errors, dict):
        items = []
        for key, value in errors.items():
            here = loc if key in {"non_field_errors", "__all__"} else [*loc, key]
            items.extend(_detail_items(value, here))
        return items
    if isinstance(errors, list):
        if all(isinstance(e, str) for e in errors):
            return [{"loc": loc, "msg": str(e), "type": "value_error"} for e in errors]
        return [item for e in errors for item in _detail_items(e, loc)]
    return [{"loc": loc, "msg": str(errors), "type": "value_error"}]


def _validation_response(items: list[dict[str, Any]]) -> Response:
    return Response({"detail": items}, status=status.HTTP_422_UNPROCESSABLE_ENTITY)


def _runtime_response(kind: str, message: str, http_status: int) -> Response:
    return Response(
        {"error": kind, "detail": "", "body": "", "errors": message}, status=http_status
    )


def sdapi_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, exceptions.ValidationError):
        return _validation_response(_detail_items(exc.detail, ["body"]))
    if isinstance(exc, exceptions.ParseError):
        return _validation_response(
            [{"loc": ["body"], "msg": str(exc.detail), "type": "value_error.jsondecode"}]
        )
    if isinstance(exc, ApplicationError | DjangoValidationError):
        return _domain_error_response(exc)
    if isinstance(exc, DEPENDENCY_ERRORS):
        request = context.get("request")
        outage_log(f"{getattr(request, 'method', '')} {getattr(request, 'path', '')}", exc)
        unavailable = ServiceUnavailable()
        answer = _runtime_response(type(unavailable).__name__, str(unavailable.message), 503)
        outage_marked(answer)
        return answer
    if isinstance(exc, SuspiciousOperation):
        http_status, _code, message = bad_request_summary(exc)
        return _runtime_response(type(exc).__name__, message, http_status)
    response = exception_handler(exc, context)
    if response is not None:
        return response
    logger.exception("sdapi request failed")
    return _runtime_response("RuntimeError", "Internal error.", 500)


def _domain_error_response(exc: ApplicationError | DjangoValidationError) -> Response:
    """Our domain errors in A1111's shapes: a bad value of the request is FastAPI's 422
    validation list; anything else (a refused prompt, the queue limit, a failed job) is A1111's
    runtime error, named for its class, with all its messages and its status (422 for a refused
    request, as FastAPI answers it)."""
    items = _request_field_items(exc)
    if items:
        return _validation_response(items)
    if isinstance(exc, DjangoValidationError):
        return _runtime_response(type(exc).__name__, " ".join(exc.messages), 422)
    kind = exc.kind if isinstance(exc, services.SdApiRuntimeError) else type(exc).__name__
    return _runtime_response(kind, str(exc.message), exc.http_status)


def _request_field_items(exc: ApplicationError | DjangoValidationError) -> list[dict[str, Any]]:
    """FastAPI's detail items for the request's own fields that a validation error names; a
    refusal with another code (prompt_blocked) is never one, whichever field it concerns."""
    if isinstance(exc, services.SdApiFieldError):
        return [{"loc": exc.loc, "msg": str(exc.message), "type": "value_error"}]
    if not isinstance(exc, DjangoValidationError) or not hasattr(exc, "error_dict"):
        return []
    if isinstance(exc, Invalid) and exc.code != Invalid.code:
        return []
    items: list[dict[str, Any]] = []
    for name, messages in exc.message_dict.items():
        if name in REQUEST_FIELDS or name in FIELD_LOCATIONS:
            loc = FIELD_LOCATIONS.get(name, ["body", name])
            items.extend({"loc": loc, "msg": m, "type": "value_error"} for m in messages)
    return items


class SdApiView(APIView):
    authentication_classes = [BasicCredentialsAuthentication]
    permission_classes = [IsAuthenticated]

    def get_exception_handler(self) -> Callable[[Exception, dict[str, Any]], Response | None]:
        return sdapi_exception_handler

    def member(self, request: Request) -> User:
        user = request.user
        assert isinstance(user, User)  # IsAuthenticated + our authentication
        return user


def _body(request: Request) -> dict[str, Any]:
    data = request.data
    if not isinstance(data, dict):
        raise exceptions.ValidationError({"non_field_errors": ["Expected a JSON object."]})
    return dict(data)


TXT2IMG_EXAMPLE = {
    "prompt": "a red circle on a blue background",
    "negative_prompt": "blurry",
    "seed": 42,
    "sampler_name": "Euler a",
    "steps": 20,
    "cfg_scale": 7,
    "width": 512,
    "height": 512,
    "batch_size": 1,
    "n_iter": 1,
    "override_settings": {"sd_model_checkpoint": "Visionary Shapes v1 [0123456789]"},
}
RESULT_EXAMPLE = {
    "images": ["iVBORw0KGgo..."],
    "parameters": {"prompt": "a red circle on a blue background", "seed": 42, "steps": 20},
    "info": '{"prompt": "a red circle on a blue background", "seed": 42, "all_seeds": [42], ...}',
}


class GenerationView(SdApiView, AsyncAPIView):
    """txt2img and img2img: submit (a short step in a thread), then wait for the pictures
    asynchronously, holding no thread and no database connection (many A1111 clients may wait
    at once), then read them (another short step)."""

    serializer_class: type[Txt2ImgRequestSerializer] = Txt2ImgRequestSerializer

    async def post(self, request: Request) -> Response:
        user, serializer, raw, submission = await sync_to_async(self._submit)(request)
        try:
            await services.jobs_wait(
                job_ids=submission.job_ids, timeout=services.WAIT_TIMEOUT_SECONDS
            )
        except BaseException:  # timed out, or the client went away: the call ends here
            await sync_to_async(services.generation_abandon)(user=user, submission=submission)
            raise
        result = await sync_to_async(services.generation_result)(user=user, submission=submission)
        return Response(
            {
                "images": result.images,
                "parameters": serializer.parameters_echo(raw),
                "info": services.info_json(result),
            }
        )

    def _submit(
        self, request: Request
    ) -> tuple[User, Txt2ImgRequestSerializer, dict[str, Any], services.Submission]:
        raw = _body(request)
        serializer = self.serializer_class(data=raw)
        serializer.is_valid(raise_exception=True)
        user = self.member(request)
        submission = services.generation_submit(user=user, params=serializer.params(raw))
        services.connection_release()
        return user, serializer, raw, submission


class Txt2ImgView(GenerationView):
    serializer_class = Txt2ImgRequestSerializer

    @extend_schema(
        tags=[TAG],
        summary="Text to image (waits for the pictures)",
        request=Txt2ImgRequestSerializer,
        responses={200: GenerationResponseSerializer, 422: OpenApiTypes.OBJECT},
        examples=[
            OpenApiExample("txt2img", value=TXT2IMG_EXAMPLE, request_only=True),
            OpenApiExample("result", value=RESULT_EXAMPLE, response_only=True),
        ],
    )
    async def post(self, request: Request) -> Response:
        return await super().post(request)


class Img2ImgView(GenerationView):
    serializer_class = Img2ImgRequestSerializer

    @extend_schema(
        tags=[TAG],
        summary="Image to image (waits for the pictures)",
        request=Img2ImgRequestSerializer,
        responses={200: GenerationResponseSerializer, 422: OpenApiTypes.OBJECT},
        examples=[
            OpenApiExample(
                "img2img",
                value={
                    **TXT2IMG_EXAMPLE,
                    "init_images": ["data:image/png;base64,iVBORw0KGgo..."],
                    "denoising_strength": 0.6,
                },
                request_only=True,
            ),
            OpenApiExample("result", value=RESULT_EXAMPLE, response_only=True),
        ],
    )
    async def post(self, request: Request) -> Response:
        return await super().post(request)


class ProgressView(SdApiView):
    @extend_schema(
        tags=[TAG],
        summary="Progress of the caller's current job",
        parameters=[OpenApiParameter("skip_current_image", bool, required=False)],
        responses={200: ProgressResponseSerializer},
    )
    def get(self, request: Request) -> Response:
        skip = request.query_params.get("skip_current_image", "").lower() in {"1", "true", "yes"}
        return Response(selectors.progress_view(user=self.member(request), skip_current_image=skip))


class InterruptView(SdApiView):
    current_only = False

    @extend_schema(
        tags=[TAG],
        summary="Cancel the caller's API jobs (interrupt) or the running one (skip)",
        request=None,
        responses={200: OpenApiTypes.OBJECT},
    )
    def post(self, request: Request) -> Response:
        services.api_jobs_cancel(user=self.member(request), current_only=self.current_only)
        return Response({})


class SkipView(InterruptView):
    current_only = True


class SdModelsView(SdApiView):
    @extend_schema(tags=[TAG], summary="Checkpoints", responses={200: SdModelSerializer(many=True)})
    def get(self, request: Request) -> Response:
        return Response(selectors.sd_models_list())


class SamplersView(SdApiView):
    @extend_schema(
        tags=[TAG], summary="Samplers", responses={200: SamplerItemSerializer(many=True)}
    )
    def get(self, request: Request) -> Response:
        return Response(selectors.samplers_list())


class SchedulersView(SdApiView):
    @extend_schema(tags=[TAG], summary="Schedulers", responses={200: SCHEDULER_LIST_SCHEMA})
    def get(self, request: Request) -> Response:
        return Response(selectors.schedulers_list())


class LorasView(SdApiView):
    @extend_schema(tags=[TAG], summary="LoRAs", responses={200: LoraItemSerializer(many=True)})
    def get(self, request: Request) -> Response:
        return Response(selectors.loras_list())


class ScriptsView(SdApiView):
    """A1111 clients (webuiapi) look here for extensions; we have none."""

    @extend_schema(tags=[TAG], summary="Scripts (none)", responses={200: OpenApiTypes.OBJECT})
    def get(self, request: Request) -> Response:
        return Response({"txt2img": [], "img2img": []})


class OptionsView(SdApiView):
    @extend_schema(
        tags=[TAG],
        summary="The caller's options",
        responses={200: OpenApiTypes.OBJECT},
        examples=[
            OpenApiExample(
                "options",
                value={
                    "sd_model_checkpoint": "Visionary Shapes v1 [0123456789]",
                    "CLIP_stop_at_last_layers": 1,
                },
            )
        ],
    )
    def get(self, request: Request) -> Response:
        return Response(selectors.options_view(user=self.member(request)))

    @extend_schema(
        tags=[TAG],
        summary="Set the caller's model (sd_model_checkpoint) and clip skip; other keys ignored",
        request=OpenApiTypes.OBJECT,
        responses={200: OpenApiResponse(description="JSON null, as A1111 answers.")},
        examples=[
            OpenApiExample(
                "switch model",
                value={"sd_model_checkpoint": "Visionary Shapes v1 [0123456789]"},
                request_only=True,
            )
        ],
    )
    def post(self, request: Request) -> HttpResponse:
        ignored = services.options_update(user=self.member(request), values=_body(request))
        response = JsonResponse(None, safe=False)  # A1111 answers null
        # Keys are the caller's text: only printable ASCII may go into a header line.
        shown = [key for key in ignored if key.isascii() and key.isprintable()]
        if shown:
            response["X-Ignored-Options"] = ", ".join(shown)[:1000]
        return response


class PngInfoView(SdApiView):
    @extend_schema(
        tags=[TAG],
        summary="Read the generation parameters (infotext) of a picture",
        request=PngInfoRequestSerializer,
        responses={200: PngInfoResponseSerializer},
    )
    def post(self, request: Request) -> Response:
        serializer = PngInfoRequestSerializer(data=_body(request))
        serializer.is_valid(raise_exception=True)
        try:
            items = png_info_read(image_b64_decode(serializer.validated_data["image"]))
        except BadImage as exc:
            raise serializers.ValidationError({"image": [str(exc)]}) from exc
        infotext = items.get("parameters", "")
        return Response(
            {
                "info": infotext,
                "items": items,
                "parameters": infotext_parse(infotext) if infotext else {},
            }
        )
