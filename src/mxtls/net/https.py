"""MTA-STS and TLS-RPT discovery: TXT lookups and the policy fetch over HTTPS.

Theory of operation
-------------------
A sender discovers MTA-STS in two steps (RFC 8461 §3): a TXT lookup at
``_mta-sts.DOMAIN``, then, if exactly one valid ``v=STSv1`` record is there,
a GET of ``https://mta-sts.DOMAIN/.well-known/mta-sts.txt``.  Both go through
the run's one :class:`~mxtls.net.dns.RunResolver`, so ``--nameserver`` and the
lab apply to the policy host as they do to the MX hosts.

The GET is one HTTP/1.1 request on h11 (:mod:`mxtls.net.http1`) over the
same connection code as every SMTP probe (:func:`mxtls.net.stream.open_stream`):
the run's address policy (:mod:`mxtls.net.guard`) is asked about the very
address and port our resolver chose before any packet is sent, a refused
address is a ``connect`` error that says so, and the next address is tried.
TLS is a plain verified client session: SNI ``mta-sts.DOMAIN``, the
certificate checked against the run's
:class:`~mxtls.trust.store.TrustStore` and the host name checked, the
``Host`` header ``mta-sts.DOMAIN``.  A general HTTP client (httpx before)
fought these rules: it decoded any content coding, followed its own
connection pool and resolver, and its imports cost every check 20 ms and
several MiB (``docs/DESIGN.md``).

Sender rules enforced here: redirects are not followed and only a 200
counts (RFC 8461 §3.3), the media type must be ``text/plain`` (§3.2), and
the body is read up to 64 KiB + 1 byte (§3.3's suggested maximum), so a
policy one byte too large is recognised without reading more.

Nothing decodes the body: a ``Content-Encoding`` other than ``identity`` is
refused unread (a 1 KB gzip bomb once inflated the process to 880 MiB through
a decoding client, issue 8).  The head is capped at
:data:`~mxtls.net.http1.MAX_HEAD_BYTES`.  A body cut into tiny pieces costs
CPU per piece while the loop may not get control back, so the pieces are
counted (:data:`POLICY_MAX_BODY_PIECES`) and the loop is given a turn every
few of them.

Every failure becomes a :class:`~mxtls.models.policy.PolicyFetchError`; h11,
``ssl`` and ``OSError`` exceptions are mapped in :func:`classify_fetch_error`
and nowhere else.  The whole fetch (every address tried, connect, TLS, head
and body) runs under one ``timeouts.https`` bound, so a server that trickles
bytes is bounded too.
"""

from __future__ import annotations

import asyncio
import functools
import ipaddress
import ssl
import time
from dataclasses import dataclass, field
from typing import Literal

import h11
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
from mxtls.net.guard import Refused
from mxtls.net.http1 import HttpExchange, ResponseHead
from mxtls.net.stream import classify_error, open_stream
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
HTTP_ALPN = "http/1.1"  # RFC 7301: the one protocol this client speaks
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
    ctx.set_alpn_protocols([HTTP_ALPN])
    return ctx


# ----------------------------------------------------------------- error mapping


def _chain(exc: BaseException) -> list[BaseException]:
    """``exc`` and the exceptions it was raised from, outermost first (bounded)."""
    seen: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and len(seen) < _CAUSE_DEPTH and current not in seen:
        seen.append(current)
        current = current.__cause__ or current.__context__
    return seen


def _short(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= MAX_DETAIL_CHARS else flat[: MAX_DETAIL_CHARS - 1] + "…"


Step = Literal["connect", "response"]
_STEP_WORDS: dict[Step, str] = {
    "connect": "connect and TLS handshake",
    "response": "complete response",
}


def classify_fetch_error(
    exc: BaseException, timeout_s: float, step: Step = "response"
) -> PolicyFetchError:
    """Map an exception raised while fetching to a :class:`PolicyFetchError`.

    The one place where h11, ``ssl`` and ``OSError`` exceptions become
    data.  The certificate case is told apart from other TLS failures because
    it is the one a domain owner fixes differently (renew, add the name,
    send the intermediate).

    Args:
        exc: what the fetch raised.
        timeout_s: the bound that applied, for timeout messages.
        step: where the fetch was (``connect``: TCP and TLS; ``response``:
            request sent, response being read), for timeout messages.

    Raises:
        BaseException: ``exc`` itself when it is none of these (a bug).
    """
    chain = _chain(exc)
    for link in chain:
        if isinstance(link, Refused):
            return PolicyFetchError(kind="connect", detail=_short(f"not connected: {link}"))
    if isinstance(exc, TimeoutError):
        return PolicyFetchError(
            kind="timeout", detail=f"no {_STEP_WORDS[step]} within {timeout_s:g}s"
        )
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
    for link in chain:
        if isinstance(link, h11.RemoteProtocolError):
            return PolicyFetchError(
                kind="protocol",
                detail=_short(f"invalid HTTP response: {link or type(link).__name__}"),
            )
    os_errors = [e for e in chain if isinstance(e, OSError)]
    if os_errors:
        # The errno-bearing error says why (a wrapper's own words may not).
        os_error = next((e for e in os_errors if e.errno is not None), os_errors[0])
        failure = classify_error(os_error)
        verb = "" if step == "connect" else "connection lost: "
        return PolicyFetchError(kind="connect", detail=_short(f"{verb}{failure.kind}: {os_error}"))
    raise exc


# ------------------------------------------------------------------- the fetch


@dataclass(slots=True)
class _Exchange:
    """What one attempt saw so far; survives a timeout half-way through."""

    address: str
    step: Step = "connect"
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


def _request_headers(host: str) -> list[tuple[str, str]]:
    return [
        ("Host", host),
        ("User-Agent", USER_AGENT),
        ("Accept", POLICY_MEDIA_TYPE),
        # A compressed body could expand far beyond the size bound before it
        # is counted; senders fetch a small text file, so ask for it plain.
        ("Accept-Encoding", IDENTITY),
        ("Connection", "close"),
    ]


def _judge_head(head: ResponseHead) -> PolicyFetchError | None:
    """What a sender makes of the head (RFC 8461 §3.2, §3.3); None: read the body."""
    if 300 <= head.status < 400:
        location = head.get("location")
        where = f" to {_short(location)}" if location else ""
        return PolicyFetchError(
            kind="redirect", detail=f"{head.status}{where}: senders do not follow redirects"
        )
    if head.status != 200:
        reason = f" {_short(head.reason)}" if head.reason else ""
        return PolicyFetchError(kind="status", detail=f"HTTP {head.status}{reason}, not 200")
    encodings = _content_codings(head.values("content-encoding"))
    if encodings:
        return PolicyFetchError(
            kind="encoding",
            detail=_short(
                f"Content-Encoding {', '.join(encodings)} refused: senders fetch the policy "
                "as plain text (Accept-Encoding: identity)"
            ),
        )
    declared = head.get("content-length") or ""
    if declared.isdigit() and int(declared) > MTA_STS_POLICY_MAX_BYTES:
        return PolicyFetchError(
            kind="size",
            detail=f"Content-Length {int(declared)} exceeds {MTA_STS_POLICY_MAX_BYTES} bytes",
        )
    return None


async def _read_body(http: HttpExchange, exchange: _Exchange) -> None:
    """Read the body into ``exchange`` up to the size and piece bounds.

    Raises:
        h11.RemoteProtocolError: bad framing.
        OSError: the connection failed.
    """
    pieces = 0
    async for chunk in http.body():
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


async def _get(
    host: str, port: int, trust: TrustStore, config: CheckConfig, exchange: _Exchange
) -> None:
    """GET the policy from ``exchange.address``, recording into ``exchange``.

    Raises:
        mxtls.net.guard.Refused: the run's address policy refused the address.
        ssl.SSLError: the TLS handshake or the certificate failed.
        h11.RemoteProtocolError: not a well-formed HTTP/1.1 response.
        OSError: the connection failed.
    """
    stream = await open_stream(
        exchange.address,
        port,
        config.address_policy,
        tls=trust_ssl_context(trust),
        server_hostname=host,
    )
    exchange.step = "response"
    http = HttpExchange(stream)
    try:
        await http.send_request("GET", MTA_STS_WELL_KNOWN_PATH, _request_headers(host))
        head = await http.read_head()
        exchange.status = head.status
        exchange.content_type = head.get("content-type")
        exchange.location = head.get("location") if 300 <= head.status < 400 else None
        exchange.error = _judge_head(head)
        if exchange.error is not None:
            return
        if _media_type(exchange.content_type) != POLICY_MEDIA_TYPE:
            # Still read and parse the body, so a report can list every problem.
            shown = _short(exchange.content_type) if exchange.content_type else "missing"
            exchange.error = PolicyFetchError(
                kind="media_type", detail=f"Content-Type is {shown}, not {POLICY_MEDIA_TYPE}"
            )
        await _read_body(http, exchange)
    finally:
        if http.complete:
            await stream.aclose()
        else:
            stream.abort()  # the peer may still be sending: no reason to wait for it


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
        async with asyncio.timeout(bound):
            for address in addresses:
                exchange = _Exchange(address=address)
                try:
                    await _get(host, port, trust, config, exchange)
                except (OSError, h11.RemoteProtocolError) as exc:  # ssl.SSLError is an OSError
                    exchange.error = classify_fetch_error(exc, bound, exchange.step)
                # A sender moves on to the next address only when this one
                # could not be reached at all.
                if exchange.error is None or exchange.error.kind != "connect":
                    break
    except TimeoutError as exc:
        exchange.error = classify_fetch_error(exc, bound, exchange.step)
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
