"""Record generation: TLSA, MTA-STS and TLS-RPT records ready to publish, from live facts.

Two layers, so any front end (``mxtls generate``, the web service) can use
them with its runtime:

* :func:`live_tlsa` and :func:`mta_sts_for` gather the facts through a
  :class:`~mxtls.engine.runtime.Runtime` (the certificate chain each address
  of an MX host sends, the domain's MX hosts, the clock for the policy id);
* :func:`suggest_tlsa`, :func:`mta_sts_records` and :func:`tls_rpt_record`
  only format them (pure), so what they emit can be round-tripped through
  mxtls's own parsers and the lab in tests.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from mxtls.config import CheckConfig
from mxtls.engine.plan import initial_hosts, normalize_domain, resolve_host
from mxtls.engine.runtime import Runtime
from mxtls.models.observations import CertificateInfo, MxHost
from mxtls.net.smtp_session import probe_endpoint
from mxtls.protocol.mta_sts import (
    MTA_STS_MAX_AGE_DEFAULT_SECONDS,
    MtaStsMode,
    MtaStsPolicy,
    MtaStsRecord,
)
from mxtls.protocol.tls_rpt import TlsRptRecord
from mxtls.protocol.tlsa import generate_tlsa, tlsa_owner

DEFAULT_MAX_AGE_S = MTA_STS_MAX_AGE_DEFAULT_SECONDS


@dataclass(frozen=True, slots=True)
class TlsaSuggestion:
    """TLSA lines for one certificate chain."""

    owner: str
    ee_line: str  # 3 1 1: the server's own key
    ta_line: str | None  # 2 1 1: the issuing CA's key, when the server sends it
    leaf: CertificateInfo

    def zone_lines(self) -> list[str]:
        """Zone-file lines: ``_25._tcp.mx.example. IN TLSA 3 1 1 ...``."""
        lines = [f"{self.owner}. IN TLSA {self.ee_line}"]
        if self.ta_line:
            lines.append(f"{self.owner}. IN TLSA {self.ta_line}")
        return lines


def suggest_tlsa(host: str, port: int, chain: Sequence[CertificateInfo]) -> TlsaSuggestion:
    """TLSA records matching ``chain`` as the server sent it (leaf first).

    Raises:
        ValueError: the chain is empty.
    """
    if not chain:
        raise ValueError("the server sent no certificate")
    ee = generate_tlsa(chain[0].der, 3, 1, 1)
    ta = generate_tlsa(chain[1].der, 2, 1, 1) if len(chain) > 1 else None
    return TlsaSuggestion(owner=tlsa_owner(host, port), ee_line=ee, ta_line=ta, leaf=chain[0])


ROLLOVER_HINT = """\
; Rollover (RFC 7671 §8): keep at least two usable records so a key change
; never leaves senders without a match. Either
;   "current + next": publish the 3 1 1 of the NEXT key (generate it before
;   the renewal, e.g. certbot --reuse-key off + a pre-generated key) next to
;   the current one, wait 2 x TTL, then switch the server, then drop the old;
; or "3 1 1 + 2 1 1": the 2 1 1 (issuing CA) keeps matching across renewals
;   by the same CA, the 3 1 1 pins the key; update the 3 1 1 after each
;   key change. Run `mxtls check` after every change."""


def mta_sts_records(
    domain: str,
    mx_hosts: Sequence[str],
    *,
    mode: MtaStsMode,
    max_age: int,
    now: datetime,
) -> tuple[str, str]:
    """``(txt_line, policy_text)`` for ``domain`` covering ``mx_hosts``.

    The id is the UTC time of generation (``YYYYMMDDHHMMSS``): 14 digits,
    within RFC 8461 §3.1's 1-32 alphanumerics, and new on every change.
    """
    record = MtaStsRecord(id=now.strftime("%Y%m%d%H%M%S"))
    patterns = tuple(dict.fromkeys(h.rstrip(".").lower() for h in mx_hosts))
    policy = MtaStsPolicy(
        mode=MtaStsMode(mode), max_age=max_age, mx=patterns if mode != "none" else ()
    )
    MtaStsRecord.parse(record.to_text())  # what we emit must parse
    MtaStsPolicy.parse(policy.to_text())
    return f'_mta-sts.{domain}. IN TXT "{record.to_text()}"', policy.to_text()


def tls_rpt_record(domain: str | None, rua: Sequence[str]) -> str:
    """The ``_smtp._tls`` TXT line for ``rua`` URIs.

    Raises:
        TlsRptSyntaxError: an rua URI is neither ``mailto:`` nor ``https:``.
    """
    text = f"v=TLSRPTv1; rua={','.join(rua)}"
    TlsRptRecord.parse(text)
    owner = f"_smtp._tls.{domain}." if domain else "_smtp._tls"
    return f'{owner} IN TXT "{text}"'


# -- from live facts ------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LiveTlsa:
    """TLSA suggestions for one MX host and port, from the chain each address sent.

    Attributes:
        host: the MX host (A-label).
        port: the port asked.
        suggestions: ``(address, suggestion)`` per address that sent a chain.
        problems: one line per address (or lookup) that did not.
    """

    host: str
    port: int
    suggestions: list[tuple[str, TlsaSuggestion]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def distinct(self) -> list[tuple[str, TlsaSuggestion]]:
        """One suggestion per distinct certificate (the first address that sent it)."""
        seen: set[str] = set()
        out = []
        for addr, suggestion in self.suggestions:
            if suggestion.ee_line not in seen:
                seen.add(suggestion.ee_line)
                out.append((addr, suggestion))
        return out


async def live_tlsa(
    host: str, runtime: Runtime | CheckConfig | None = None, *, port: int = 25
) -> LiveTlsa:
    """TLSA records for the certificate every address of ``host`` sends on ``port``.

    Each address gets one connection that stops after the TLS handshake
    (STARTTLS, or implicit TLS on 465), under the runtime's per-address limits.

    Raises:
        InvalidDomain: ``host`` is not a usable host name.
        ConfigError: the configuration is unusable.
    """
    shared = Runtime.coerce(runtime)
    name = normalize_domain(host)
    config = shared.config
    resolved = await resolve_host(MxHost(name=name, preference=0), shared.resolver(), config)
    result = LiveTlsa(host=name, port=port)
    if not resolved.addresses:
        result.problems.append(f"{name} has no A/AAAA record")
        return result
    for ip in resolved.addresses:
        async with shared.limiter.connection(ip):
            obs = await probe_endpoint(name, ip, port, config, handshake_only=True)
            if obs.throttled:
                shared.limiter.pushback(ip)
        if obs.handshake is None or not obs.handshake.chain:
            why = obs.handshake_error or obs.stop_detail or "no TLS"
            result.problems.append(f"{name}[{ip}]:{port}: {why}")
            continue
        result.suggestions.append((ip, suggest_tlsa(name, port, obs.handshake.chain)))
    return result


@dataclass(frozen=True, slots=True)
class MtaStsRecords:
    """The ``_mta-sts`` TXT line and the policy file for a domain."""

    domain: str
    mx_hosts: list[str]
    txt: str
    policy: str


async def mta_sts_for(
    domain: str,
    runtime: Runtime | CheckConfig | None = None,
    *,
    mode: MtaStsMode,
    max_age: int = DEFAULT_MAX_AGE_S,
    mx_hosts: Sequence[str] = (),
) -> MtaStsRecords:
    """The MTA-STS records for ``domain``, covering ``mx_hosts`` or else its MX hosts.

    The policy id is the runtime's clock (UTC).  With no MX host to cover,
    ``mx_hosts`` of the result is empty (a ``none`` policy needs none).

    Raises:
        InvalidDomain: ``domain`` is not a usable domain name.
        ConfigError: the configuration is unusable.
    """
    shared = Runtime.coerce(runtime)
    name = normalize_domain(domain)
    hosts = list(mx_hosts)
    if not hosts:
        answer = await shared.resolver().query(name, "MX")
        _, planned = initial_hosts(name, answer, shared.config)
        hosts = [h.name for h in planned if not h.implicit]
    now = shared.now().astimezone(UTC)
    txt, policy = mta_sts_records(name, hosts, mode=mode, max_age=max_age, now=now)
    return MtaStsRecords(domain=name, mx_hosts=hosts, txt=txt, policy=policy)
