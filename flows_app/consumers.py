"""Channels consumers for live run progress: they only say "this run changed".

The browser then asks the server for the fresh HTML (see static/js/live.js), so a socket
carries no run data beyond ids and statuses, and the pages render in one place.
"""

from channels.generic.websocket import AsyncJsonWebsocketConsumer

from flows_app.events import RUNS_GROUP, run_group

REFUSED = 4403


class RunEventsConsumer(AsyncJsonWebsocketConsumer):
    """``ws/runs/<run_id>/`` follows one run; ``ws/runs/`` follows every run."""

    async def connect(self):
        user = self.scope.get("user")
        if user is None or not user.is_authenticated or not user.is_active:
            await self.close(code=REFUSED)
            return
        run_id = self.scope["url_route"]["kwargs"].get("run_id")
        self.followed = [run_group(run_id)] if run_id else [RUNS_GROUP]
        for group in self.followed:
            await self.channel_layer.group_add(group, self.channel_name)
        await self.accept()

    async def disconnect(self, code):
        for group in getattr(self, "followed", []):
            await self.channel_layer.group_discard(group, self.channel_name)

    async def receive_json(self, content, **kwargs):
        """Browsers only listen."""

    async def run_changed(self, event):
        await self.send_json(
            {key: event.get(key) for key in ("run", "flow", "status", "step", "step_status")}
        )
