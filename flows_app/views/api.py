"""The HTTP API: start runs of a flow with its bearer token, read a run."""

urlpatterns: list = []
