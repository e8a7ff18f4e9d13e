"""JUnit XML for CI systems: one test case per check area per target.

A report becomes a ``<testsuite>``: each target (the domain, each MX host,
each endpoint) gets one test case per check area that applies to it
(``smtp``, ``starttls``, ``tls``, ``certificate`` on an endpoint; ``dns``,
``dane`` on a host; ``mx``, ``mta-sts``, ``tls-rpt``, ``dnssec``,
``delivery`` on the domain) plus any area a finding names.  A case fails
when a finding at or above ``--fail-on`` concerns it, is skipped when the
area could not be tested (no TLS session to judge), and passes otherwise.
Internal errors are ``<error>`` cases.  The grade and its capping rules are
suite properties.  The document follows the Ant JUnit schema that CI
systems read (validated against its XSD in the tests).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Sequence

from mxtls._version import __version__
from mxtls.models.findings import Finding, Severity, endpoint_target
from mxtls.models.observations import EndpointObservation
from mxtls.models.report import Report
from mxtls.render.hints import hint_for
from mxtls.render.safe_text import xml_text

# Finding-code prefix -> check area (the name of the test case).
AREA_OF_PREFIX = {
    "dns": "dns",
    "ptr": "dns",
    "submission": "dns",
    "mx": "mx",
    "smtp": "smtp",
    "auth": "smtp",
    "starttls": "starttls",
    "tls": "tls",
    "vuln": "tls",
    "cert": "certificate",
    "mta_sts": "mta-sts",
    "tls_rpt": "tls-rpt",
    "dnssec": "dnssec",
    "dane": "dane",
    "delivery": "delivery",
}
DOMAIN_AREAS = ("mx", "mta-sts", "tls-rpt", "dnssec", "delivery")
HOST_AREAS = ("dns",)
TLS_AREAS = ("tls", "certificate")


def area_of(code: str) -> str:
    """The check area a finding code belongs to (its prefix when unknown)."""
    prefix = code.split(".", 1)[0]
    return AREA_OF_PREFIX.get(prefix, prefix)


def _cases(report: Report) -> dict[tuple[str, str], str | None]:
    """(target, area) -> None (tested) or why it was not tested, in display order."""
    cases: dict[tuple[str, str], str | None] = {}
    if report.kind == "domain":
        for area in DOMAIN_AREAS if not report.null_mx else ("mx",):
            cases[(report.domain, area)] = None
    tlsa_hosts = {lk.host for lk in report.dane.lookups} if report.dane else set()
    dnssec_names = {r.qname for r in report.dnssec}
    for host in report.hosts:
        for area in HOST_AREAS:
            cases[(host.name, area)] = None
        if host.name in dnssec_names:
            cases[(host.name, "dnssec")] = None
        if host.name in tlsa_hosts:
            cases[(host.name, "dane")] = None
        for ep in host.endpoints:
            target = endpoint_target(ep.host, ep.ip, ep.port)
            cases[(target, "smtp")] = None
            if ep.tls_mode == "starttls":
                cases[(target, "starttls")] = _untested_starttls(ep)
            for area in TLS_AREAS:
                cases[(target, area)] = None if ep.handshake is not None else "no TLS session"
    for f in report.findings:
        cases[(f.target, area_of(f.code))] = None
    return cases


def _untested_starttls(ep: EndpointObservation) -> str | None:
    return None if ep.ehlo is not None or ep.ehlo_rejected is not None else "no SMTP session"


def _endpoint_times(report: Report) -> dict[str, float]:
    return {
        endpoint_target(ep.host, ep.ip, ep.port): ep.timings_ms.get("total", 0.0) / 1000
        for host in report.hosts
        for ep in host.endpoints
    }


def _failure_text(findings: Sequence[Finding]) -> str:
    lines = []
    for f in findings:
        lines.append(f"{f.severity.value} {f.code}: {f.message}")
        hint = hint_for(f.code, [f.target])
        if hint:
            lines.append(f"  what to do: {hint}")
    return "\n".join(lines)


def _sub(parent: ET.Element, tag: str, attrs: dict[str, str] | None = None) -> ET.Element:
    return ET.SubElement(parent, tag, {k: xml_text(v) for k, v in (attrs or {}).items()})


def testsuite(report: Report, fail_on: Severity, index: int = 0) -> ET.Element:
    """The ``<testsuite>`` of one report."""
    by_case: dict[tuple[str, str], list[Finding]] = {}
    for f in report.findings:
        by_case.setdefault((f.target, area_of(f.code)), []).append(f)
    times = _endpoint_times(report)
    suite = ET.Element("testsuite")
    props = _sub(suite, "properties")
    grade = report.grade
    properties = {
        "mxtls.version": __version__,
        "mxtls.schema": "mxtls/1",
        "mxtls.fail_on": fail_on.value,
        "mxtls.grade": grade.letter if grade else "none",
    }
    if grade is not None:
        properties["mxtls.grade.method"] = grade.method
        for reason in grade.capped_by:
            properties[f"mxtls.grade.capped_by.{reason.rule}"] = (
                f"{reason.grade}: {', '.join(reason.because)}"
            )
    for name, value in properties.items():
        _sub(props, "property", {"name": name, "value": value})
    failures = skipped = errors = 0
    quiet: list[Finding] = []
    for (target, area), untested in _cases(report).items():
        case = _sub(
            suite,
            "testcase",
            {"name": area, "classname": target, "time": f"{times.get(target, 0.0):.3f}"},
        )
        found = by_case.get((target, area), [])
        failing = [f for f in found if f.severity.at_least(fail_on)]
        if failing:
            failures += 1
            first = failing[0]
            failure = _sub(case, "failure", {"message": first.message, "type": first.code})
            failure.text = xml_text(_failure_text(found))
        elif untested is not None and not found:
            skipped += 1
            _sub(case, "skipped", {"message": f"not tested: {untested}"})
        quiet.extend(f for f in found if not f.severity.at_least(fail_on))
    for i, line in enumerate(report.internal_errors):
        errors += 1
        case = _sub(suite, "testcase", {"name": f"internal-{i}", "classname": report.domain})
        case.set("time", "0")
        err = _sub(case, "error", {"message": line.splitlines()[0], "type": "internal"})
        err.text = xml_text(line)
    out = _sub(suite, "system-out")
    out.text = xml_text(_failure_text(quiet)) if quiet else ""
    _sub(suite, "system-err").text = ""
    suite.attrib.update(
        {
            "name": xml_text(f"mxtls {report.domain}"),
            "package": "mxtls",
            "id": str(index),
            "timestamp": report.checked_at.strftime("%Y-%m-%dT%H:%M:%S"),
            "hostname": xml_text(report.settings.ehlo_name or "localhost"),
            "tests": str(len(suite.findall("testcase"))),
            "failures": str(failures),
            "errors": str(errors),
            "skipped": str(skipped),
            "time": f"{report.duration_ms / 1000:.3f}",
        }
    )
    return suite


def render_junit(reports: Report | Sequence[Report], fail_on: Severity = Severity.ERROR) -> str:
    """One ``<testsuites>`` document holding one suite per report."""
    many = [reports] if isinstance(reports, Report) else list(reports)
    root = ET.Element("testsuites")
    for i, report in enumerate(many):
        root.append(testsuite(report, fail_on, i))
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
