"""The subscription's rules, without a socket or a database: replay, snapshot, trim, gap fill (sheets.live.subscription)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from sheets.live.subscription import Ledger, SinceAhead, Subscription


class FakeLedger:
    """A ledger of events 1..head held in memory, answering the three reads a subscription makes."""

    def __init__(self, head: int, *, snapshot_fits: bool = True) -> None:
        self.events = [{"seq": seq, "new_value": f"v{seq}"} for seq in range(1, head + 1)]
        self.snapshot_fits = snapshot_fits
        self.reads: list[tuple[int, int]] = []

    def append(self, count: int) -> list[dict[str, Any]]:
        new = [{"seq": len(self.events) + i, "new_value": "later"} for i in range(1, count + 1)]
        self.events.extend(new)
        return new

    async def head(self) -> int:
        return len(self.events)

    async def read(self, *, after: int, upto: int, limit: int) -> dict[str, Any]:
        self.reads.append((after, upto))
        return {"type": "events", "events": [e for e in self.events if after < e["seq"] <= upto][:limit]}

    async def snapshot(self) -> dict[str, Any] | None:
        if not self.snapshot_fits:
            return None
        return {"type": "snapshot", "head": len(self.events), "cells": []}


def subscription_on(ledger: FakeLedger) -> tuple[Subscription, list[dict[str, Any]]]:
    sent: list[dict[str, Any]] = []

    async def send(frame: dict[str, Any]) -> None:
        sent.append(frame)

    return Subscription(Ledger(head=ledger.head, events=ledger.read, snapshot=ledger.snapshot), send), sent


def seqs(frames: list[dict[str, Any]]) -> list[int]:
    return [event["seq"] for frame in frames if frame["type"] == "events" for event in frame["events"]]


def run(coroutine: Any) -> Any:
    return asyncio.run(coroutine)


@pytest.fixture(autouse=True)
def small_frames(settings):
    settings.SHEETS_REPLAY_FRAME_SIZE = 3
    settings.SHEETS_SNAPSHOT_THRESHOLD = 10


def test_start_replays_everything_after_since_in_bounded_frames_then_caught_up():
    subscription, sent = subscription_on(FakeLedger(8))
    run(subscription.start(2))
    assert [len(frame["events"]) for frame in sent[:-1]] == [3, 3]
    assert seqs(sent) == [3, 4, 5, 6, 7, 8]
    assert sent[-1] == {"type": "caught_up", "head": 8}
    assert subscription.live and subscription.last_sent == 8


def test_since_ahead_of_the_head_is_refused_and_sends_nothing():
    subscription, sent = subscription_on(FakeLedger(3))
    with pytest.raises(SinceAhead):
        run(subscription.start(4))
    assert sent == [] and not subscription.live


def test_far_behind_gets_a_snapshot_and_only_what_follows_it():
    ledger = FakeLedger(20)
    subscription, sent = subscription_on(ledger)
    run(subscription.start(0))
    assert sent[0]["type"] == "snapshot"
    assert seqs(sent) == [] and sent[-1] == {"type": "caught_up", "head": 20}


def test_a_snapshot_too_large_to_send_becomes_a_replay():
    subscription, sent = subscription_on(FakeLedger(20, snapshot_fits=False))
    run(subscription.start(0))
    assert seqs(sent) == list(range(1, 21))
    assert sent[-1] == {"type": "caught_up", "head": 20}


def test_live_messages_are_trimmed_of_what_was_sent_and_old_ones_dropped():
    ledger = FakeLedger(5)
    subscription, sent = subscription_on(ledger)
    run(subscription.start(0))
    sent.clear()
    run(subscription.deliver({"first": 4, "last": 5, "events": ledger.events[3:5]}))  # all sent already
    new = ledger.append(2)
    run(subscription.deliver({"first": 5, "last": 7, "events": [ledger.events[4], *new]}))  # overlaps seq 5
    assert seqs(sent) == [6, 7]
    assert ledger.reads == [(0, 5), (3, 5)]  # only the replay read the ledger


def test_a_gap_in_the_live_stream_is_filled_from_the_ledger():
    ledger = FakeLedger(2)
    subscription, sent = subscription_on(ledger)
    run(subscription.start(2))
    ledger.append(2)  # seqs 3-4: their message never came
    later = ledger.append(1)
    sent.clear()
    run(subscription.deliver({"first": 5, "last": 5, "events": later}))
    assert seqs(sent) == [3, 4, 5]


def test_a_message_without_its_events_is_read_from_the_ledger():
    ledger = FakeLedger(1)
    subscription, sent = subscription_on(ledger)
    run(subscription.start(1))
    ledger.append(4)
    sent.clear()
    run(subscription.deliver({"first": 2, "last": 5}))
    assert seqs(sent) == [2, 3, 4, 5]


def test_nothing_is_delivered_before_the_subscription_is_live():
    ledger = FakeLedger(0)
    subscription, sent = subscription_on(ledger)
    run(subscription.deliver({"first": 1, "last": 1, "events": ledger.append(1)}))
    assert sent == []


def test_the_head_of_a_pong_is_never_ahead_of_what_was_sent():
    ledger = FakeLedger(3)
    subscription, sent = subscription_on(ledger)
    run(subscription.start(3))
    ledger.append(2)  # committed, but the live message was lost
    sent.clear()
    assert run(subscription.head_after_fill()) == 5
    assert seqs(sent) == [4, 5] and subscription.last_sent == 5
