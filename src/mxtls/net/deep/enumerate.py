"""Protocol, cipher-suite and group enumeration by iterative removal.

Theory of operation
-------------------
One connection per *accepted* item, not per known item: offer everything the
registry has for a protocol version, note what the server picked, remove it and
offer the rest again, until the server refuses (an alert).  The picks are the
accepted suites, and when the server imposes its own order they come out in
that order.  This is internet.nl's approach (internet.nl #2031, PR #2085) and
costs ``accepted + chunks`` connections instead of sslyze's one per suite
(sslyze #718), which matters because mail servers throttle scanners.

* **Chunks.**  Some servers refuse hellos with more than about 128 suites, so
  each version's list is cut into chunks of :data:`CHUNK_SUITES`, most common
  suites first.  A ``protocol_version`` alert (or a ServerHello for another
  version) to the first chunk ends the version at once; a ``handshake_failure``
  only means "nothing in this chunk", so the next chunk is tried.
* **Server order.**  The accepted list is offered once more in reverse: if the
  server picks the same suite as for the forward order, it imposes its own
  preference and the pick order is that preference.
* **Groups.**  TLS 1.2: ECDHE suites only, one group removed at a time, the
  choice read from the ServerKeyExchange.  TLS 1.3: supported_groups without any
  key share, so the server names its choice in a HelloRetryRequest.

Every function takes a :class:`Prober` (one hello in, one answer out), so the
scanner decides about connection limits and throttling, and returns
observations with ``complete=False`` when an answer did not come.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Protocol, cast

from mxtls.models.deep import (
    GroupScan,
    NegotiatedDefault,
    ProtocolResult,
    SuiteInfo,
    VersionLabel,
)
from mxtls.net.deep.hello import HelloResult
from mxtls.protocol.tls_registry import (
    CIPHER_SUITES,
    NAMED_GROUPS,
    SSL2_CIPHER_SPECS,
    BulkCipher,
    GroupKind,
    KeyExchange,
    NamedGroupCode,
    TlsVersion,
    cipher_suite,
    group_name,
    suites_for_version,
)
from mxtls.protocol.tls_wire import (
    DEFAULT_GROUPS,
    TlsWireError,
    build_client_hello,
    build_sslv2_client_hello,
)

CHUNK_SUITES = 128  # suites per hello; some servers refuse longer lists (testssl.sh, internet.nl)
PROTOCOL_VERSION_ALERT = 70  # RFC 5246 §7.2.2

# What a current client offers (Firefox-like, TLS 1.3 first) for the "default" probe.
MODERN_SUITES: tuple[int, ...] = (
    0x1301, 0x1303, 0x1302, 0xC02B, 0xC02F, 0xCCA9, 0xCCA8, 0xC02C, 0xC030,
    0xC00A, 0xC009, 0xC013, 0xC014, 0x009C, 0x009D, 0x002F, 0x0035,
)  # fmt: skip

_TLS12_GROUP_KINDS = (GroupKind.EC, GroupKind.ECX)
_KX_RANK = {
    KeyExchange.ANY: 0,
    KeyExchange.ECDHE: 0,
    KeyExchange.DHE: 1,
    KeyExchange.RSA: 2,
    KeyExchange.ECDH: 3,
    KeyExchange.DH: 4,
}
_CIPHER_RANK = {
    BulkCipher.AES: 0,
    BulkCipher.CHACHA20: 0,
    BulkCipher.CAMELLIA: 1,
    BulkCipher.ARIA: 2,
    BulkCipher.TRIPLE_DES: 3,
    BulkCipher.RC4: 4,
}


class Prober(Protocol):
    """Sends one hello on a fresh connection and returns the answer."""

    def __call__(self, payload: bytes, *, flight: bool = True) -> Awaitable[HelloResult]: ...


def suite_info(code: int) -> SuiteInfo:
    """IANA and OpenSSL names of a suite code (hex for unknown codes)."""
    suite = cipher_suite(code)
    if suite is None:
        return SuiteInfo(code=code, iana_name=f"{code:#06x}")
    return SuiteInfo(code=code, iana_name=suite.iana_name, openssl_name=suite.openssl_name)


def ordered_suites(version: TlsVersion) -> list[int]:
    """Every suite a ``version`` hello may offer, the commonly deployed ones first.

    The first chunk then holds what OpenSSL-based servers pick, so an
    unsupported version is usually settled by one connection.
    """

    def rank(code: int) -> tuple[int, ...]:
        s = CIPHER_SUITES[code]
        return (
            s.openssl_name is None,
            s.export,
            _KX_RANK.get(s.kx, 9),
            _CIPHER_RANK.get(s.cipher, 5),
            not s.aead,
            code,
        )

    return sorted(suites_for_version(version), key=rank)


def enumeration_groups(version: TlsVersion) -> list[int]:
    """Groups to offer in a ``version`` hello so no (EC)DHE suite fails for want of one."""
    modern = list(DEFAULT_GROUPS)
    if version is TlsVersion.TLS1_3:
        rest = [g.code for g in NAMED_GROUPS.values() if g.key_share_bytes is not None]
    else:
        rest = [
            g.code
            for g in NAMED_GROUPS.values()
            if g.kind in _TLS12_GROUP_KINDS and not g.name.endswith("tls13")
        ]
    return modern + [g for g in rest if g not in modern]


def label(version: TlsVersion) -> VersionLabel:
    """The observation label of ``version`` (``"TLSv1.2"``)."""
    return cast(VersionLabel, version.label)


def _hello(
    version: TlsVersion,
    suites: Sequence[int],
    sni: str | None,
    *,
    groups: Sequence[int] | None = None,
    key_share_groups: Sequence[int] | None = None,
    supported_versions: Sequence[int] | None = None,
) -> bytes:
    return build_client_hello(
        version,
        suites,
        server_name=sni,
        groups=enumeration_groups(version) if groups is None else groups,
        key_share_groups=key_share_groups,
        supported_versions=supported_versions,
    ).to_bytes()


Ask = Callable[[list[int]], Awaitable[tuple[int | None, HelloResult]]]


async def iterate_removal(offer: Sequence[int], ask: Ask) -> tuple[list[int], bool, HelloResult]:
    """Offer, note the pick, remove it, repeat: ``(picks, complete, last answer)``.

    ``ask`` sends a hello for the remaining items and returns the item picked
    (None for a refusal).  Bounded by ``len(offer) + 1`` hellos.  ``complete``
    is False when an answer did not come (timeout, throttling).
    """
    remaining = list(offer)
    picks: list[int] = []
    last = HelloResult(outcome="skipped", detail="nothing offered")
    for _ in range(len(offer) + 1):
        if not remaining:
            break
        choice, last = await ask(remaining)
        if not last.answered:
            return picks, False, last
        if choice is None or choice not in remaining:
            break
        picks.append(choice)
        remaining.remove(choice)
    return picks, True, last


def _suite_asker(probe: Prober, version: TlsVersion, sni: str | None, notes: list[str]) -> Ask:
    async def ask(remaining: list[int]) -> tuple[int | None, HelloResult]:
        result = await probe(_hello(version, remaining, sni), flight=False)
        hello = result.server_hello
        if hello is None or hello.negotiated_version != version:
            return None, result
        if hello.cipher_suite not in remaining:
            notes.append(
                f"{version.label}: server picked {suite_info(hello.cipher_suite).iana_name}, "
                "which was not offered"
            )
            return None, result
        return hello.cipher_suite, result

    return ask


def _version_refused(result: HelloResult, version: TlsVersion) -> bool:
    if result.alert is not None and result.alert.description == PROTOCOL_VERSION_ALERT:
        return True
    hello = result.server_hello
    return hello is not None and hello.negotiated_version != version


def _refusal_detail(result: HelloResult) -> str:
    hello = result.server_hello
    if hello is not None:
        try:
            return f"answered {TlsVersion(hello.negotiated_version).label}"
        except ValueError:
            return f"answered version {hello.negotiated_version:#06x}"
    return result.refusal


async def enumerate_protocol(
    probe: Prober,
    version: TlsVersion,
    sni: str | None,
    notes: list[str],
    *,
    chunk_size: int = CHUNK_SUITES,
) -> ProtocolResult:
    """Is ``version`` accepted, with which suites, and in whose order?"""
    offer = ordered_suites(version)
    chunks = [offer[i : i + chunk_size] for i in range(0, len(offer), chunk_size)]
    ask = _suite_asker(probe, version, sni, notes)
    picks: list[int] = []
    chunks_with_picks = 0
    complete = True
    detail: str | None = None
    for index, chunk in enumerate(chunks):
        found, done, last = await iterate_removal(chunk, ask)
        picks += found
        chunks_with_picks += bool(found)
        if not done:
            complete = False
            detail = last.refusal
            break
        if not picks:
            detail = _refusal_detail(last)
            if index == 0 and _version_refused(last, version):
                break
    if not picks:
        return ProtocolResult(
            version=label(version),
            support="rejected" if complete else "unknown",
            complete=complete,
            detail=detail,
        )
    server_order: bool | None = None
    if complete and len(picks) >= 2:
        server_order, picks = await _server_order(ask, offer, picks, chunks_with_picks == 1)
    return ProtocolResult(
        version=label(version),
        support="accepted",
        suites=[suite_info(c) for c in picks],
        server_order=server_order,
        complete=complete,
    )


async def _server_order(
    ask: Ask, offer: list[int], picks: list[int], single_chunk: bool
) -> tuple[bool | None, list[int]]:
    forward = sorted(picks, key=offer.index)
    if single_chunk:
        first: int | None = picks[0]  # the first hello of the chunk offered all of them
    else:
        first, result = await ask(list(forward))
        if not result.answered:
            return None, picks
    reverse, result = await ask(list(reversed(forward)))
    if first is None or reverse is None:
        return None, picks
    if first != reverse:
        return False, picks
    if single_chunk:
        return True, picks
    order, done, _ = await iterate_removal(forward, ask)
    return True, order if done and len(order) == len(picks) else picks


async def enumerate_sslv2(probe: Prober) -> ProtocolResult:
    """SSLv2: one CLIENT-HELLO with every cipher spec; SERVER-HELLO lists the shared ones."""
    result = await probe(build_sslv2_client_hello(list(SSL2_CIPHER_SPECS)))
    if not result.answered:
        return ProtocolResult(version="SSLv2", support="unknown", complete=False)
    if result.sslv2 is None:
        return ProtocolResult(version="SSLv2", support="rejected", detail=result.refusal)
    suites = []
    for code in result.sslv2.cipher_specs:
        spec = SSL2_CIPHER_SPECS.get(code)
        name = spec.name if spec else f"{code:#08x}"
        suites.append(
            SuiteInfo(code=code, iana_name=name, openssl_name=spec.openssl_name if spec else None)
        )
    return ProtocolResult(version="SSLv2", support="accepted", suites=suites)


async def enumerate_groups_tls12(
    probe: Prober, version: TlsVersion, ecdhe_suites: Sequence[int], sni: str | None
) -> GroupScan:
    """Curves accepted with ECDHE suites in a TLS <= 1.2 ``version``."""
    candidates = [
        g for g in enumeration_groups(version) if NAMED_GROUPS[g].kind in _TLS12_GROUP_KINDS
    ]

    async def ask(remaining: list[int]) -> tuple[int | None, HelloResult]:
        result = await probe(_hello(version, ecdhe_suites, sni, groups=remaining))
        if result.server_hello is None or result.server_key_exchange is None:
            return None, result
        suite = cipher_suite(result.server_hello.cipher_suite)
        if suite is None or suite.kx is not KeyExchange.ECDHE:
            return None, result
        try:
            return result.server_key_exchange.ecdh_params().named_group, result
        except TlsWireError:
            return None, result

    picks, complete, _ = await iterate_removal(candidates, ask)
    names = [group_name(g) for g in picks]
    return GroupScan(
        version=label(version),
        groups=names,
        preferred=names[0] if names else None,
        complete=complete,
    )


async def enumerate_groups_tls13(
    probe: Prober, suites: Sequence[int], sni: str | None
) -> GroupScan:
    """Groups accepted in TLS 1.3, each named by a HelloRetryRequest (no key share sent)."""
    candidates = enumeration_groups(TlsVersion.TLS1_3)

    async def ask(remaining: list[int]) -> tuple[int | None, HelloResult]:
        payload = _hello(TlsVersion.TLS1_3, suites, sni, groups=remaining, key_share_groups=[])
        result = await probe(payload, flight=False)
        hello = result.server_hello
        if hello is None or hello.negotiated_version != TlsVersion.TLS1_3:
            return None, result
        return hello.key_share_group, result

    picks, complete, _ = await iterate_removal(candidates, ask)
    names = [group_name(g) for g in picks]
    return GroupScan(
        version="TLSv1.3", groups=names, preferred=names[0] if names else None, complete=complete
    )


async def probe_dh_bits(
    probe: Prober, version: TlsVersion, dhe_suites: Sequence[int], sni: str | None
) -> int | None:
    """Prime size of the DH group a DHE suite uses (from the ServerKeyExchange)."""
    result = await probe(_hello(version, dhe_suites, sni, groups=()))
    hello, ske = result.server_hello, result.server_key_exchange
    if hello is None or ske is None or hello.cipher_suite not in dhe_suites:
        return None
    try:
        return ske.dh_params().prime_bits
    except TlsWireError:
        return None


async def probe_default(probe: Prober, sni: str | None) -> NegotiatedDefault | None:
    """What a current client offering TLS 1.3 and 1.2 ends up with."""
    payload = _hello(
        TlsVersion.TLS1_3,
        MODERN_SUITES,
        sni,
        groups=DEFAULT_GROUPS,
        supported_versions=(TlsVersion.TLS1_3, TlsVersion.TLS1_2),
        key_share_groups=[NamedGroupCode.X25519, NamedGroupCode.SECP256R1],
    )
    result = await probe(payload)
    hello = result.server_hello
    if hello is None:
        return None
    version = hello.negotiated_version
    suite = cipher_suite(hello.cipher_suite)
    group: int | None = hello.key_share_group
    if group is None and result.server_key_exchange is not None and suite is not None:
        if suite.kx is KeyExchange.ECDHE:
            try:
                group = result.server_key_exchange.ecdh_params().named_group
            except TlsWireError:
                group = None
    try:
        label = TlsVersion(version).label
    except ValueError:
        label = f"{version:#06x}"
    forward_secret = version == TlsVersion.TLS1_3 or (suite is not None and suite.forward_secret)
    return NegotiatedDefault(
        version=label,
        suite=suite_info(hello.cipher_suite),
        forward_secret=forward_secret,
        group=group_name(group) if group is not None else None,
    )
