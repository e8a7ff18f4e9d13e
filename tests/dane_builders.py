"""Builders for the DANE tests: real chains from the lab CA, TLSA from those chains.

Every certificate is issued by :class:`mxtls.lab.ca.LabCA` at a fixed clock
and described by :func:`mxtls.trust.certinfo.describe_certificate`, as the probe
does with what a server sent; every TLSA record is computed from those bytes
by :func:`mxtls.protocol.tlsa.generate_tlsa`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from cryptography.hazmat.primitives import serialization

from mxtls.engine.derive import match_endpoints
from mxtls.lab.ca import Issued, LabCA
from mxtls.models.dane import DaneObservation, TlsaLookup
from mxtls.models.dnssec import DnssecResult, DnssecStatus
from mxtls.models.findings import Finding
from mxtls.models.observations import DnsAnswer, EndpointObservation, SmtpReply, TlsHandshake
from mxtls.protocol.tlsa import generate_tlsa, normalize_record, tlsa_owner
from mxtls.trust.certinfo import describe_certificate
from mxtls.trust.store import TrustStore

NOW = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)
HOST = "mx1.dane.test"
IP = "192.0.2.25"
IP2 = "192.0.2.26"

CA = LabCA(name="mxtls dane root", now=NOW)
OTHER_CA = LabCA(name="mxtls other root", slot=1, now=NOW)
EC = CA.issue([HOST])  # EC P-256 leaf, key slot 0
EC_NEXT = CA.issue([HOST], key_slot=7)  # the next key of the same host
RSA = CA.issue([HOST], key="rsa2048")
WRONG_NAME = CA.issue(["other.dane.test"])
FOREIGN = OTHER_CA.issue([HOST], key_slot=8)


def der(issued: Issued) -> list[bytes]:
    return [c.public_bytes(serialization.Encoding.DER) for c in issued.chain]


def leaf(issued: Issued) -> bytes:
    return der(issued)[0]


def ca_der(issued: Issued) -> bytes:
    """The intermediate the leaf was issued by (the chain's second certificate)."""
    return der(issued)[1]


def ee(issued: Issued, selector: int = 1, mtype: int = 1) -> str:
    return generate_tlsa(leaf(issued), 3, selector, mtype)


def ta(issued: Issued, selector: int = 1, mtype: int = 1) -> str:
    return generate_tlsa(ca_der(issued), 2, selector, mtype)


def spki_hex(issued: Issued) -> str:
    return ee(issued).split()[3]


def handshake(issued: Issued) -> TlsHandshake:
    return TlsHandshake(
        sni=HOST,
        version="TLSv1.3",
        cipher="TLS_AES_128_GCM_SHA256",
        chain=[describe_certificate(d) for d in der(issued)],
    )


def endpoint(
    issued: Issued | None = EC, *, ip: str = IP, port: int = 25, host: str = HOST
) -> EndpointObservation:
    """A STARTTLS (or, on 465, implicit TLS) session that sent ``issued``'s chain."""
    return EndpointObservation(
        host=host,
        ip=ip,
        port=port,
        connect_port=port,
        tls_mode="implicit" if port == 465 else "starttls",
        banner=SmtpReply(code=220, lines=[f"{host} ESMTP"]),
        starttls_offered=None if port == 465 else True,
        handshake=handshake(issued) if issued is not None else None,
        stopped_at=None if issued is not None else "handshake",
    )


def dnssec(status: DnssecStatus, qname: str, rdtype: str = "TLSA") -> DnssecResult:
    return DnssecResult(qname=qname, rdtype=rdtype, status=status, mode="validate")


def lookup(
    *records: str,
    port: int = 25,
    host: str = HOST,
    status: DnssecStatus | None = "secure",
    dns_status: str | None = None,
    **changes: Any,
) -> TlsaLookup:
    """A TLSA lookup of ``host``:``port`` that returned ``records``."""
    qname = tlsa_owner(host, port)
    answer = DnsAnswer.model_validate(
        {
            "qname": qname,
            "rdtype": "TLSA",
            "status": dns_status or ("NOERROR" if records else "NXDOMAIN"),
            "records": list(records),
            **changes.pop("answer", {}),
        }
    )
    fields: dict[str, Any] = {
        "host": host,
        "port": port,
        "qname": qname,
        "base_domain": host,
        "answer": answer,
        "dnssec": dnssec(status, qname) if status is not None else None,
        "records": [normalize_record(r) for r in records],
    }
    fields.update(changes)
    return TlsaLookup(**fields)


TRUST = TrustStore.from_certificates([CA.root], "mxtls dane root")  # the run's trust store


def observe(
    lookups: Iterable[TlsaLookup], endpoints: Iterable[EndpointObservation]
) -> DaneObservation:
    ls = list(lookups)
    return DaneObservation(
        lookups=ls, endpoints=match_endpoints(ls, list(endpoints), NOW, trust=TRUST)
    )


def pkix_ee(issued: Issued) -> str:
    """PKIX-EE(1) of the leaf: usable outside SMTP relay, on top of PKIX validation."""
    return generate_tlsa(leaf(issued), 1)


def codes(findings: Iterable[Finding]) -> set[str]:
    return {f.code for f in findings}
