"""Geometry of the history page's activity chart: edits per time bucket, stacked by user (SVG, server-side)."""

from __future__ import annotations

from dataclasses import dataclass

from ledger.audit import Activity

WIDTH, HEIGHT, AXIS = 720, 140, 18
# Okabe-Ito: told apart with the common colour-vision deficiencies.
PALETTE = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000"]
LABEL_FORMATS = {
    "minute": "%H:%M", "hour": "%d %b %H:00", "day": "%d %b", "week": "%d %b %Y", "month": "%b %Y", "year": "%Y",
}


@dataclass(frozen=True, slots=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    color: str
    title: str


@dataclass(frozen=True, slots=True)
class Chart:
    width: int
    height: int
    axis_y: int
    bars: list[Bar]
    legend: list[tuple[str, str]]
    labels: list[tuple[float, str]]
    peak: int
    kind: str


def stacked_bars(data: Activity) -> Chart | None:
    """Lay out one stacked bar per bucket, scaled to the busiest bucket; None when there is nothing to draw."""
    if not data.buckets:
        return None
    colors = {user: PALETTE[index % len(PALETTE)] for index, user in enumerate(data.users)}
    totals = [sum(data.counts.get((bucket, user), 0) for user in data.users) for bucket in data.buckets]
    peak = max(totals)
    plot = HEIGHT - AXIS
    slot = WIDTH / len(data.buckets)
    width = min(40.0, max(1.0, slot * 0.8))
    fmt = LABEL_FORMATS.get(data.kind, "%Y-%m-%d %H:%M")
    bars = []
    for index, bucket in enumerate(data.buckets):
        top = float(plot)
        for user in data.users:
            count = data.counts.get((bucket, user), 0)
            if not count:
                continue
            height = plot * count / peak
            top -= height
            title = f"{bucket.strftime(fmt)} UTC: {user}, {count} edit{'s' if count != 1 else ''}"
            bars.append(Bar(x=round(index * slot, 2), y=round(top, 2), width=round(width, 2),
                            height=round(height, 2), color=colors[user], title=title))
    step = max(1, len(data.buckets) // 6)
    labels = [(round(index * slot, 2), data.buckets[index].strftime(fmt)) for index in range(0, len(data.buckets), step)]
    return Chart(width=WIDTH, height=HEIGHT, axis_y=plot, bars=bars, legend=list(colors.items()), labels=labels,
                 peak=peak, kind=data.kind)
