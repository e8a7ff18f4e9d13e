"""Observations of the deep scan's vulnerability probes: facts, never verdicts.

Each probe records whether the server *behaved* like a vulnerable one
(``vulnerable``: True / False, or None when the test could not be run, with
``not_tested_reason`` saying why), the short evidence that decided it (what
was sent, what came back), how many connections it used and how long it took.
Turning ``vulnerable=True`` into a finding (``vuln.heartbleed``,
``vuln.ccs_injection``, ``vuln.robot``, ``starttls.injection``) is the job of
``mxtls.checks.vulns``.

No leaked server memory is ever stored: the Heartbleed probe reads only the
header of the server's heartbeat response.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from mxtls.models.observations import TlsMode

__all__ = [
    "CcsInjectionObservation",
    "HeartbleedObservation",
    "RobotObservation",
    "RobotOracle",
    "RobotPayload",
    "StarttlsInjectionObservation",
    "VulnObservation",
    "VulnProbe",
]


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class VulnProbe(_Model):
    """What every vulnerability probe reports.

    Attributes:
        vulnerable: True when the server behaved as a vulnerable one, False when it
            behaved as a sound one, None when the test could not be run.
        not_tested_reason: why ``vulnerable`` is None (throttling, timeout,
            handshake refused, inconsistent answers...).
        evidence: short lines saying what was sent and what came back.
        connections: TCP connections the probe opened.
        elapsed_ms: wall time of the probe.
    """

    vulnerable: bool | None = None
    not_tested_reason: str | None = None
    evidence: list[str] = Field(default_factory=list)
    connections: int = 0
    elapsed_ms: float = 0.0


class HeartbleedObservation(VulnProbe):
    """Heartbleed (CVE-2014-0160): an oversized heartbeat request after ServerHelloDone.

    ``heartbeat_extension`` says whether the server echoed the heartbeat
    extension (RFC 6520 §2); without it the request is not sent.
    ``response_record_bytes`` is the length field of the heartbeat response
    record when one came back (only its 5-byte header is read).
    """

    version: str | None = None
    heartbeat_extension: bool | None = None
    request_record_bytes: int | None = None
    claimed_payload_bytes: int | None = None
    response_record_bytes: int | None = None


class CcsInjectionObservation(VulnProbe):
    """CCS injection (CVE-2014-0224): ChangeCipherSpec sent before any key exchange.

    ``first_reply`` and ``second_reply`` describe what followed the first and
    the second early ChangeCipherSpec (``alert fatal unexpected_message``,
    ``closed``, ``silence``...); the second is sent only after silence.
    """

    version: str | None = None
    first_reply: str | None = None
    second_reply: str | None = None


RobotPayload = Literal[
    "valid",
    "wrong_first_two_bytes",
    "wrong_position_00",
    "no_00_in_the_middle",
    "wrong_version_number",
]
RobotOracle = Literal["strong", "weak"]


class RobotObservation(VulnProbe):
    """ROBOT (Bleichenbacher oracle): five RSA ClientKeyExchange paddings compared.

    ``rounds`` holds the server's answer to each payload, one mapping per round
    (a second round only confirms a difference seen in the first).
    ``oracle`` is ``strong`` or ``weak`` (the ROBOT paper's terms) when
    ``vulnerable`` is True.
    """

    rsa_key_exchange: bool | None = None
    version: str | None = None
    cipher_suite: str | None = None
    modulus_bits: int | None = None
    rounds: list[dict[RobotPayload, str]] = Field(default_factory=list)
    oracle: RobotOracle | None = None


class StarttlsInjectionObservation(VulnProbe):
    """STARTTLS command injection (CVE-2011-0411 class).

    ``injected`` is the command pipelined in the same write as STARTTLS;
    ``plaintext_after_220`` what the server sent in plaintext after its 220;
    ``first_reply_in_tls`` the first reply inside TLS after the checker sent
    QUIT (a sound server answers QUIT with 221; a vulnerable one first answers
    the injected command).
    """

    injected: str
    starttls_reply: str | None = None
    plaintext_after_220: str | None = None
    first_reply_in_tls: str | None = None


class VulnObservation(_Model):
    """All vulnerability probes of one endpoint (host, ip, logical port).

    ``starttls_injection`` is None on implicit-TLS ports, where there is no
    plaintext phase to inject into.  ``throttled`` is True when the server
    pushed back (421, early close) and later probes stopped.
    """

    host: str
    ip: str
    port: int
    tls_mode: TlsMode
    heartbleed: HeartbleedObservation
    ccs_injection: CcsInjectionObservation
    robot: RobotObservation
    starttls_injection: StarttlsInjectionObservation | None = None
    throttled: bool = False
    connections: int = 0
    elapsed_ms: float = 0.0
