from django.urls import path

from generation.consumers import JobConsumer, LiveConsumer

websocket_urlpatterns = [
    path("ws/jobs/<int:job_id>/", JobConsumer.as_asgi()),
    path("ws/live/", LiveConsumer.as_asgi()),
]
