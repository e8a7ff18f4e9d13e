"""The delivery verdict: will each kind of sender deliver to the domain?

One entry per sender kind that exists in the wild: opportunistic (Postfix
``may``: TLS if it works, plaintext otherwise), MTA-STS enforcing (large
mailbox providers), and DANE (Postfix ``dane``).  Each says whether the
domain's own published policy lets that sender deliver, per MX host.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

SenderKind = Literal["opportunistic", "mta_sts", "dane"]
Outcome = Literal[
    "delivers", "delivers_partly", "refuses", "not_applicable", "unreachable", "not_tested"
]


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class MxVerdict(_Model):
    """What one sender kind does with one MX host.

    ``delivers`` False means the sender refuses (``refused`` True: the
    domain's own policy makes it refuse) or cannot reach it;
    ``encrypted``/``authenticated`` describe the channel when it delivers.
    """

    host: str
    delivers: bool
    refused: bool = False
    encrypted: bool | None = None
    authenticated: bool | None = None
    reason: str


class SenderVerdict(_Model):
    """One sender kind's conclusion for the whole domain."""

    sender: SenderKind
    applies: bool
    policy: str
    outcome: Outcome
    summary: str
    mx: list[MxVerdict] = Field(default_factory=list)


class DeliveryVerdict(_Model):
    """The per-sender verdicts, opportunistic first."""

    senders: list[SenderVerdict] = Field(default_factory=list)
