"""Each connection's edits are rate limited by a token bucket; over it: rate_limited, nothing appended."""

from __future__ import annotations

import pytest

from sheets.ratelimit import TokenBucket
from tests.sheets.conftest import cell, ledger_of, ping, receive, send_edit, subscribe, wait_for


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_bucket_allows_the_burst_at_once_then_refuses():
    bucket = TokenBucket(rate=1, burst=3, clock=Clock())
    assert [bucket.take() for _ in range(4)] == [True, True, True, False]


def test_bucket_refills_at_the_rate():
    clock = Clock()
    bucket = TokenBucket(rate=2, burst=1, clock=clock)
    assert bucket.take()
    clock.now += 0.25
    assert not bucket.take()
    clock.now += 0.25
    assert bucket.take()


def test_bucket_never_holds_more_than_the_burst():
    clock = Clock()
    bucket = TokenBucket(rate=10, burst=2, clock=clock)
    clock.now += 3600
    assert [bucket.take() for _ in range(3)] == [True, True, False]


async def acked(communicator, client_event_id: str) -> dict:
    """Return the ack of ``client_event_id``, skipping the events frames around it."""
    while (frame := await receive(communicator))["type"] != "ack":
        assert frame["type"] == "events", frame
    assert frame["client_event_id"] == client_event_id
    return frame


@pytest.fixture
def tight_limit(settings):
    settings.SHEETS_RATE_LIMIT_BURST = 2
    settings.SHEETS_RATE_LIMIT_PER_SECOND = 0


@pytest.mark.asyncio
async def test_edit_over_the_limit_is_rate_limited_and_writes_nothing(tight_limit, connect, ws_sheet, member):
    alice = await member()
    sheet = await ws_sheet(editors=(alice,))
    communicator = await connect(sheet, alice)
    await subscribe(communicator)
    for row in range(2):
        await acked(communicator, await send_edit(communicator, cell(row, 0, "ok")))
    await ping(communicator)
    client_event_id = await send_edit(communicator, cell(5, 0, "too many"))
    error = await receive(communicator)
    assert (error["type"], error["code"], error["client_event_id"]) == ("error", "rate_limited", client_event_id)
    assert error["message"]
    assert await ledger_of(sheet.pk) == (2, [1, 2])
    # Pings are not edits: they still answer.
    for _ in range(5):
        assert await ping(communicator) == [{"type": "pong", "head": 2}]


@pytest.mark.asyncio
async def test_malformed_edits_do_not_spend_the_budget(tight_limit, connect, ws_sheet, member):
    alice = await member()
    sheet = await ws_sheet(editors=(alice,))
    communicator = await connect(sheet, alice)
    await subscribe(communicator)
    for _ in range(5):
        await send_edit(communicator, {"row": "0", "col": 0, "value": "x"})
        assert (await receive(communicator))["code"] == "invalid_message"
    await acked(communicator, await send_edit(communicator, cell(0, 0, "still allowed")))


@pytest.mark.asyncio
async def test_limit_is_per_connection(tight_limit, connect, ws_sheet, member):
    alice = await member()
    sheet = await ws_sheet(editors=(alice,))
    first, second = await connect(sheet, alice), await connect(sheet, alice)
    await subscribe(first)
    await subscribe(second)
    for row in range(2):
        await acked(first, await send_edit(first, cell(row, 0, "first")))
    await ping(first)
    await send_edit(first, cell(2, 0, "first"))
    assert (await receive(first))["code"] == "rate_limited"
    await acked(second, await send_edit(second, cell(3, 0, "second")))


@pytest.mark.asyncio
async def test_rate_limited_client_succeeds_when_it_retries_later(settings, connect, ws_sheet, member):
    settings.SHEETS_RATE_LIMIT_BURST = 1
    settings.SHEETS_RATE_LIMIT_PER_SECOND = 2
    alice = await member()
    sheet = await ws_sheet(editors=(alice,))
    communicator = await connect(sheet, alice)
    await subscribe(communicator)
    await acked(communicator, await send_edit(communicator, cell(0, 0, "first")))
    retried = await send_edit(communicator, cell(1, 0, "second"))
    outcomes = []

    async def retry_succeeds() -> bool:
        frame = await receive(communicator)
        while frame["type"] == "events":
            frame = await receive(communicator)
        outcomes.append(frame.get("code", frame["type"]))
        if frame["type"] == "ack":
            return True
        await send_edit(communicator, cell(1, 0, "second"), client_event_id=retried)
        return False

    await wait_for(retry_succeeds)
    assert outcomes[0] == "rate_limited" and outcomes[-1] == "ack"
    assert set(outcomes[:-1]) == {"rate_limited"}
    assert await ledger_of(sheet.pk) == (2, [1, 2])
