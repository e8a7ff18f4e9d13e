"""What the web application's routes share: built once when the server starts.

:class:`WebService` holds the one :class:`~mxtls.engine.runtime.Runtime`
(every visitor's check shares its resolver cache, trust store, connection
slots per address and address policy), the history store, the check queue,
the limits, the metrics and the templates.  The application factory
(:func:`mxtls.web.app.create_app`) builds it in its lifespan and routes get
it by dependency injection (:func:`web_service`); nothing lives in module
globals, so two applications in one process (tests) never share state.
"""

from __future__ import annotations

import dataclasses
from collections import OrderedDict
from typing import Annotated

from fastapi import Depends, Request
from jinja2 import Environment, PackageLoader
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from mxtls.config import CheckConfig
from mxtls.engine.progress import ProgressCallback
from mxtls.engine.run import check_domain
from mxtls.engine.runtime import Runtime
from mxtls.engine.servers import check_servers
from mxtls.models.report import Report
from mxtls.monitor.metrics import MonitorMetrics
from mxtls.net.guard import public_only
from mxtls.render.html import make_environment
from mxtls.store.db import Store
from mxtls.web.jobs import CheckService, Job
from mxtls.web.limits import Limiter
from mxtls.web.settings import WebSettings

METRICS_MAX_DOMAINS = 1000  # domains with series at once (visitors choose them: bound it)
LATENCY_BUCKETS = (0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300)


class WebMetrics:
    """``/metrics``: the monitor's collector plus the service's own counters.

    The monitor's per-domain series come from the reports of web checks;
    visitors pick the domains, so only the :data:`METRICS_MAX_DOMAINS` most
    recently checked keep their series.
    """

    def __init__(self) -> None:
        self.monitor = MonitorMetrics()
        self.registry: CollectorRegistry = self.monitor.registry()
        self.requests = Counter(
            "mxtls_http_requests",
            "HTTP requests answered, by route template, method and status",
            ["route", "method", "status"],
            registry=self.registry,
        )
        self.check_latency = Histogram(
            "mxtls_web_check_duration_seconds",
            "Time a web check ran (queue time excluded)",
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.refused = Counter(
            "mxtls_web_refused",
            "Requests refused by a limit, by reason",
            ["reason"],
            registry=self.registry,
        )
        self.queued = Gauge("mxtls_web_checks_queued", "Checks waiting", registry=self.registry)
        self.running = Gauge("mxtls_web_checks_running", "Checks running", registry=self.registry)
        self._domains: OrderedDict[str, None] = OrderedDict()

    def observe(self, report: Report, elapsed_s: float) -> None:
        """A finished web check."""
        self.check_latency.observe(elapsed_s)
        self.monitor.observe(report)
        self._domains.pop(report.domain, None)
        self._domains[report.domain] = None
        if len(self._domains) > METRICS_MAX_DOMAINS:
            while len(self._domains) > METRICS_MAX_DOMAINS:
                self._domains.popitem(last=False)
            self.monitor.forget(self._domains)

    def track(self, checks: CheckService) -> None:
        """Read the queue's gauges from ``checks`` on every scrape."""
        self.queued.set_function(lambda: float(checks.queued))
        self.running.set_function(lambda: float(checks.running))


class WebService:
    """The runtime, store, queue, limits, metrics and templates of one application."""

    def __init__(self, settings: WebSettings, config: CheckConfig, store: Store) -> None:
        if not settings.allow_private:
            policy = public_only(config.port_map, settings.also_public)
            config = dataclasses.replace(config, address_policy=policy)
        self.settings = settings
        self.runtime = Runtime(config)
        self.store = store
        self.metrics = WebMetrics()
        self.limiter = Limiter(settings)
        self.templates: Environment = make_environment(PackageLoader("mxtls.web", "templates"))
        self.checks = CheckService(
            store,
            self.run_check,
            max_queue=settings.max_queue,
            max_running=settings.max_running,
            cooldown_s=settings.cooldown_s,
            check_timeout_s=settings.check_timeout_s,
            on_report=self.metrics.observe,
        )
        self.metrics.track(self.checks)
        self.streams = 0

    async def run_check(self, job: Job, progress: ProgressCallback) -> Report:
        """Run one job's check through the shared runtime.

        Raises:
            InvalidDomain: the target turned out unusable.
            ConfigError: an unusable port list.
        """
        request = job.request
        if request.kind == "domain":
            return await check_domain(
                request.target,
                self.runtime,
                ports=request.ports,
                deep=request.deep,
                progress=progress,
            )
        return await check_servers(
            list(request.servers),
            self.runtime,
            ports=request.ports,
            deep=request.deep,
            progress=progress,
        )


def web_service(request: Request) -> WebService:
    """The application's service (a FastAPI dependency)."""
    service: WebService = request.app.state.web
    return service


Service = Annotated[WebService, Depends(web_service)]
