"""The JSON API (``/api/v1``), the TLS-RPT receiver, ``/healthz`` and ``/metrics``.

The contract is docs/findings.md's: ``POST /api/v1/checks`` answers 202
with ``{id, url}``; ``GET /api/v1/checks/{id}`` answers ``{id, status,
result}`` where ``result`` is the ``mxtls/1`` document (the
:class:`~mxtls.models.report.Report` model itself is the response model, so
``/openapi.json`` references its one schema).  Check requests pass the
client's token bucket and the queue's bound; ``ports`` may name mail ports
only, whatever the address policy.
"""

from __future__ import annotations

import ipaddress
import json
import math
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Query, Request, Response
from fastapi.responses import StreamingResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from mxtls.engine.generate import ROLLOVER_HINT, mta_sts_for, suggest_tlsa, tls_rpt_record
from mxtls.engine.plan import normalize_domain
from mxtls.engine.progress import ProgressEvent
from mxtls.engine.servers import parse_target
from mxtls.errors import InvalidDomain
from mxtls.models.report import Report
from mxtls.monitor.tlsrpt import TlsRptError
from mxtls.net.guard import MAIL_PORTS
from mxtls.protocol.mta_sts import MTA_STS_MAX_AGE_DEFAULT_SECONDS, MtaStsMode
from mxtls.protocol.tls_rpt import TlsRptSyntaxError
from mxtls.store import history
from mxtls.store import tlsrpt as tlsrpt_store
from mxtls.store.webchecks import StoredCheck
from mxtls.web.jobs import Job, JobRequest, QueueFull, ShuttingDown
from mxtls.web.service import Service, WebService

router = APIRouter()

MAX_WEB_SERVERS = 5  # named servers per request (the CLI allows more)
MAX_HISTORY = 100
STREAM_MARGIN_S = 30.0  # a progress stream outlives the check's bound by this much
Status = Literal["queued", "running", "done", "error"]


def _only_mail_ports(ports: list[int] | None) -> list[int] | None:
    if ports is None:
        return None
    if not ports:
        raise ValueError("give at least one port, or leave ports out")
    bad = sorted(set(ports) - MAIL_PORTS)
    if bad:
        allowed = ", ".join(str(p) for p in sorted(MAIL_PORTS))
        raise ValueError(f"not a mail port: {bad}; allowed: {allowed}")
    return list(dict.fromkeys(ports))


MailPorts = Annotated[list[int] | None, Field(max_length=8), AfterValidator(_only_mail_ports)]


class CheckRequest(BaseModel):
    """A domain to check."""

    model_config = ConfigDict(extra="forbid")

    domain: str = Field(max_length=300, description="the mail domain (an IDN is fine)")
    deep: bool = Field(default=False, description="also run the deep TLS scan")
    ports: MailPorts = Field(default=None, description="ports to probe on every MX host")


class ServersRequest(BaseModel):
    """Named servers to test (the "SMTP server test"), as ``mxtls server``."""

    model_config = ConfigDict(extra="forbid")

    servers: list[Annotated[str, Field(max_length=300)]] = Field(
        min_length=1, max_length=MAX_WEB_SERVERS, description="HOST or HOST:PORT"
    )
    deep: bool = False
    ports: MailPorts = Field(default=None, description="ports for servers named without one")


class CheckAccepted(BaseModel):
    """A check was accepted: poll ``url`` (or open the page ``page``)."""

    id: str
    url: str
    page: str


class CheckState(BaseModel):
    """A check's state; ``result`` is the ``mxtls/1`` report once ``status`` is ``done``."""

    id: str
    status: Status
    result: Report | None = None
    error: str | None = None


class HistoryEntry(BaseModel):
    """One stored check of a domain."""

    checked_at: datetime
    status: str
    duration_ms: float
    errors: int
    warnings: int
    infos: int
    error: str | None = None


class DomainHistory(BaseModel):
    """A domain's stored checks, newest first, and its change events."""

    domain: str
    reports: list[HistoryEntry]
    events: list[dict[str, Any]]


class TlsaRecords(BaseModel):
    """TLSA records for the certificates the newest check saw."""

    domain: str
    checked_at: datetime
    records: list[str]
    hint: str


class TextRecords(BaseModel):
    """Records to publish: DNS lines, and a policy file where one is needed."""

    domain: str | None
    dns: list[str]
    policy: str | None = None
    policy_url: str | None = None


class TlsRptReceived(BaseModel):
    """What ``POST /tlsrpt`` stored."""

    reports: int
    stored: int
    failures: int


# ------------------------------------------------------------------ helpers


def require_check_quota(request: Request, web: WebService) -> None:
    """Take a token from the client's (or key's) bucket for a check.

    Raises:
        HTTPException: 401 for an unknown API key, 429 without a token.
    """
    if _presented_unknown_key(request, web):
        web.metrics.refused.labels("api_key").inc()
        raise HTTPException(401, "unknown API key", headers={"WWW-Authenticate": "Bearer"})
    wait = web.limiter.check_wait(request)
    if wait > 0:
        web.metrics.refused.labels("check_rate").inc()
        raise HTTPException(
            429,
            f"too many checks from your address; try again in {math.ceil(wait)} s",
            headers={"Retry-After": str(math.ceil(wait))},
        )


def _presented_unknown_key(request: Request, web: WebService) -> bool:
    from mxtls.web.limits import presented_key

    return presented_key(request) is not None and web.limiter.key(request) is None


async def submit(web: WebService, job_request: JobRequest) -> Job:
    """Queue a check (or join the same one).

    Raises:
        HTTPException: 503 when the queue is full or the server is stopping.
    """
    try:
        return await web.checks.submit(job_request)
    except QueueFull:
        web.metrics.refused.labels("queue_full").inc()
        raise HTTPException(
            503, "too many checks waiting; try again in a minute", headers={"Retry-After": "60"}
        ) from None
    except ShuttingDown:
        raise HTTPException(503, "the server is stopping", headers={"Retry-After": "30"}) from None


def domain_request(domain: str, deep: bool, ports: list[int] | None) -> JobRequest:
    """The job request of a domain check.

    Raises:
        HTTPException: 422 for an unusable domain name.
    """
    try:
        name = normalize_domain(domain)
    except InvalidDomain as exc:
        raise HTTPException(422, str(exc)) from None
    return JobRequest("domain", name, deep, tuple(ports) if ports else None)


def servers_request(web: WebService, body: ServersRequest) -> JobRequest:
    """The job request of a server test; address literals are judged at once.

    Raises:
        HTTPException: 422 for an unusable target, or an address the policy refuses.
    """
    names: list[str] = []
    for text in body.servers:
        try:
            host, port = parse_target(text)
        except InvalidDomain as exc:
            raise HTTPException(422, str(exc)) from None
        if port is not None and port not in MAIL_PORTS:
            raise HTTPException(422, f"{text}: port {port} is not a mail port")
        policy = web.runtime.config.address_policy
        if _is_ip(host):
            refusal = policy.refusal(host, port or 25)
            if refusal is not None:
                raise HTTPException(422, f"{text}: {refusal}")
        names.append(text.strip())
    ports = tuple(body.ports) if body.ports else None
    return JobRequest("servers", " ".join(names), body.deep, ports, tuple(names))


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def state_of(found: Job | StoredCheck) -> CheckState:
    """The API view of a job, live or stored."""
    report = found.report if found.status == "done" else None
    return CheckState(id=found.id, status=found.status, result=report, error=found.error)


async def find(web: WebService, check_id: str) -> Job | StoredCheck:
    """The check with this id.

    Raises:
        HTTPException: 404 when there is none.
    """
    if len(check_id) > 64:
        raise HTTPException(404, "no such check")
    found = await web.checks.lookup(check_id)
    if found is None:
        raise HTTPException(404, "no such check")
    return found


def accepted(response: Response, job: Job) -> CheckAccepted:
    """202 with the polling URL (and ``Location``)."""
    url = f"/api/v1/checks/{job.id}"
    response.headers["Location"] = url
    return CheckAccepted(id=job.id, url=url, page=f"/check/{job.id}")


# ------------------------------------------------------------------- routes


@router.post("/api/v1/checks", status_code=202, response_model=CheckAccepted)
async def create_check(
    body: CheckRequest, request: Request, response: Response, web: Service
) -> CheckAccepted:
    """Check a domain: its MX hosts on port 25, its submission servers, its policies."""
    job_request = domain_request(body.domain, body.deep, body.ports)
    require_check_quota(request, web)
    return accepted(response, await submit(web, job_request))


@router.post("/api/v1/servers", status_code=202, response_model=CheckAccepted)
async def create_server_check(
    body: ServersRequest, request: Request, response: Response, web: Service
) -> CheckAccepted:
    """Test named servers (not a domain's MX), as ``mxtls server`` does."""
    job_request = servers_request(web, body)
    require_check_quota(request, web)
    return accepted(response, await submit(web, job_request))


@router.get("/api/v1/checks/{check_id}", response_model=CheckState)
async def get_check(check_id: str, web: Service) -> CheckState:
    """A check's status, and its ``mxtls/1`` report once done."""
    return state_of(await find(web, check_id))


@router.get("/api/v1/checks/{check_id}/events", response_class=StreamingResponse)
async def check_events(check_id: str, web: Service) -> StreamingResponse:
    """Progress as server-sent events: ``progress`` lines, then one ``done``."""
    found = await find(web, check_id)
    if web.streams >= web.settings.max_streams:
        web.metrics.refused.labels("streams").inc()
        raise HTTPException(503, "too many progress streams open", headers={"Retry-After": "5"})
    return StreamingResponse(
        _events(web, found),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


async def _events(web: WebService, found: Job | StoredCheck) -> AsyncIterator[bytes]:
    web.streams += 1
    try:
        if isinstance(found, Job):
            limit = web.settings.check_timeout_s + STREAM_MARGIN_S
            async for event in web.checks.follow(found, limit_s=limit):
                if event is None:
                    break
                if event.detail == "keepalive" and not event.target:
                    yield b": keepalive\n\n"
                    continue
                yield _sse("progress", progress_line(event))
        yield _sse("done", {"id": found.id, "status": found.status, "page": f"/check/{found.id}"})
    finally:
        web.streams -= 1


def progress_line(event: ProgressEvent) -> dict[str, str]:
    """A progress event as the page shows it."""
    words = {
        "host": "resolved",
        "endpoint_start": "probing",
        "endpoint_done": "probed",
    }
    return {
        "kind": event.kind,
        "target": event.target,
        "detail": event.detail,
        "text": f"{words.get(event.kind, event.kind)} {event.target}"
        + (f": {event.detail}" if event.detail else ""),
    }


def _sse(name: str, data: dict[str, Any]) -> bytes:
    return f"event: {name}\ndata: {json.dumps(data)}\n\n".encode()


@router.get("/api/v1/domains/{domain}/latest", response_model=Report)
async def domain_latest(domain: str, web: Service) -> Report:
    """The newest stored report of a domain (web checks and monitor rounds)."""
    name = domain_request(domain, False, None).target
    report = await web.store.run(lambda s: history.latest_report(s, name))
    if report is None:
        raise HTTPException(404, f"no stored check of {name}")
    return report


@router.get("/api/v1/domains/{domain}/history", response_model=DomainHistory)
async def domain_history(
    domain: str, web: Service, limit: Annotated[int, Query(ge=1, le=MAX_HISTORY)] = 20
) -> DomainHistory:
    """A domain's stored checks, newest first, and the change events the monitor recorded."""
    name = domain_request(domain, False, None).target
    return await web.store.run(lambda s: read_history(s, name, limit))


def read_history(session: Any, name: str, limit: int) -> DomainHistory:
    """The history of ``name`` from one session."""
    rows = history.list_reports(session, name, limit)
    events = history.list_events(session, name, limit)
    return DomainHistory(
        domain=name,
        reports=[
            HistoryEntry(
                checked_at=history.as_utc(r.checked_at),
                status=r.status,
                duration_ms=r.duration_ms,
                errors=r.errors,
                warnings=r.warnings,
                infos=r.infos,
                error=r.error,
            )
            for r in rows
        ],
        events=[
            {"created_at": e.created_at.isoformat(), **e.event.model_dump(mode="json")}
            for e in events
        ],
    )


@router.get("/api/v1/generate/tlsa", response_model=TlsaRecords)
async def generate_tlsa(domain: str, web: Service) -> TlsaRecords:
    """TLSA records (3 1 1, and 2 1 1 when the issuer is sent) for the newest check's chains."""
    name = domain_request(domain, False, None).target
    report = await web.store.run(lambda s: history.latest_report(s, name))
    if report is None:
        raise HTTPException(404, f"no stored check of {name}: check it first")
    lines: list[str] = []
    for host in report.hosts:
        for ep in host.endpoints:
            if ep.handshake is None or not ep.handshake.chain or ep.role == "submission":
                continue
            for line in suggest_tlsa(host.name, ep.port, ep.handshake.chain).zone_lines():
                if line not in lines:
                    lines.append(line)
    return TlsaRecords(domain=name, checked_at=report.checked_at, records=lines, hint=ROLLOVER_HINT)


@router.get("/api/v1/generate/mta-sts", response_model=TextRecords)
async def generate_mta_sts(
    domain: str,
    web: Service,
    mode: Literal["enforce", "testing", "none"] = "testing",
    max_age: Annotated[int, Query(ge=0, le=31_557_600)] = MTA_STS_MAX_AGE_DEFAULT_SECONDS,
) -> TextRecords:
    """The ``_mta-sts`` TXT record and the policy file, covering the domain's MX hosts."""
    name = domain_request(domain, False, None).target
    records = await mta_sts_for(name, web.runtime, mode=MtaStsMode(mode), max_age=max_age)
    if not records.mx_hosts and mode != "none":
        raise HTTPException(422, f"{name} has no MX hosts to cover")
    return TextRecords(
        domain=name,
        dns=[records.txt],
        policy=records.policy,
        policy_url=f"https://mta-sts.{name}/.well-known/mta-sts.txt",
    )


@router.get("/api/v1/generate/tls-rpt", response_model=TextRecords)
async def generate_tls_rpt(
    web: Service,
    rua: Annotated[list[str], Query(min_length=1, max_length=5)],
    domain: str | None = None,
) -> TextRecords:
    """The ``_smtp._tls`` TXT record (RFC 8460) for the given report addresses."""
    name = domain_request(domain, False, None).target if domain else None
    try:
        return TextRecords(domain=name, dns=[tls_rpt_record(name, rua)])
    except TlsRptSyntaxError as exc:
        raise HTTPException(422, str(exc)) from None


@router.post("/tlsrpt", response_model=TlsRptReceived, status_code=201)
async def receive_tlsrpt(request: Request, web: Service) -> TlsRptReceived:
    """An HTTPS ``rua`` endpoint (RFC 8460 §5.3.1): gzip or JSON, bounded, stored once."""
    body = await request.body()  # bounded by the gate (max_tlsrpt_bytes)
    kind = request.headers.get("content-type", "")
    client = web.limiter.client(request)
    try:
        done = await web.store.run(
            lambda s: tlsrpt_store.ingest_bytes(
                s, body, source=f"POST /tlsrpt from {client}", content_type=kind
            )
        )
    except TlsRptError as exc:
        raise HTTPException(400, f"not a TLS-RPT report: {exc}") from None
    web.metrics.monitor.set_tlsrpt(await web.store.run(tlsrpt_store.totals))
    return TlsRptReceived(
        reports=len(done),
        stored=sum(1 for d in done if d.stored),
        failures=sum(d.failures for d in done),
    )


@router.get("/healthz")
async def healthz(web: Service) -> dict[str, Any]:
    """Alive, and how busy."""
    return {
        "status": "stopping" if web.checks.closing else "ok",
        "queued": web.checks.queued,
        "running": web.checks.running,
        "public_only": not web.settings.allow_private,
    }


@router.get("/metrics", response_class=Response)
async def metrics(web: Service) -> Response:
    """Prometheus text format: the monitor's series, request counts, check latency."""
    return Response(generate_latest(web.metrics.registry), media_type=CONTENT_TYPE_LATEST)
