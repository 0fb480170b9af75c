"""Websocket routes; live run progress plugs in here."""

websocket_urlpatterns: list = []
