"""Alert dispatch: the round's events → webhook payloads and e-mails → delivery log rows.

Webhooks get one payload per event type (``event`` names it, ``changes``
lists that type's events of the round), filtered by the hook's ``events``;
each e-mail channel gets one message per domain and round.  Every attempt
ends in a :class:`~mxtls.store.models.DeliveryRow` for the delivery log.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import httpx

from mxtls.models.report import Report
from mxtls.monitor import email as email_alerts
from mxtls.monitor.config import EmailSpec, WebhookSpec
from mxtls.monitor.diff import Event, verdict_state
from mxtls.monitor.webhook import BACKOFF_BASE_S, DeliveryResult, Sleep, deliver
from mxtls.store.models import DeliveryRow

log = logging.getLogger("mxtls.monitor")


def report_summary(report: Report | None) -> dict[str, Any] | None:
    """The ``report`` member of a payload: counts and verdicts, not the whole document."""
    if report is None:
        return None
    worst = report.worst()
    return {
        "schema": "mxtls/1",
        "domain": report.domain,
        "checked_at": report.checked_at.isoformat(),
        "duration_ms": report.duration_ms,
        "errors": report.summary.errors,
        "warnings": report.summary.warnings,
        "infos": report.summary.infos,
        "worst": worst.value if worst else None,
        "verdict": {v.sender: verdict_state(v) for v in report.verdict.senders},
    }


def build_payloads(
    domain: str, checked_at: datetime, events: Sequence[Event], report: Report | None
) -> list[dict[str, Any]]:
    """One payload per event type present, in the order of first appearance."""
    by_type: dict[str, list[dict[str, Any]]] = {}
    for e in events:
        by_type.setdefault(e.type, []).append(e.model_dump(mode="json"))
    summary = report_summary(report)
    return [
        {
            "event": kind,
            "domain": domain,
            "checked_at": checked_at.astimezone(UTC).isoformat(),
            "changes": changes,
            "report": summary,
        }
        for kind, changes in by_type.items()
    ]


class Alerter:
    """The configured channels, with one HTTP client for every webhook."""

    def __init__(
        self,
        webhooks: Sequence[WebhookSpec] = (),
        emails: Sequence[EmailSpec] = (),
        *,
        backoff_base: float = BACKOFF_BASE_S,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self.webhooks = tuple(webhooks)
        self.emails = tuple(emails)
        self.backoff_base = backoff_base
        self.sleep = sleep
        self._client: httpx.AsyncClient | None = None

    @property
    def configured(self) -> bool:
        """True when at least one channel exists."""
        return bool(self.webhooks or self.emails)

    async def send(self, domain: str, payloads: list[dict[str, Any]]) -> list[DeliveryRow]:
        """Deliver the round's payloads of ``domain`` on every channel; log every outcome."""
        if not payloads:
            return []
        jobs: list[tuple[str, str, str, asyncio.Task[DeliveryResult]]] = []
        async with asyncio.TaskGroup() as tg:
            for hook in self.webhooks:
                for p in payloads:
                    if hook.events is None or p["event"] in hook.events:
                        task = tg.create_task(
                            deliver(
                                self.client(),
                                hook,
                                p,
                                backoff_base=self.backoff_base,
                                sleep=self.sleep,
                            )
                        )
                        jobs.append(("webhook", hook.label, p["event"], task))
            for spec in self.emails:
                chosen = [p for p in payloads if spec.events is None or p["event"] in spec.events]
                if chosen:
                    message = email_alerts.compose(spec, domain, chosen)
                    task = tg.create_task(email_alerts.send(spec, message))
                    kinds = ",".join(p["event"] for p in chosen)
                    jobs.append(("email", ", ".join(spec.to), kinds, task))
        rows = []
        now = datetime.now(UTC)
        for channel, destination, kind, task in jobs:
            result = task.result()
            if not result.delivered:
                log.warning(
                    "%s: %s alert to %s failed after %d attempt(s): %s",
                    domain,
                    channel,
                    destination,
                    result.attempts,
                    result.error,
                )
            rows.append(
                DeliveryRow(
                    created_at=now,
                    channel=channel,
                    destination=destination,
                    domain=domain,
                    event_type=kind[:200],
                    delivery_id=result.delivery_id[:64],
                    attempts=result.attempts,
                    status="delivered" if result.delivered else "failed",
                    http_status=result.http_status,
                    last_error=result.error,
                )
            )
        return rows

    def client(self) -> httpx.AsyncClient:
        """The shared HTTP client (no redirects: a hook that moved must be reconfigured)."""
        if self._client is None:
            self._client = httpx.AsyncClient(follow_redirects=False, trust_env=False)
        return self._client

    async def aclose(self) -> None:
        """Close the HTTP client."""
        if self._client is not None:
            await self._client.aclose()
            self._client = None
