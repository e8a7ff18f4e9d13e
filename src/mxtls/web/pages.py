"""The HTML pages: the domain box, the progress and result page, history, explanations.

Server-rendered with Jinja2 (autoescaping on: every value from DNS or a
server is escaped), styled by the report's own stylesheet plus a small page
stylesheet, and working without JavaScript: the form posts, the waiting page
reloads itself (``<noscript><meta http-equiv=refresh>``), and the result is
plain HTML.  With JavaScript (``/static/app.js``, the only script, served
by the application: no inline script, no CDN) the waiting page follows the
check's server-sent events and shows each step as it happens.
"""

from __future__ import annotations

from importlib import resources
from typing import Any
from urllib.parse import parse_qs

from fastapi import APIRouter, HTTPException, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse

from mxtls.models.report import Report
from mxtls.render.badge import render_badge
from mxtls.render.hints import finding_help
from mxtls.render.view import build_view
from mxtls.store import history
from mxtls.store.webchecks import StoredCheck
from mxtls.web.api import (
    domain_request,
    find,
    progress_line,
    read_history,
    require_check_quota,
    submit,
)
from mxtls.web.jobs import Job
from mxtls.web.service import Service, WebService

router = APIRouter(include_in_schema=False)

STATIC = {
    "app.js": ("mxtls.web", "static/app.js", "text/javascript; charset=utf-8"),
    "web.css": ("mxtls.web", "static/web.css", "text/css; charset=utf-8"),
    "report.css": ("mxtls.render", "templates/report.css", "text/css; charset=utf-8"),
}
MAX_FORM_FIELDS = 8
EXPLAIN_BASE = "/explain/"


def page(web: WebService, template: str, code: int = 200, **context: Any) -> HTMLResponse:
    """Render ``template`` with ``context`` (every value escaped)."""
    html = web.templates.get_template(template).render(
        public=not web.settings.allow_private, **context
    )
    return HTMLResponse(html, status_code=code)


@router.get("/", response_class=HTMLResponse)
async def index(web: Service) -> HTMLResponse:
    """The domain box."""
    return page(web, "index.html", domain="", error=None)


@router.post("/check", response_class=HTMLResponse)
async def check_form(request: Request, web: Service) -> Response:
    """The form's post: queue the check and go to its page (303), or say what was wrong."""
    body = await request.body()  # bounded by the gate
    fields = parse_qs(body.decode("utf-8", "replace"), max_num_fields=MAX_FORM_FIELDS)
    domain = (fields.get("domain") or [""])[0].strip()
    deep = (fields.get("deep") or [""])[0] == "on"
    try:
        job_request = domain_request(domain, deep, None)
        require_check_quota(request, web)
        job = await submit(web, job_request)
    except HTTPException as exc:
        response = page(web, "index.html", exc.status_code, domain=domain[:300], error=exc.detail)
        if exc.headers:
            response.headers.update(exc.headers)
        return response
    return RedirectResponse(f"/check/{job.id}", status_code=303)


@router.get("/check/{check_id}.json")
async def check_json(check_id: str, web: Service) -> Response:
    """The ``mxtls/1`` document of a finished check, as a download."""
    found = await find(web, check_id)
    if found.report is None:
        raise HTTPException(404, "this check has no result (yet)")
    name = f"mxtls-{found.report.domain}-{check_id}.json".replace("/", "_")
    return Response(
        found.report.model_dump_json(by_alias=True, indent=2) + "\n",
        media_type="application/json",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@router.get("/check/{check_id}", response_class=HTMLResponse)
async def check_page(check_id: str, web: Service) -> HTMLResponse:
    """The permalink: progress while the check runs, then its result."""
    try:
        found = await find(web, check_id)
    except HTTPException:
        return page(web, "error.html", 404, title="No such check", message="No check has this id.")
    if found.report is not None:
        return result_page(web, found, found.report)
    if found.status == "error":
        return page(
            web,
            "error.html",
            200,
            title=f"The check of {found_target(found)} failed",
            message=found.error or "the check failed",
        )
    events = [progress_line(e) for e in found.events] if isinstance(found, Job) else []
    return page(
        web,
        "waiting.html",
        check_id=found.id,
        target=found_target(found),
        status=found.status,
        events=events,
        refresh=web.settings.refresh_s,
    )


def found_target(found: Job | StoredCheck) -> str:
    """What the check is of."""
    return found.request.target if isinstance(found, Job) else found.target


def result_page(web: WebService, found: Job | StoredCheck, report: Report) -> HTMLResponse:
    """A finished check: verdicts first, then hosts, policies and findings."""
    return page(
        web,
        "result.html",
        view=build_view(report),
        check_id=found.id,
        kind=report.kind,
        explain_base=EXPLAIN_BASE,
    )


@router.get("/domain/{domain}", response_class=HTMLResponse)
async def domain_page(domain: str, web: Service) -> HTMLResponse:
    """A domain's history (web checks and monitor rounds) and its newest report."""
    try:
        name = domain_request(domain, False, None).target
    except HTTPException as exc:
        return page(web, "error.html", 404, title="Not a domain", message=str(exc.detail))
    data = await web.store.run(lambda s: read_history(s, name, 50))
    report = await web.store.run(lambda s: history.latest_report(s, name))
    return page(
        web,
        "domain.html",
        domain=name,
        history=data,
        view=build_view(report) if report is not None else None,
        explain_base=EXPLAIN_BASE,
    )


@router.get("/badge/{domain}.svg")
async def badge(domain: str, web: Service) -> Response:
    """The grade badge of a domain's newest stored check."""
    name = domain_request(domain, False, None).target
    report = await web.store.run(lambda s: history.latest_report(s, name))
    if report is None:
        raise HTTPException(404, f"no stored check of {name}")
    return Response(
        render_badge(report),
        media_type="image/svg+xml",
        headers={"Cache-Control": "max-age=300"},
    )


@router.get("/explain/{code}", response_class=HTMLResponse)
async def explain_page(code: str, web: Service) -> HTMLResponse:
    """What a finding code means, why it matters, how to fix it, the standards."""
    found = finding_help(code[:64])
    if found.explanation is None and found.summary == f"finding {code[:64]}":
        return page(
            web, "error.html", 404, title="Unknown code", message=f"No finding {code[:64]}."
        )
    return page(web, "explain.html", help=found)


@router.get("/static/{name}")
async def static(name: str) -> Response:
    """The page's own script and stylesheets (nothing from elsewhere)."""
    entry = STATIC.get(name)
    if entry is None:
        raise HTTPException(404, "not found")
    package, path, media = entry
    data = resources.files(package).joinpath(path).read_bytes()
    return Response(data, media_type=media, headers={"Cache-Control": "max-age=3600"})
