"""Websocket routes; live run progress plugs in here."""

from django.urls import path

from flows_app.consumers import RunEventsConsumer

websocket_urlpatterns: list = [
    path("ws/runs/", RunEventsConsumer.as_asgi()),
    path("ws/runs/<int:run_id>/", RunEventsConsumer.as_asgi()),
]
