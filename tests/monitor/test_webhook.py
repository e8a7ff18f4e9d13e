"""Webhooks against a real local receiver: signatures, retries with backoff, no secret leaks."""

from __future__ import annotations

import socket

import httpx

from mxtls.monitor.config import Secret, WebhookSpec
from mxtls.monitor.webhook import (
    BACKOFF_CAP_S,
    backoff,
    deliver,
    encode_payload,
    sign,
    verify_signature,
)
from tests.monitor.receiver import WebhookReceiver

SECRET = "whsec-test-value-0123456789"
PAYLOAD: dict[str, object] = {
    "event": "finding.new",
    "domain": "good.lab",
    "checked_at": "x",
    "changes": [],
    "report": None,
}


def hook(url: str, secret: str = SECRET, attempts: int = 5) -> WebhookSpec:
    return WebhookSpec(
        url=url,
        label=url,
        secret=Secret(secret, "literal"),
        events=None,
        timeout_s=2,
        max_attempts=attempts,
    )


class Sleeps:
    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


async def test_signed_delivery_verified_by_the_receiver() -> None:
    with WebhookReceiver(SECRET) as receiver:
        async with httpx.AsyncClient() as client:
            result = await deliver(client, hook(receiver.url), PAYLOAD)
    assert result.delivered and result.attempts == 1 and result.http_status == 204
    (req,) = receiver.requests
    assert req.verified
    assert req.payload["id"] == result.delivery_id == req.headers["x-mxtls-delivery"]
    assert req.headers["x-mxtls-event"] == "finding.new"
    assert req.headers["content-type"] == "application/json"


async def test_retries_with_exponential_backoff_until_accepted() -> None:
    sleeps = Sleeps()
    with WebhookReceiver(SECRET, fail_first=3) as receiver:
        async with httpx.AsyncClient() as client:
            result = await deliver(
                client, hook(receiver.url), PAYLOAD, backoff_base=0.5, sleep=sleeps
            )
    assert result.delivered and result.attempts == 4
    assert sleeps.waits == [0.5, 1.0, 2.0]
    # every attempt is signed anew, and they all carry the same delivery id
    assert all(r.verified for r in receiver.requests)
    assert len({r.payload["id"] for r in receiver.requests}) == 1


async def test_a_refusal_is_final_and_a_dead_endpoint_gives_up() -> None:
    sleeps = Sleeps()
    with WebhookReceiver("another secret") as receiver:  # our signature does not verify there
        async with httpx.AsyncClient() as client:
            refused = await deliver(client, hook(receiver.url), PAYLOAD, sleep=sleeps)
    assert not refused.delivered and refused.http_status == 401 and refused.attempts == 1
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{s.getsockname()[1]}/hook"
    async with httpx.AsyncClient() as client:
        gone = await deliver(
            client, hook(dead, attempts=3), PAYLOAD, backoff_base=0.01, sleep=sleeps
        )
    assert not gone.delivered and gone.attempts == 3 and gone.http_status is None
    assert gone.error and SECRET not in gone.error


def test_backoff_is_capped_and_honours_retry_after() -> None:
    assert [backoff(n, 1.0) for n in (1, 2, 3)] == [1.0, 2.0, 4.0]
    assert backoff(30, 1.0) == BACKOFF_CAP_S
    assert backoff(1, 1.0, retry_after=10) == 10
    assert backoff(1, 1.0, retry_after=10_000) == BACKOFF_CAP_S


def test_verify_signature_refuses_tampering_and_replay() -> None:
    body = encode_payload(PAYLOAD)
    sig = sign(body, SECRET)
    assert verify_signature(body, SECRET, sig, "1000.0", now=1000.0)
    assert not verify_signature(body + b" ", SECRET, sig, "1000.0", now=1000.0)
    assert not verify_signature(body, "wrong", sig, "1000.0", now=1000.0)
    assert not verify_signature(body, SECRET, sig, "1000.0", now=2000.0)  # replayed late
    assert not verify_signature(body, SECRET, sig, "not a number", now=1000.0)
