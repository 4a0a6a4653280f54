"""REST API for generation jobs (/api/v1/jobs/): serializers, the OpenAPI schema's examples and
responses, and the views."""
