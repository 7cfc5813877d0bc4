"""Prometheus metrics of the write path and the websocket layer (served by proj.health at /metrics)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

EVENTS_APPENDED = Counter("ledgersheet_events_appended_total", "Events appended to the ledger.")
EDITS_REJECTED = Counter("ledgersheet_edits_rejected_total", "Edit messages refused, by error code.", ["code"])
APPEND_SECONDS = Histogram(
    "ledgersheet_append_seconds",
    "Time from an edit reaching the server to its commit.",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
)
REPLAYS = Counter("ledgersheet_replays_total", "Subscriptions served (replay then caught_up).")
EVENTS_REPLAYED = Counter("ledgersheet_events_replayed_total", "Events sent from the ledger during replays and gap fills.")
SNAPSHOTS = Counter("ledgersheet_snapshots_total", "Snapshot frames sent to far-behind clients.")
GAPS = Counter("ledgersheet_gaps_total", "Gaps in the live stream, by who noticed them.", ["detected_by"])
CONNECTIONS = Gauge("ledgersheet_open_connections", "Open sheet websockets.", multiprocess_mode="livesum")
