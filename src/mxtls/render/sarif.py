"""SARIF 2.1.0 for code-scanning dashboards: rules are finding codes, results are findings.

One run of the tool ``mxtls``; each rule is a finding code with its
one-line definition and help text (what to do), each result a finding.  A
result on a hosted provider's host (Google Workspace …) carries the
provider and its hint in ``properties`` (``provider``, ``hint``): there the
rule's Postfix-minded help does not apply.
Findings concern mail domains, not files: a result's physical location is
the domain's name (a named server's host name) as a relative URI, which
dashboards that accept only repository paths take; its logical location is
the finding's target; and
``partialFingerprints`` identify a (domain, code, target) across runs, so a
dashboard tracks one problem as one alert.  Each report's grade, with the
rules that capped it, is in ``run.properties.mxtls``.

``security-severity`` (a 0–10 number GitHub uses to rank security alerts)
follows the finding's severity: error 7.5, warning 5.0, info 2.0.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from typing import Any
from urllib.parse import quote

from mxtls._version import __version__
from mxtls.checks.codes import CODES
from mxtls.models.findings import Finding, Severity
from mxtls.models.report import Report
from mxtls.render.hints import finding_help, hint_for, provider_of

SARIF_SCHEMA = (
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
)
SARIF_VERSION = "2.1.0"
LEVEL = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "note"}
SECURITY_SEVERITY = {Severity.ERROR: "7.5", Severity.WARNING: "5.0", Severity.INFO: "2.0"}
FINGERPRINT = "mxtlsFinding/v1"


def rule_name(code: str) -> str:
    """``cert.expired`` -> ``CertExpired`` (SARIF's ``name``: an identifier for people)."""
    return "".join(part.capitalize() for part in code.replace(".", "_").split("_"))


def _rule(code: str, severity: Severity) -> dict[str, Any]:
    help_ = finding_help(code)
    info = CODES.get(code)
    sev = info.severity if info is not None else severity
    full = help_.explanation.meaning if help_.explanation is not None else help_.text
    return {
        "id": code,
        "name": rule_name(code),
        "shortDescription": {"text": help_.summary},
        "fullDescription": {"text": full},
        "help": {"text": help_.text, "markdown": help_.markdown()},
        "defaultConfiguration": {"level": LEVEL[sev]},
        "properties": {
            "tags": ["security", "mail", "tls", *([help_.section] if help_.section else [])],
            "security-severity": SECURITY_SEVERITY[sev],
        },
    }


def _fingerprint(domain: str, f: Finding) -> str:
    return hashlib.sha256(f"{domain}\n{f.code}\n{f.target}".encode()).hexdigest()


def artifact_uri(report: Report, f: Finding) -> str:
    """The result's "file": the domain, or for named servers the host the finding is about.

    A relative URI of one segment, percent-encoded (an IPv6 literal's colons
    too, so it never reads as a scheme).
    """
    name = report.domain if report.kind == "domain" else f.target.split("[", 1)[0]
    return quote(name, safe=".-_~")


def _result(report: Report, f: Finding, index: int) -> dict[str, Any]:
    return {
        "ruleId": f.code,
        "ruleIndex": index,
        "level": LEVEL[f.severity],
        "kind": "fail",
        "message": {"text": f.message},
        "locations": [
            {
                "physicalLocation": {"artifactLocation": {"uri": artifact_uri(report, f)}},
                "logicalLocations": [
                    {
                        "name": f.target,
                        "fullyQualifiedName": f"{report.domain}/{f.target}",
                        "kind": "resource",
                    }
                ],
            }
        ],
        "partialFingerprints": {FINGERPRINT: _fingerprint(report.domain, f)},
        "properties": _properties(report, f),
    }


def _properties(report: Report, f: Finding) -> dict[str, Any]:
    """The finding's domain, target and severity; on a hosted provider's host, the
    provider and its hint (the rule's help is the catalog's, for every host)."""
    properties: dict[str, Any] = {
        "domain": report.domain,
        "target": f.target,
        "severity": f.severity.value,
    }
    provider = provider_of([f.target])
    if provider is not None:
        properties["provider"] = provider.name
        properties["hint"] = hint_for(f.code, [f.target])
    return properties


def _summary(report: Report) -> dict[str, Any]:
    grade = report.grade
    return {
        "domain": report.domain,
        "checkedAt": report.checked_at.isoformat().replace("+00:00", "Z"),
        "grade": grade.letter if grade else None,
        "gradeMethod": grade.method if grade else None,
        "cappedBy": [r.model_dump() for r in grade.capped_by] if grade else [],
        "raisedBy": [r.model_dump() for r in grade.raised_by] if grade else [],
    }


def sarif_log(reports: Sequence[Report]) -> dict[str, Any]:
    """The SARIF log (a dict ready for ``json.dumps``) of one or more reports."""
    severities: dict[str, Severity] = {}
    for report in reports:
        for f in report.findings:
            severities.setdefault(f.code, f.severity)
    codes = sorted(severities)
    index = {code: i for i, code in enumerate(codes)}
    results = [_result(r, f, index[f.code]) for r in reports for f in r.findings]
    invocations = [
        {
            "executionSuccessful": not any(r.internal_errors for r in reports),
            "toolExecutionNotifications": [
                {"level": "error", "message": {"text": line.splitlines()[0]}}
                for r in reports
                for line in r.internal_errors
                if line
            ],
        }
    ]
    run: dict[str, Any] = {
        "tool": {
            "driver": {
                "name": "mxtls",
                "version": __version__,
                "semanticVersion": __version__,
                "rules": [_rule(code, severities[code]) for code in codes],
            }
        },
        "automationDetails": {
            "id": f"mxtls/{reports[0].domain}/" if len(reports) == 1 else "mxtls/"
        },
        "invocations": invocations,
        "results": results,
        "properties": {"mxtls": {"schema": "mxtls/1", "reports": [_summary(r) for r in reports]}},
    }
    return {"$schema": SARIF_SCHEMA, "version": SARIF_VERSION, "runs": [run]}


def render_sarif(reports: Report | Sequence[Report]) -> str:
    """SARIF 2.1.0 JSON text of one or more reports."""
    many = [reports] if isinstance(reports, Report) else list(reports)
    return json.dumps(sarif_log(many), indent=2, ensure_ascii=False) + "\n"
