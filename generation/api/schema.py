"""The jobs API's OpenAPI documentation: error responses, path parameters and examples."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
)

from visionary.api.errors import ErrorSerializer

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
