"""REST API for the signed-in member: /api/v1/me/ and their API tokens (/api/v1/tokens/)."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.exceptions import NotFound
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.api_tokens import api_token_create, api_token_revoke
from accounts.models import ApiToken, User
from visionary.api.errors import ErrorSerializer
from visionary.api.pagination import Pagination


class ApiTokenScheme(OpenApiAuthenticationExtension):
    """Documents accounts.authentication.ApiTokenAuthentication in the schema."""

    target_class = "accounts.authentication.ApiTokenAuthentication"
    name = "tokenAuth"

    def get_security_definition(self, auto_schema: Any) -> dict[str, Any]:
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "An API token from your settings page: `Authorization: Bearer va_...`.",
        }


class BasicCredentialsScheme(OpenApiAuthenticationExtension):
    """Documents accounts.authentication.BasicCredentialsAuthentication in the schema."""

    target_class = "accounts.authentication.BasicCredentialsAuthentication"
    name = "basicAuth"

    def get_security_definition(self, auto_schema: Any) -> dict[str, Any]:
        return {
            "type": "http",
            "scheme": "basic",
            "description": "Username (or e-mail) and password, or any username and an API token.",
        }


class MeSerializer(serializers.ModelSerializer[User]):
    name = serializers.CharField(read_only=True, help_text="What the site shows for you.")
    profile_url = serializers.SerializerMethodField()

    class Meta:
        model = User
        fields = [
            "id",
            "username",
            "name",
            "display_name",
            "email",
            "bio",
            "language",
            "date_joined",
            "profile_url",
        ]
        read_only_fields = fields

    def get_profile_url(self, user: User) -> str:
        request = self.context.get("request")
        path = user.get_absolute_url()
        return request.build_absolute_uri(path) if request else path


class ApiTokenSerializer(serializers.ModelSerializer[ApiToken]):
    class Meta:
        model = ApiToken
        fields = ["id", "name", "prefix", "created_at", "last_used_at"]
        read_only_fields = ["id", "prefix", "created_at", "last_used_at"]
        # Uniqueness per member is the service's check (it answers 400 with a message).
        validators: list[Any] = []


class ApiTokenCreatedSerializer(ApiTokenSerializer):
    token = serializers.CharField(
        read_only=True, help_text="The token itself: shown this once, never again."
    )

    class Meta(ApiTokenSerializer.Meta):
        fields = [*ApiTokenSerializer.Meta.fields, "token"]


AUTH_ERRORS = {
    401: OpenApiResponse(ErrorSerializer, description="No or bad credentials."),
    429: OpenApiResponse(ErrorSerializer, description="Too many requests; see Retry-After."),
}


class MeView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(summary="The signed-in member", responses={200: MeSerializer, **AUTH_ERRORS})
    def get(self, request: Request) -> Response:
        assert isinstance(request.user, User)
        return Response(MeSerializer(request.user, context={"request": request}).data)


TOKEN_ID = OpenApiParameter("id", OpenApiTypes.INT, OpenApiParameter.PATH, description="Token id.")


@extend_schema_view(
    list=extend_schema(summary="My API tokens (never the tokens themselves)"),
    destroy=extend_schema(
        summary="Revoke a token",
        parameters=[TOKEN_ID],
        responses={
            204: None,
            404: OpenApiResponse(ErrorSerializer, description="Not one of your tokens."),
            **AUTH_ERRORS,
        },
    ),
)
class ApiTokenViewSet(
    mixins.ListModelMixin, mixins.DestroyModelMixin, viewsets.GenericViewSet[ApiToken]
):
    permission_classes = [IsAuthenticated]
    pagination_class = Pagination
    serializer_class = ApiTokenSerializer
    queryset = ApiToken.objects.none()  # for the schema; get_queryset says whose

    def get_queryset(self) -> QuerySet[ApiToken]:
        return ApiToken.objects.filter(user_id=self.request.user.pk or 0).order_by(
            "-created_at", "-pk"
        )

    @extend_schema(
        summary="Make a named token (the response is the only time you see it)",
        request=ApiTokenSerializer,
        responses={
            201: ApiTokenCreatedSerializer,
            400: OpenApiResponse(ErrorSerializer, description="No name, a duplicate, too many."),
            **AUTH_ERRORS,
        },
        examples=[
            OpenApiExample("Create", value={"name": "my bot"}, request_only=True),
            OpenApiExample(
                "Created",
                value={
                    "id": 3,
                    "name": "my bot",
                    "prefix": "va_Zx81kQ2",
                    "created_at": "2025-05-01T12:00:00Z",
                    "last_used_at": None,
                    "token": "va_Zx81kQ2...full token...",
                },
                response_only=True,
                status_codes=["201"],
            ),
        ],
    )
    def create(self, request: Request) -> Response:
        params = ApiTokenSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        assert isinstance(request.user, User)
        token, raw = api_token_create(user=request.user, name=params.validated_data["name"])
        data = ApiTokenCreatedSerializer(token).data
        data["token"] = raw
        return Response(data, status=status.HTTP_201_CREATED)

    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        assert isinstance(request.user, User)
        pk = str(kwargs["pk"])
        token_id = int(pk) if pk.isdigit() and len(pk) < 19 else 0
        try:
            api_token_revoke(user=request.user, token_id=token_id)
        except ApiToken.DoesNotExist as exc:
            raise NotFound from exc
        return Response(status=status.HTTP_204_NO_CONTENT)
