"""The pipeline after planning: observe → derive → judge → report, for planned targets.

Shared by every entry point (:func:`mxtls.engine.run.check_domain`,
:func:`mxtls.engine.servers.check_servers`): each plans its targets its own
way, then hands them here.  The judging step is the one boundary where a bug
in a check becomes an internal error in the report instead of losing the
observations.
"""

from __future__ import annotations

import time
import traceback

from mxtls.checks.judge import judge
from mxtls.engine.derive import derive
from mxtls.engine.observe import CheckKind, observe_check
from mxtls.engine.plan import Target
from mxtls.engine.report import build_report
from mxtls.engine.runtime import Check
from mxtls.models.findings import Finding
from mxtls.models.observations import DnsAnswer
from mxtls.models.report import Report
from mxtls.models.verdict import DeliveryVerdict


async def run_planned(
    check: Check,
    kind: CheckKind,
    raw: str,
    name: str,
    mx: DnsAnswer,
    null_mx: bool,
    planned: list[Target],
) -> Report:
    """Observe the planned hosts (and the domain's policies), derive, judge, report."""
    observed = await observe_check(
        check, kind=kind, raw=raw, name=name, mx=mx, null_mx=null_mx, planned=planned
    )
    judged_at = time.perf_counter()
    observations = derive(observed, check.now, check.runtime.trust)
    findings: list[Finding] = []
    verdict = DeliveryVerdict()
    problems: list[str] = []
    try:
        findings, verdict = judge(
            observations,
            now=check.now,
            warn_days=check.config.warn_days,
            trust=check.runtime.trust,
        )
    except Exception:  # boundary: a bug in a check must not lose the observations
        problems.append("checks: " + traceback.format_exc(limit=8))
    return build_report(
        check,
        observed,
        observations,
        findings,
        verdict,
        internal_errors=problems,
        judged_at=judged_at,
    )
