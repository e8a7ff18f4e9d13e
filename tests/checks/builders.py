"""Observation builders for check tests: a healthy default, changed per case.

Certificates are real: issued by :class:`mxtls.lab.ca.LabCA` at a fixed clock
and described by :func:`mxtls.trust.certinfo.describe_certificate`, exactly as the
probe does with what a server sent.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from mxtls.lab.ca import Issued, LabCA
from mxtls.models.findings import Finding, Severity
from mxtls.models.observations import (
    ConnectFailure,
    Discovery,
    DnsAnswer,
    EhloInfo,
    EndpointObservation,
    MxHost,
    SmtpReply,
    TlsHandshake,
)
from mxtls.trust.certinfo import describe_certificate
from mxtls.trust.store import TrustStore

NOW = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)
DOMAIN = "example.test"
HOST = "mx1.example.test"
IP = "192.0.2.10"
IP2 = "192.0.2.11"
WARN_DAYS = 30

CA = LabCA(now=NOW)
OTHER_CA = LabCA(name="mxtls untrusted root", slot=1, now=NOW)
TRUST = TrustStore.from_pem(CA.root_pem(), "lab root")
GOOD = CA.issue([HOST])


def reply(code: int, *lines: str) -> SmtpReply:
    return SmtpReply(code=code, lines=list(lines) or [""])


def ehlo(
    *keywords: str,
    command: str = "EHLO",
    caps: dict[str, list[str]] | None = None,
    **params: list[str],
) -> EhloInfo:
    """An EHLO (or HELO) answer advertising ``keywords`` and ``params``."""
    caps = {**{k: [] for k in keywords}, **(caps or {}), **params}
    return EhloInfo(command=command, reply=reply(250, HOST), capabilities=caps)


def der_chain(chain: Issued | Iterable[x509.Certificate]) -> list[bytes]:
    certs = chain.chain if isinstance(chain, Issued) else tuple(chain)
    return [c.public_bytes(serialization.Encoding.DER) for c in certs]


def handshake(
    chain: Issued | Iterable[x509.Certificate] = GOOD,
    *,
    version: str = "TLSv1.3",
    cipher: str = "TLS_AES_256_GCM_SHA384",
    sni: str | None = HOST,
) -> TlsHandshake:
    return TlsHandshake(
        sni=sni,
        version=version,
        cipher=cipher,
        chain=[describe_certificate(d) for d in der_chain(chain)],
    )


def endpoint(**changes: Any) -> EndpointObservation:
    """A complete, healthy STARTTLS session on port 25, with ``changes`` applied."""
    fields: dict[str, Any] = {
        "host": HOST,
        "ip": IP,
        "port": 25,
        "connect_port": 25,
        "tls_mode": "starttls",
        "banner": reply(220, f"{HOST} ESMTP"),
        "ehlo": ehlo("STARTTLS", "PIPELINING", SIZE=["10240000"]),
        "starttls_offered": True,
        "starttls_reply": reply(220, "2.0.0 Ready to start TLS"),
        "handshake": handshake(),
        "ehlo_tls": ehlo("PIPELINING", AUTH=["PLAIN", "LOGIN"]),
        "timings_ms": {"connect": 1.0, "banner": 2.0},
    }
    fields.update(changes)
    return EndpointObservation(**fields)


def implicit_endpoint(**changes: Any) -> EndpointObservation:
    """A complete, healthy implicit-TLS session on port 465 (EHLO inside TLS)."""
    fields: dict[str, Any] = {
        "port": 465,
        "connect_port": 465,
        "tls_mode": "implicit",
        "ehlo": None,
        "starttls_offered": None,
        "starttls_reply": None,
    }
    fields.update(changes)
    return endpoint(**fields)


def stopped(step: str, reason: str, detail: str = "", **changes: Any) -> EndpointObservation:
    """An endpoint whose dialogue stopped at ``step``; later facts are absent."""
    after = {
        "connect": [
            "banner",
            "ehlo",
            "starttls_offered",
            "starttls_reply",
            "handshake",
            "ehlo_tls",
        ],
        "banner": ["banner", "ehlo", "starttls_offered", "starttls_reply", "handshake", "ehlo_tls"],
        "ehlo": ["ehlo", "starttls_offered", "starttls_reply", "handshake", "ehlo_tls"],
        "starttls": ["starttls_reply", "handshake", "ehlo_tls"],
        "handshake": ["handshake", "ehlo_tls"],
        "ehlo_tls": ["ehlo_tls"],
    }[step]
    fields: dict[str, Any] = dict.fromkeys(after)
    fields.update(
        stopped_at=step,
        stop_reason=reason,
        stop_detail=f"{HOST}[{IP}]:25: {detail or reason}",
    )
    fields.update(changes)
    return endpoint(**fields)


def connect_failed(kind: str) -> EndpointObservation:
    return stopped(
        "connect",
        "timeout" if kind == "timeout" else "closed",
        connect_failure=ConnectFailure.model_validate({"kind": kind, "detail": f"{kind} (test)"}),
    )


def answer(
    rdtype: str, status: str = "NOERROR", records: list[str] | None = None, qname: str = HOST
) -> DnsAnswer:
    return DnsAnswer.model_validate(
        {"qname": qname, "rdtype": rdtype, "status": status, "records": records or []}
    )


def mx_host(name: str = HOST, **changes: Any) -> MxHost:
    """An MX host that resolved to one IPv4 address and has a CAA record."""
    fields: dict[str, Any] = {
        "name": name,
        "preference": 10,
        "a": answer("A", records=[IP], qname=name),
        "aaaa": answer("AAAA", "NODATA", qname=name),
        "addresses": [IP],
        "caa": answer("CAA", records=['0 issue "lab.test"'], qname=DOMAIN),
        "caa_domain": DOMAIN,
    }
    fields.update(changes)
    return MxHost(**fields)


def discovery(*hosts: MxHost, **changes: Any) -> Discovery:
    """A domain with one MX record (``10 mx1.example.test.``) unless changed."""
    fields: dict[str, Any] = {
        "domain": DOMAIN,
        "mx": answer("MX", records=[f"10 {HOST}."], qname=DOMAIN),
        "hosts": list(hosts) if hosts else [mx_host()],
    }
    fields.update(changes)
    return Discovery(**fields)


def codes(findings: Iterable[Finding]) -> set[str]:
    return {f.code for f in findings}


def severities(findings: Iterable[Finding]) -> dict[str, Severity]:
    return {f.code: f.severity for f in findings}
