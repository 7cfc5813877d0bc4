"""The original minimal design: relay each edit to the sheet's group, store nothing."""

from __future__ import annotations

import json
import time
from typing import Any

from asgiref.sync import async_to_sync
from channels.generic.websocket import WebsocketConsumer


class RelayConsumer(WebsocketConsumer):  # type: ignore[misc]
    """A sync consumer that forwards every edit's changes to everyone on the sheet."""

    def connect(self) -> None:
        self.group = "baseline-" + self.scope["url_route"]["kwargs"]["sheet_name"]
        async_to_sync(self.channel_layer.group_add)(self.group, self.channel_name)
        self.accept()

    def disconnect(self, code: int) -> None:
        async_to_sync(self.channel_layer.group_discard)(self.group, self.channel_name)

    def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        message = json.loads(text_data or "{}")
        kind = message.get("type")
        # The bench's clients speak the real protocol; answering subscribe
        # and ping lets the same client code drive both apps.
        if kind == "subscribe":
            self.send(text_data=json.dumps({"type": "caught_up", "head": 0}))
        elif kind == "ping":
            self.send(text_data=json.dumps({"type": "pong", "head": 0}))
        elif kind == "edit":
            events = [
                {"type": "CellChanged", "row": c["row"], "col": c["col"], "new_value": c["value"],
                 "client_event_id": message["client_event_id"], "recorded_at": time.time()}
                for c in message["changes"]
            ]
            async_to_sync(self.channel_layer.group_send)(self.group, {"type": "relay.events", "events": events})

    def relay_events(self, message: dict[str, Any]) -> None:
        self.send(text_data=json.dumps({"type": "events", "events": message["events"]}))
