"""TLSA lookups for DANE (RFC 7672 §2.2): which RRset an SMTP client would use.

Theory of operation
-------------------
:func:`lookup_tlsa` asks the run's resolver for ``_PORT._tcp.HOST`` TLSA, in
the order an SMTP client does (RFC 7672 §2.2.2, RFC 7671 §7):

1. If the MX host name is an alias (its address answer went through CNAMEs)
   and that expansion is DNSSEC-secure, the TLSA RRset is first looked up at
   the fully expanded name.  Secure, non-empty records there are used, with
   the expanded name as the TLSA base domain.
2. Otherwise, or when the expanded name has no secure TLSA records, the
   original name is asked.  A failed lookup (SERVFAIL, timeout, bogus) at
   the expanded name is final: a client defers rather than falling back.

The TLSA owner may itself be a CNAME; the resolver follows it and the
answer's ``cname_chain`` keeps the path.  DNSSEC status comes from the
validator when one is given; without it only the answer's AD bit is known.

:func:`lookup_host_tlsa` does it for every port of one MX host at once, as
the engine needs.  Matching the records against the chains the servers sent
is a derived fact, computed without I/O in :mod:`mxtls.engine.derive`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Protocol

from mxtls.models.dane import TlsaLookup
from mxtls.models.dnssec import DnssecMode, DnssecResult
from mxtls.models.observations import DnsAnswer
from mxtls.net.dns import RunResolver
from mxtls.protocol.tlsa import normalize_record, tlsa_owner

DNSSEC_STATUS_TIMEOUT_S = 10.0  # bound on one validation, all its lookups included


class DnssecValidator(Protocol):
    """What :func:`lookup_tlsa` needs from a DNSSEC validator (``net.dnssec.DnssecProbe``)."""

    async def status(self, qname: str, rdtype: str) -> DnssecResult:
        """The DNSSEC status of the ``qname``/``rdtype`` answer."""
        ...


async def lookup_tlsa(
    host: str,
    port: int,
    resolver: RunResolver,
    dnssec: DnssecValidator | None,
    *,
    dnssec_timeout: float = DNSSEC_STATUS_TIMEOUT_S,
) -> TlsaLookup:
    """Find the TLSA RRset an SMTP client would use for ``host``:``port``.

    Args:
        host: the MX host name (or a server's, or an SRV target).
        port: 25, or the port of another service (465, 587, 993 …).
        resolver: the run's resolver (lookups are cached per run).
        dnssec: a validator; None when none is available (status unknown
            except for the AD bit).
        dnssec_timeout: bound on each validation, in seconds.

    Returns:
        The lookup; DNS failures are recorded in ``answer``, never raised.
    """
    host = _fold(host)
    alias, alias_secure = await _host_alias(host, resolver, dnssec, dnssec_timeout)
    attempts: list[tuple[DnsAnswer, DnssecResult | None]] = []
    if alias is not None and alias_secure:
        answer, status = await _tlsa(tlsa_owner(alias, port), resolver, dnssec, dnssec_timeout)
        final = answer.failed or (status is not None and status.status == "bogus")
        if final or (answer.records and _secure(answer, status)):
            return _lookup(host, port, alias, answer, status, alias, [])
        attempts.append((answer, status))
    answer, status = await _tlsa(tlsa_owner(host, port), resolver, dnssec, dnssec_timeout)
    if not answer.records and not answer.failed and attempts and attempts[0][0].records:
        # Only the expanded name has (insecure) records: report those, they
        # are what an operator published and what a client refused to use.
        earlier, earlier_status = attempts[0]
        return _lookup(host, port, alias or host, earlier, earlier_status, alias, [answer])
    return _lookup(host, port, host, answer, status, alias, [a for a, _ in attempts])


def _lookup(
    host: str,
    port: int,
    base: str,
    answer: DnsAnswer,
    status: DnssecResult | None,
    alias: str | None,
    attempts: list[DnsAnswer],
) -> TlsaLookup:
    return TlsaLookup(
        host=host,
        port=port,
        qname=tlsa_owner(base, port),
        base_domain=base,
        answer=answer,
        dnssec=status,
        records=[normalize_record(r) for r in answer.records],
        followed_cname=base if base != host else None,
        host_cname=alias,
        attempts=attempts,
    )


async def _host_alias(
    host: str, resolver: RunResolver, dnssec: DnssecValidator | None, timeout: float
) -> tuple[str | None, bool]:
    """The MX host's CNAME expansion, and whether that expansion is secure."""
    answer = await resolver.query(host, "A")
    if not answer.cname_chain and answer.status != "NOERROR":
        answer = await resolver.query(host, "AAAA")  # an IPv6-only host
    if not answer.cname_chain:
        return None, False
    target = _fold(answer.cname_chain[-1])
    status = await _validate(dnssec, host, answer.rdtype, timeout)
    return target, _secure(answer, status)


async def _tlsa(
    qname: str, resolver: RunResolver, dnssec: DnssecValidator | None, timeout: float
) -> tuple[DnsAnswer, DnssecResult | None]:
    answer = await resolver.query(qname, "TLSA")
    return answer, await _validate(dnssec, qname, "TLSA", timeout)


async def _validate(
    dnssec: DnssecValidator | None, qname: str, rdtype: str, timeout: float
) -> DnssecResult | None:
    if dnssec is None:
        return None
    try:
        async with asyncio.timeout(timeout):
            return await dnssec.status(qname, rdtype)
    except TimeoutError:
        mode: DnssecMode = "ad" if getattr(dnssec, "mode", None) == "ad" else "validate"
        return DnssecResult(
            qname=qname,
            rdtype=rdtype,
            status="indeterminate",
            mode=mode,
            reason=f"DNSSEC validation of {qname}/{rdtype} took longer than {timeout:g}s",
        )


def _secure(answer: DnsAnswer, status: DnssecResult | None) -> bool:
    """Secure per the validator, or per the resolver's AD bit when there is none."""
    return status.status == "secure" if status is not None else answer.ad


def _fold(name: str) -> str:
    return name.strip().lower().rstrip(".")


async def lookup_host_tlsa(
    host: str,
    ports: Iterable[int],
    resolver: RunResolver,
    dnssec: DnssecValidator | None,
    *,
    dnssec_timeout: float = DNSSEC_STATUS_TIMEOUT_S,
) -> list[TlsaLookup]:
    """The TLSA lookups of one host: each of ``ports``, concurrently.

    The caller says which ports: an MX host's always include 25 (RFC 7672
    applies to relay there); other ports matter only where records are
    published.  Each lookup is bounded by the resolver's timeout and
    ``dnssec_timeout``.

    Returns:
        One lookup per distinct port, in the order given.
    """
    async with asyncio.TaskGroup() as group:
        tasks = [
            group.create_task(
                lookup_tlsa(host, port, resolver, dnssec, dnssec_timeout=dnssec_timeout)
            )
            for port in dict.fromkeys(ports)
        ]
    return [task.result() for task in tasks]
