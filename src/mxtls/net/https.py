"""MTA-STS and TLS-RPT discovery: TXT lookups and the policy fetch over HTTPS.

Theory of operation
-------------------
A sender discovers MTA-STS in two steps (RFC 8461 §3): a TXT lookup at
``_mta-sts.DOMAIN``, then, if exactly one valid ``v=STSv1`` record is there,
a GET of ``https://mta-sts.DOMAIN/.well-known/mta-sts.txt``.  Both go through
the run's one :class:`~mxtls.net.dns.RunResolver`, so ``--nameserver`` and the
lab apply to the policy host as they do to the MX hosts.

The GET uses httpx.  To connect to an address our resolver chose (not the
system resolver's), the request URL names the IP address while the
``Host`` header and httpcore's ``sni_hostname`` request extension carry
``mta-sts.DOMAIN``: httpcore passes that name to ``ssl`` as
``server_hostname``, so SNI is sent and the certificate is verified against
the policy host, exactly as for a by-name request.  The TLS context trusts
only the run's :class:`~mxtls.trust.store.TrustStore`.  The client's network
backend asks the run's address policy (:mod:`mxtls.net.guard`) about every
address and port before it connects, as :func:`mxtls.net.stream.connect`
does for the mail ports: a refused address is a ``connect`` error that says
so, and the next address is tried.

Sender rules enforced here: redirects are not followed and only a 200
counts (RFC 8461 §3.3), the media type must be ``text/plain`` (§3.2), and
the body is read up to 64 KiB + 1 byte (§3.3's suggested maximum), so a
policy one byte too large is recognised without reading more.

The body is read raw (``aiter_raw``): httpx would otherwise decode any
``Content-Encoding`` the server chose, whatever ``Accept-Encoding`` said, and
decompress a whole chunk before the size bound sees it (a 1 KB gzip bomb
inflated the process to 880 MiB, issue 8).  We ask for ``identity`` and refuse
anything else unread.  A body cut into tiny pieces costs CPU per piece while
the loop may not get control back, so the pieces are counted
(:data:`POLICY_MAX_BODY_PIECES`) and the loop is given a turn every few of them.

Every failure becomes a :class:`~mxtls.models.policy.PolicyFetchError`; httpx,
``ssl`` and ``OSError`` exceptions are mapped in :func:`classify_fetch_error`
and nowhere else.  The whole fetch runs under ``timeouts.https`` (and so
does each connect/read step), so a server that trickles bytes is bounded too.
"""

from __future__ import annotations

import asyncio
import functools
import ipaddress
import ssl
import time
from dataclasses import dataclass, field
from typing import Any

import httpcore
from cryptography.hazmat.primitives.serialization import Encoding

from mxtls._version import __version__
from mxtls.config import CheckConfig
from mxtls.models.observations import DnsAnswer
from mxtls.models.policy import (
    MtaStsFetch,
    MtaStsObservation,
    PolicyFetchError,
    TlsRptObservation,
)
from mxtls.net.dns import RunResolver
from mxtls.net.guard import AddressPolicy, Refused
from mxtls.net.preload import preload_modules, skipping
from mxtls.net.stream import classify_error
from mxtls.protocol.mta_sts import (
    MTA_STS_POLICY_MAX_BYTES,
    MtaStsPolicy,
    MtaStsSyntaxError,
    SelectionKind,
    select_sts_records,
)
from mxtls.protocol.tls_rpt import select_tlsrpt_records
from mxtls.protocol.txt_fields import decode_txt_presentation
from mxtls.trust.store import TrustStore

try:
    with skipping("httpx._main"):  # httpx's command line: 17 ms and 2.5 MiB of every check
        import httpx
except ImportError:  # pragma: no cover - a release of httpx that needs it after all
    import httpx

# httpx loads its transport on the first request, and anyio its asyncio backend.
preload_modules(
    "h11", "httpcore", "anyio.streams.tls", "anyio.to_thread", "anyio._backends._asyncio"
)

__all__ = [
    "HTTPS_PORT",
    "MTA_STS_WELL_KNOWN_PATH",
    "POLICY_READ_LIMIT_BYTES",
    "classify_fetch_error",
    "fetch_mta_sts_policy",
    "observe_mta_sts",
    "observe_tls_rpt",
    "policy_host",
    "policy_url",
    "trust_ssl_context",
    "txt_record_text",
]

HTTPS_PORT = 443  # RFC 8461 §3.3: the policy is served on the default HTTPS port
MTA_STS_WELL_KNOWN_PATH = "/.well-known/mta-sts.txt"  # RFC 8461 §3.3
POLICY_MEDIA_TYPE = "text/plain"  # RFC 8461 §3.2: the policy is a text/plain resource
POLICY_READ_LIMIT_BYTES = MTA_STS_POLICY_MAX_BYTES + 1  # one byte over proves "too large"
MTA_STS_TXT_LABEL = "_mta-sts"  # RFC 8461 §3.1
TLSRPT_TXT_LABEL = "_smtp._tls"  # RFC 8460 §3
USER_AGENT = f"mxtls/{__version__} (MTA-STS policy check)"
MAX_DETAIL_CHARS = 200  # peer-controlled text kept in an error detail
POLICY_MAX_BODY_PIECES = 4096  # reads or chunks per body: 16 bytes each on average at 64 KiB
YIELD_EVERY_PIECES = 64  # give the event loop a turn (and a timeout its chance) this often
IDENTITY = "identity"  # RFC 9110 §12.5.3: the only content coding we accept
_CAUSE_DEPTH = 8  # exception __cause__/__context__ links followed when mapping errors


def policy_host(domain: str) -> str:
    """``mta-sts.DOMAIN``: the host that serves the policy (RFC 8461 §3.3)."""
    return f"mta-sts.{_normalise(domain)}"


def policy_url(domain: str) -> str:
    """The policy URL a sender fetches: ``https://mta-sts.DOMAIN/.well-known/mta-sts.txt``."""
    return f"https://{policy_host(domain)}{MTA_STS_WELL_KNOWN_PATH}"


def _normalise(domain: str) -> str:
    return domain.strip().rstrip(".").lower()


def txt_record_text(presentation: str) -> str:
    """One TXT record's text: its character-strings unquoted and concatenated.

    The resolver gives records in presentation form (``"v=STSv1; " "id=1"``,
    with ``\\"`` and ``\\DDD`` escapes).  RFC 8461 §3.1 and RFC 8460 §3 both
    follow RFC 7208 §3.3: "If a published record contains multiple
    character-strings, then the record MUST be treated as if those strings
    are concatenated together without adding spaces."  Bytes that are not
    UTF-8 are replaced, which no valid record contains; text that is not a
    TXT presentation is returned as it is.
    """
    data = decode_txt_presentation(presentation)
    if data is None:
        return presentation
    return data.decode("utf-8", errors="replace")


@functools.lru_cache(maxsize=8)
def trust_ssl_context(trust: TrustStore) -> ssl.SSLContext:
    """A client TLS context that trusts exactly the run's roots (hostname check on).

    Cached per store (stores compare by identity), because loading the
    Mozilla bundle into OpenSSL takes a few milliseconds.
    """
    pem = "".join(cert.public_bytes(Encoding.PEM).decode("ascii") for cert in trust.roots)
    ctx = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cadata=pem)
    ctx.check_hostname = True
    ctx.verify_mode = ssl.CERT_REQUIRED
    return ctx


# ----------------------------------------------------------------- error mapping


def _chain(exc: BaseException) -> list[BaseException]:
    """``exc`` and the exceptions it was raised from, outermost first (bounded)."""
    seen: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and len(seen) < _CAUSE_DEPTH and current not in seen:
        seen.append(current)
        if isinstance(current, BaseExceptionGroup) and current.exceptions:
            current = current.exceptions[0]  # anyio groups the per-address connect errors
        else:
            current = current.__cause__ or current.__context__
    return seen


def _short(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= MAX_DETAIL_CHARS else flat[: MAX_DETAIL_CHARS - 1] + "…"


def classify_fetch_error(exc: BaseException, timeout_s: float) -> PolicyFetchError:
    """Map an exception raised while fetching to a :class:`PolicyFetchError`.

    The one place where httpx, ``ssl`` and ``OSError`` exceptions become
    data.  The certificate case is told apart from other TLS failures because
    it is the one a domain owner fixes differently (renew, add the name,
    send the intermediate).

    Args:
        exc: what the fetch raised.
        timeout_s: the bound that applied, for timeout messages.
    """
    chain = _chain(exc)
    for link in chain:
        if isinstance(link, Refused):
            return PolicyFetchError(kind="connect", detail=_short(f"not connected: {link}"))
    if isinstance(exc, httpx.TimeoutException | TimeoutError):
        steps: dict[type[BaseException], str] = {
            httpx.ConnectTimeout: "connect and TLS handshake",
            httpx.ReadTimeout: "read",
            httpx.WriteTimeout: "write",
            httpx.PoolTimeout: "connection pool",
        }
        step = steps.get(type(exc), "complete response")
        return PolicyFetchError(kind="timeout", detail=f"no {step} within {timeout_s:g}s")
    for link in chain:
        if isinstance(link, ssl.SSLCertVerificationError):
            reason = (
                getattr(link, "verify_message", None) or getattr(link, "reason", None) or str(link)
            )
            return PolicyFetchError(kind="cert", detail=_short(f"certificate rejected: {reason}"))
    for link in chain:
        if isinstance(link, ssl.SSLError):
            reason = getattr(link, "reason", None) or str(link)
            return PolicyFetchError(kind="tls", detail=_short(f"TLS handshake failed: {reason}"))
    if isinstance(exc, httpx.ConnectError | httpx.ReadError | httpx.WriteError | OSError):
        os_errors = [e for e in chain if isinstance(e, OSError)]
        # The errno-bearing error says why ("All connection attempts failed" does not).
        os_error = next((e for e in os_errors if e.errno is not None), None)
        os_error = os_error or (os_errors[0] if os_errors else None)
        if os_error is not None:
            failure = classify_error(os_error)
            return PolicyFetchError(kind="connect", detail=_short(f"{failure.kind}: {os_error}"))
        verb = "connect failed" if isinstance(exc, httpx.ConnectError) else "connection lost"
        return PolicyFetchError(kind="connect", detail=_short(f"{verb}: {exc or type(exc)}"))
    if isinstance(exc, httpx.HTTPError):
        return PolicyFetchError(
            kind="protocol", detail=_short(f"invalid HTTP response: {exc or type(exc).__name__}")
        )
    raise exc


# ------------------------------------------------------------------- the fetch


class GuardedBackend(httpcore.AsyncNetworkBackend):
    """httpcore's network backend behind the run's address policy.

    Every TCP connection the HTTP client opens goes through
    :meth:`connect_tcp`, which asks ``policy`` about the very address and
    port first; the URL names the address our resolver chose, so ``host``
    is that literal (a name is refused: no library resolves behind our back).
    """

    def __init__(self, policy: AddressPolicy) -> None:
        self._policy = policy
        self._inner = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Any = None,
    ) -> httpcore.AsyncNetworkStream:
        """Connect to ``host``:``port`` if the policy allows it.

        Raises:
            httpcore.ConnectError: refused by the policy (caused by
                :class:`~mxtls.net.guard.Refused`) or by the network.
        """
        try:
            self._policy.check(host.strip("[]"), port)
        except Refused as exc:
            raise httpcore.ConnectError(str(exc)) from exc
        return await self._inner.connect_tcp(
            host, port, timeout=timeout, local_address=local_address, socket_options=socket_options
        )

    async def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Any = None
    ) -> httpcore.AsyncNetworkStream:
        """Never: a policy fetch goes to an Internet host.

        Raises:
            httpcore.ConnectError: always.
        """
        raise httpcore.ConnectError("unix sockets are not policy hosts")

    async def sleep(self, seconds: float) -> None:
        """Sleep as the wrapped backend does."""
        await self._inner.sleep(seconds)


def guarded_client(trust: TrustStore, policy: AddressPolicy, bound: float) -> httpx.AsyncClient:
    """An HTTP client for policy fetches: the run's roots, no redirects, the run's policy.

    httpx builds its connection pool without a way to pass a network
    backend, so the pool is replaced by one with :class:`GuardedBackend`
    (``tests/net/test_guard.py`` checks that a refused address is never
    connected to, so a change in httpx cannot pass unnoticed).
    """
    ctx = trust_ssl_context(trust)
    transport = httpx.AsyncHTTPTransport(verify=ctx, trust_env=False)
    transport._pool = httpcore.AsyncConnectionPool(  # private: see the docstring
        ssl_context=ctx, max_connections=4, network_backend=GuardedBackend(policy)
    )
    return httpx.AsyncClient(
        transport=transport,
        timeout=httpx.Timeout(bound),
        follow_redirects=False,
        trust_env=False,  # no proxy or netrc from the environment: connect directly
    )


@dataclass(slots=True)
class _Exchange:
    """What one attempt saw so far; survives a timeout half-way through."""

    address: str
    status: int | None = None
    content_type: str | None = None
    location: str | None = None
    body: bytearray = field(default_factory=bytearray)
    body_complete: bool = False
    error: PolicyFetchError | None = None


def _media_type(content_type: str | None) -> str | None:
    """``text/plain`` from ``text/plain; charset=utf-8`` (RFC 9110 §8.3.1), lower-cased."""
    if content_type is None:
        return None
    return content_type.split(";", 1)[0].strip().lower()


def _content_codings(values: list[str]) -> list[str]:
    """The content codings applied to the body (RFC 9110 §8.4), ``identity`` left out."""
    codings = [c.strip().lower() for value in values for c in value.split(",")]
    return [_short(c) for c in codings if c and c != IDENTITY][:8]


def _url_host(ip: str) -> str:
    return f"[{ip}]" if ipaddress.ip_address(ip).version == 6 else ip


async def _get(client: httpx.AsyncClient, host: str, port: int, exchange: _Exchange) -> None:
    """GET the policy from ``exchange.address``, recording into ``exchange``.

    Raises:
        httpx.HTTPError: transport, TLS or protocol failure (mapped by the caller).
    """
    request = client.build_request(
        "GET",
        f"https://{_url_host(exchange.address)}:{port}{MTA_STS_WELL_KNOWN_PATH}",
        headers={
            "Host": host,
            "User-Agent": USER_AGENT,
            "Accept": POLICY_MEDIA_TYPE,
            # A compressed body could expand far beyond the size bound before
            # it is counted; senders fetch a small text file, so ask for it plain.
            "Accept-Encoding": "identity",
        },
        extensions={"sni_hostname": host},
    )
    response = await client.send(request, stream=True)
    try:
        exchange.status = response.status_code
        exchange.content_type = response.headers.get("content-type")
        if 300 <= response.status_code < 400:
            exchange.location = response.headers.get("location")
            where = f" to {_short(exchange.location)}" if exchange.location else ""
            exchange.error = PolicyFetchError(
                kind="redirect",
                detail=f"{response.status_code}{where}: senders do not follow redirects",
            )
            return
        if response.status_code != 200:
            reason = f" {_short(response.reason_phrase)}" if response.reason_phrase else ""
            exchange.error = PolicyFetchError(
                kind="status", detail=f"HTTP {response.status_code}{reason}, not 200"
            )
            return
        media = _media_type(exchange.content_type)
        if media != POLICY_MEDIA_TYPE:
            shown = _short(exchange.content_type) if exchange.content_type else "missing"
            exchange.error = PolicyFetchError(
                kind="media_type", detail=f"Content-Type is {shown}, not {POLICY_MEDIA_TYPE}"
            )
        encodings = _content_codings(response.headers.get_list("content-encoding"))
        if encodings:
            exchange.error = PolicyFetchError(
                kind="encoding",
                detail=_short(
                    f"Content-Encoding {', '.join(encodings)} refused: senders fetch the policy "
                    "as plain text (Accept-Encoding: identity)"
                ),
            )
            return
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > MTA_STS_POLICY_MAX_BYTES:
            exchange.error = PolicyFetchError(
                kind="size",
                detail=f"Content-Length {int(declared)} exceeds {MTA_STS_POLICY_MAX_BYTES} bytes",
            )
            return
        pieces = 0
        async for chunk in response.aiter_raw():
            exchange.body += chunk
            if len(exchange.body) >= POLICY_READ_LIMIT_BYTES:
                del exchange.body[POLICY_READ_LIMIT_BYTES:]
                exchange.error = PolicyFetchError(
                    kind="size", detail=f"body exceeds {MTA_STS_POLICY_MAX_BYTES} bytes"
                )
                return
            pieces += 1
            if pieces >= POLICY_MAX_BODY_PIECES:
                exchange.error = PolicyFetchError(
                    kind="protocol",
                    detail=f"body sent in more than {POLICY_MAX_BODY_PIECES} pieces "
                    f"({len(exchange.body)} bytes so far)",
                )
                return
            if pieces % YIELD_EVERY_PIECES == 0:
                # Pieces already buffered arrive without a network wait; let the
                # loop run (and the fetch's deadline fire) between them.
                await asyncio.sleep(0)
        exchange.body_complete = True
    finally:
        await response.aclose()


async def _resolve(
    host: str, resolver: RunResolver, config: CheckConfig
) -> tuple[DnsAnswer | None, DnsAnswer | None, list[str]]:
    """A then AAAA of the policy host through the run's resolver."""
    a_lookup = resolver.query(host, "A") if config.ipv4 else None
    aaaa_lookup = resolver.query(host, "AAAA") if config.ipv6 else None
    a = await a_lookup if a_lookup is not None else None
    aaaa = await aaaa_lookup if aaaa_lookup is not None else None
    addresses: list[str] = []
    for answer in (a, aaaa):
        if answer is None or answer.status != "NOERROR":
            continue
        for record in answer.records:
            try:
                addresses.append(str(ipaddress.ip_address(record)))
            except ValueError:
                continue
    return a, aaaa, addresses[: config.limits.max_addresses_per_host]


def _no_address_detail(host: str, answers: tuple[DnsAnswer | None, ...]) -> str:
    parts = []
    for answer in answers:
        if answer is None:
            continue
        error = f" ({_short(answer.error)})" if answer.error else ""
        parts.append(f"{answer.rdtype} {answer.status}{error}")
    return f"{host} has no usable address: " + (", ".join(parts) or "no lookup enabled")


async def _fetch(
    domain: str, resolver: RunResolver, trust: TrustStore, config: CheckConfig
) -> tuple[MtaStsFetch, bytes | None]:
    """The fetch record and the raw body (None unless a complete body within the bound)."""
    host = policy_host(domain)
    port = config.connect_port(HTTPS_PORT)
    url = policy_url(domain)
    a, aaaa, addresses = await _resolve(host, resolver, config)
    if not addresses:
        error = PolicyFetchError(kind="dns", detail=_no_address_detail(host, (a, aaaa)))
        fetch = MtaStsFetch(url=url, host=host, connect_port=port, a=a, aaaa=aaaa, error=error)
        return fetch, None

    bound = config.timeouts.https
    started = time.perf_counter()
    exchange = _Exchange(address=addresses[0])
    try:
        async with (
            asyncio.timeout(bound),
            guarded_client(trust, config.address_policy, bound) as client,
        ):
            for address in addresses:
                exchange = _Exchange(address=address)
                try:
                    await _get(client, host, port, exchange)
                except httpx.HTTPError as exc:
                    exchange.error = classify_fetch_error(exc, bound)
                # A sender moves on to the next address only when this one
                # could not be reached at all.
                if exchange.error is None or exchange.error.kind != "connect":
                    break
    except TimeoutError as exc:
        exchange.error = classify_fetch_error(exc, bound)
    elapsed = round((time.perf_counter() - started) * 1000, 2)

    body = bytes(exchange.body)
    complete = exchange.body_complete and len(body) <= MTA_STS_POLICY_MAX_BYTES
    fetch = MtaStsFetch(
        url=url,
        host=host,
        connect_port=port,
        a=a,
        aaaa=aaaa,
        addresses=addresses,
        address=exchange.address,
        status=exchange.status,
        content_type=exchange.content_type,
        location=exchange.location,
        body_bytes=len(body),
        text=body.decode("utf-8", errors="replace") if complete else None,
        error=exchange.error,
        elapsed_ms=elapsed,
    )
    return fetch, body if complete else None


async def fetch_mta_sts_policy(
    domain: str, resolver: RunResolver, trust: TrustStore, config: CheckConfig
) -> MtaStsFetch:
    """Fetch ``https://mta-sts.DOMAIN/.well-known/mta-sts.txt`` as a strict sender would.

    ``mta-sts.DOMAIN`` is resolved (A, then AAAA) through ``resolver``; the
    addresses are tried in that order while connections fail.  The port is
    443 mapped through ``config.connect_port`` (the lab's ``--port-map``).

    RFC 8461 §3.3: the server "MUST present an X.509 certificate that is
    valid for the 'mta-sts' DNS-ID [...], chain to a root CA that is trusted
    by the Sending MTA, and be non-expired"; "Policies fetched via HTTPS are
    only valid if the HTTP response code is 200 (OK).  HTTP 3xx redirects
    MUST NOT be followed"; "a suggested maximum policy size is 64 kilobytes".
    §3.2: "senders SHOULD validate that the media type is 'text/plain'".
    A 200 ``text/plain`` body within the bound is the only success.

    Returns:
        The exchange as observed; ``error`` is None only on success.  Never
        raises for network, TLS or HTTP failures.
    """
    fetch, _body = await _fetch(domain, resolver, trust, config)
    return fetch


# ------------------------------------------------------------------ observers


async def observe_mta_sts(
    domain: str, resolver: RunResolver, trust: TrustStore, config: CheckConfig
) -> MtaStsObservation:
    """Discover the domain's MTA-STS policy: the TXT record, then the policy file.

    The policy is fetched only when the TXT lookup returned exactly one
    syntactically valid ``v=STSv1`` record, because that is when a sender
    fetches it (RFC 8461 §3.1: otherwise "senders MUST assume the recipient
    domain does not have an available MTA-STS Policy").  A body is parsed
    when it was read completely, also when its media type is wrong, so a
    report can list every problem at once.

    Returns:
        The observation; never raises for DNS, network or parse failures.
    """
    name = _normalise(domain)
    txt = await resolver.query(f"{MTA_STS_TXT_LABEL}.{name}", "TXT")
    strings = [txt_record_text(r) for r in txt.records] if txt.status == "NOERROR" else []
    selection = select_sts_records(strings)
    fields: dict[str, object] = {
        "domain": name,
        "txt": txt,
        "txt_strings": strings,
        "sts_records": list(selection.candidates),
        "record_errors": list(selection.errors),
    }
    if selection.kind is SelectionKind.ONE:
        fields["record"] = selection.candidates[0]
    if selection.record is None:
        return MtaStsObservation.model_validate(fields)
    fields["record_id"] = selection.record.id
    fetch, body = await _fetch(name, resolver, trust, config)
    fields["fetch"] = fetch
    if body is not None:
        try:
            policy = MtaStsPolicy.from_bytes(body)
        except MtaStsSyntaxError as exc:
            fields["policy_errors"] = list(exc.reasons)
        else:
            fields["mode"] = policy.mode.value
            fields["max_age"] = policy.max_age
            fields["mx_patterns"] = list(policy.mx)
            fields["policy_notes"] = list(policy.notes)
    return MtaStsObservation.model_validate(fields)


async def observe_tls_rpt(domain: str, resolver: RunResolver) -> TlsRptObservation:
    """Look up and parse the domain's TLS-RPT record at ``_smtp._tls.DOMAIN`` (RFC 8460 §3).

    Returns:
        The observation; never raises for DNS or parse failures.
    """
    name = _normalise(domain)
    txt = await resolver.query(f"{TLSRPT_TXT_LABEL}.{name}", "TXT")
    strings = [txt_record_text(r) for r in txt.records] if txt.status == "NOERROR" else []
    selection = select_tlsrpt_records(strings)
    return TlsRptObservation(
        domain=name,
        txt=txt,
        txt_strings=strings,
        rpt_records=list(selection.candidates),
        record=selection.candidates[0] if selection.kind is SelectionKind.ONE else None,
        rua=[r.uri for r in selection.record.rua] if selection.record is not None else [],
        errors=list(selection.errors),
    )
