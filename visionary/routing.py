"""WebSocket routes, all under /ws/."""

from __future__ import annotations

from generation.routing import websocket_urlpatterns as generation_routes

websocket_urlpatterns = [*generation_routes]
