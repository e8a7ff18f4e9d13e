"""The deep scan of one endpoint: every probe, concurrent, bounded and gentle.

Mail servers throttle scanners (testssl.sh #2089/#2098, sslyze #385,
internet.nl #400), so the scan is built around a connection budget:

* all probes share one gate: the runtime's slots for the address (so the
  cap holds across every check of the runtime), or a semaphore of
  ``max_conns`` connections (default ``config.limits.per_address_connections``);
* the first channel failure stops the whole scan: a 421, a refusal or an early
  close after earlier connections succeeded is recorded as ``throttled=True``;
  nothing is retried, probes not yet sent are skipped, and ``untested`` names
  what could not be finished;
* every step is bounded by the config's timeouts, and the whole scan by
  ``DEEP_SCAN_TIME_FACTOR`` times ``timeouts.endpoint_total``.

Phase 1 enumerates SSLv2 ... TLS 1.3 (one task per version) and the default a
current client gets; phase 2 uses what phase 1 found: groups, the DH size, the
behaviour hello, fallback SCSV and one certificate chain per key type.
"""

from __future__ import annotations

import asyncio
import ipaddress
import time
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import Any

from mxtls.config import CheckConfig
from mxtls.models.deep import (
    Behaviour,
    DeepScanObservation,
    GroupScan,
    KeyTypeCertificate,
    NegotiatedDefault,
    ProtocolResult,
)
from mxtls.net.deep.behaviour import KeyType, probe_behaviour, probe_fallback_scsv, probe_key_type
from mxtls.net.deep.channel import ChannelFailure
from mxtls.net.deep.enumerate import (
    enumerate_groups_tls12,
    enumerate_groups_tls13,
    enumerate_protocol,
    enumerate_sslv2,
    label,
    probe_default,
    probe_dh_bits,
)
from mxtls.net.deep.hello import SKIPPED, HelloResult, send_hello
from mxtls.net.politeness import Gate
from mxtls.protocol.tls_registry import CIPHER_SUITES, KeyExchange, TlsVersion

DEEP_SCAN_TIME_FACTOR = 5  # the whole scan: at most 5 x timeouts.endpoint_total
MAX_DH_CLASSES = 8  # distinct (anonymous, bits) suite classes asked for their DH group
TLS_VERSIONS = (
    TlsVersion.SSL3,
    TlsVersion.TLS1_0,
    TlsVersion.TLS1_1,
    TlsVersion.TLS1_2,
    TlsVersion.TLS1_3,
)
# Channel failures that, after a successful connection, mean "the server pushes back".
_PUSHBACK_KINDS = frozenset({"connect", "banner", "closed", "timeout", "throttled"})


@dataclass
class _Budget:
    """Connection accounting and the stop switch shared by every probe of one scan."""

    ip: str
    port: int
    config: CheckConfig
    gate: Gate
    connections: int = 0
    successes: int = 0
    starttls_absent: int = 0  # connections whose EHLO lacked STARTTLS
    stopped: bool = False
    throttled: bool = False
    stop_detail: str | None = None

    async def probe(self, payload: bytes, *, flight: bool = True) -> HelloResult:
        if self.stopped:
            return SKIPPED
        async with self.gate:
            if self.stopped:
                return SKIPPED
            self.connections += 1
            result = await send_hello(self.ip, self.port, self.config, payload, flight=flight)
        if result.failure is None:
            self.successes += 1
        else:
            if result.failure.kind == "starttls_absent":
                self.starttls_absent += 1
            self._stop(result.failure)
        return result

    def _stop(self, failure: ChannelFailure) -> None:
        if self.stopped:
            return
        self.stopped = True
        self.throttled = failure.throttled or (
            self.successes > 0 and failure.kind in _PUSHBACK_KINDS
        )
        self.stop_detail = f"{failure.kind}: {failure.detail}"


@dataclass
class _Results:
    protocols: dict[TlsVersion, ProtocolResult] = field(default_factory=dict)
    default: NegotiatedDefault | None = None
    groups: list[GroupScan] = field(default_factory=list)
    dh_bits: int | None = None  # the smallest DH prime seen across suite classes
    behaviour: Behaviour | None = None
    fallback: bool | None = None
    certificates: list[KeyTypeCertificate] = field(default_factory=list)
    pending: list[str] = field(default_factory=list)  # phase-2 steps without an answer
    notes: list[str] = field(default_factory=list)

    def accepted(self, version: TlsVersion) -> list[int]:
        result = self.protocols.get(version)
        if result is None or result.support != "accepted":
            return []
        return [s.code for s in result.suites]


async def deep_scan_endpoint(
    host: str,
    ip: str,
    port: int,
    config: CheckConfig,
    *,
    max_conns: int | None = None,
    gate: Gate | None = None,
) -> DeepScanObservation:
    """Scan ``host`` at ``ip``:``port``: protocols, suites, groups, behaviours, certificates.

    ``gate`` is held for each connection (the runtime's slots for ``ip``);
    without one, at most ``max_conns`` connections are open at once.

    Never raises: failures, throttling and deadlines are recorded in the
    observation (``error``, ``throttled``, ``untested``, ``notes``).
    """
    started = time.monotonic()
    if gate is None:
        limit = config.limits.per_address_connections if max_conns is None else max_conns
        gate = asyncio.Semaphore(max(1, limit))
    budget = _Budget(ip, port, config, gate)
    sni = None if _is_ip_literal(host) else host
    results = _Results()
    deadline = config.timeouts.endpoint_total * DEEP_SCAN_TIME_FACTOR
    try:
        async with asyncio.timeout(deadline):
            await _run(budget, results, sni)
    except TimeoutError:
        budget.stopped = True
        results.notes.append(f"deep scan stopped at its {deadline:g}s deadline")
    except Exception as exc:  # the boundary: a bug is recorded, not raised
        budget.stopped = True
        results.notes.append(f"internal error: {type(exc).__name__}: {exc}")
    protocols = [results.protocols.get(v) or _unknown(v) for v in (TlsVersion.SSL2, *TLS_VERSIONS)]
    untested = [f"{p.version} cipher suites" for p in protocols if not p.complete]
    if budget.stopped:
        untested += results.pending
    return DeepScanObservation(
        host=host,
        ip=ip,
        port=port,
        protocols=protocols,
        groups=results.groups,
        dh_bits=results.dh_bits,
        default=results.default,
        behaviour=_with_fallback(results.behaviour, results.fallback),
        certificates=results.certificates,
        connections_used=budget.connections,
        starttls_offered=budget.successes if config.tls_mode(port) == "starttls" else 0,
        starttls_absent=budget.starttls_absent,
        elapsed_ms=round((time.monotonic() - started) * 1000, 1),
        throttled=budget.throttled,
        untested=untested,
        error=None if budget.throttled or budget.successes else budget.stop_detail,
        notes=results.notes
        + ([f"scan stopped: {budget.stop_detail}"] if budget.stop_detail else []),
    )


async def _run(budget: _Budget, results: _Results, sni: str | None) -> None:
    probe = budget.probe

    async def version_task(version: TlsVersion) -> None:
        results.protocols[version] = await enumerate_protocol(probe, version, sni, results.notes)

    async def sslv2_task() -> None:
        results.protocols[TlsVersion.SSL2] = await enumerate_sslv2(probe)

    async def default_task() -> bool:
        results.default = await probe_default(probe, sni)
        return results.default is not None or not budget.stopped

    async with asyncio.TaskGroup() as tg:
        tg.create_task(sslv2_task())
        tg.create_task(_tracked(results, "negotiated default", default_task()))
        for version in TLS_VERSIONS:
            tg.create_task(version_task(version))
    if budget.stopped:
        results.pending += ["key-exchange groups", "DH parameters", "behaviour", "certificates"]
        return
    async with asyncio.TaskGroup() as tg:
        for name, step in _phase_two(budget, results, sni):
            tg.create_task(_tracked(results, name, step))


async def _tracked(results: _Results, name: str, step: Coroutine[Any, Any, bool]) -> None:
    """Run ``step``; its name stays in ``pending`` unless it got an answer."""
    results.pending.append(name)
    if await step:
        results.pending.remove(name)


def _phase_two(
    budget: _Budget, results: _Results, sni: str | None
) -> list[tuple[str, Coroutine[Any, Any, bool]]]:
    """The steps that depend on phase 1, as (name, coroutine returning "answered")."""
    probe = budget.probe

    def answered(value: object) -> bool:
        return value is not None or not budget.stopped

    async def groups12(version: TlsVersion, suites: list[int]) -> bool:
        scan = await enumerate_groups_tls12(probe, version, suites, sni)
        results.groups.append(scan)
        return scan.complete

    async def groups13(suites: list[int]) -> bool:
        scan = await enumerate_groups_tls13(probe, suites, sni)
        results.groups.append(scan)
        return scan.complete

    async def behaviour(version: TlsVersion) -> bool:
        results.behaviour = await probe_behaviour(probe, version, results.accepted(version), sni)
        return answered(results.behaviour)

    async def key_type(version: TlsVersion, kind: KeyType) -> bool:
        chain = await probe_key_type(probe, version, kind, sni, results.notes)
        if chain is not None:
            results.certificates.append(chain)
        return answered(chain)

    async def dh(version: TlsVersion, suites: list[int]) -> bool:
        # OpenSSL sizes an automatic DH group by each suite's strength (a stock
        # Postfix gives 1024-bit groups to 128-bit anonymous suites and 2048 to
        # DHE-RSA), so one suite per (anonymous, bits) class is asked and the
        # smallest prime is kept.
        classes: dict[tuple[bool, int], int] = {}
        for code in suites:
            info = CIPHER_SUITES[code]
            classes.setdefault((info.anonymous, info.bits), code)
        sizes: list[int] = []
        ok = True
        for code in list(classes.values())[:MAX_DH_CLASSES]:
            bits = await probe_dh_bits(probe, version, [code], sni)
            ok = answered(bits) and ok
            if bits is not None:
                sizes.append(bits)
        results.dh_bits = min(sizes) if sizes else None
        return ok

    async def fallback(lower: TlsVersion) -> bool:
        results.fallback = await probe_fallback_scsv(probe, lower, results.accepted(lower), sni)
        return answered(results.fallback)

    steps: list[tuple[str, Coroutine[Any, Any, bool]]] = []
    legacy = [v for v in reversed(TLS_VERSIONS[:4]) if results.accepted(v)]  # TLS 1.2 first
    if legacy:
        top = legacy[0]
        ecdhe = [c for c in results.accepted(top) if CIPHER_SUITES[c].kx is KeyExchange.ECDHE]
        if ecdhe:
            steps.append((f"{top.label} groups", groups12(top, ecdhe)))
        steps.append(("behaviour", behaviour(top)))
        steps.append(("ECDSA certificate", key_type(top, "ECDSA")))
        steps.append(("RSA certificate", key_type(top, "RSA")))
        for version in legacy:
            dhe = [c for c in results.accepted(version) if CIPHER_SUITES[c].kx is KeyExchange.DHE]
            if dhe:
                steps.append(("DH parameters", dh(version, dhe)))
                break
    accepted = [v for v in reversed(TLS_VERSIONS) if results.accepted(v)]
    if len(accepted) >= 2:
        steps.append(("fallback SCSV", fallback(accepted[1])))
    tls13 = results.accepted(TlsVersion.TLS1_3)
    if tls13:
        steps.append(("TLSv1.3 groups", groups13(tls13)))
    return steps


def _with_fallback(behaviour: Behaviour | None, fallback: bool | None) -> Behaviour | None:
    if behaviour is None:
        return None
    return behaviour.model_copy(update={"fallback_scsv": fallback})


def _unknown(version: TlsVersion) -> ProtocolResult:
    return ProtocolResult(version=label(version), support="unknown", complete=False)


def _is_ip_literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True
