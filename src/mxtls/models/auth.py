"""Observations of SMTP AUTH (RFC 4954): what was offered, tried and answered.

Facts only; whether a fact is a problem (``auth.failed``,
``auth.plaintext_accepted``) is decided in ``checks/auth.py``.  Nothing here
ever holds a secret: the exchange is recorded by mechanism and reply.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

AuthOutcome = Literal["accepted", "refused", "not_offered", "not_sent", "error"]


class AuthAttempt(BaseModel):
    """One AUTH exchange on one endpoint.

    Attributes:
        in_tls: the exchange ran inside TLS.
        probe: the throw-away credentials of ``--auth-check-plaintext`` were
            used, not the user's.
        offered: the mechanisms the EHLO answer listed (``AUTH`` parameters).
        mechanism: the one used (the strongest offered that mxtls speaks).
        outcome: ``accepted`` (235), ``refused`` (any other final reply),
            ``not_offered`` (no usable mechanism), ``not_sent`` (the
            credentials were held back, ``detail`` says why), ``error`` (the
            server broke the SASL exchange).
        reply_code, reply_lines: the server's final reply.
        server_verified: SCRAM only: the server proved it knows the password.
        round_trips: challenges answered.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    in_tls: bool
    probe: bool = False
    offered: list[str] = Field(default_factory=list)
    mechanism: str | None = None
    outcome: AuthOutcome
    reply_code: int | None = None
    reply_lines: list[str] = Field(default_factory=list)
    detail: str | None = None
    server_verified: bool | None = None
    round_trips: int = 0
