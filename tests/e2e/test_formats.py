"""Every report format, produced for broken lab domains and read back by a real parser.

HTML by html5lib in strict mode, Markdown by markdown-it (CommonMark with
tables), CSV by the csv module, JUnit against the Ant JUnit XSD with lxml,
SARIF against the OASIS SARIF 2.1.0 JSON Schema with jsonschema, JSON
against mxtls's own published schema, the badge by lxml.  Beyond validity,
each test checks that the content a reader needs is there.
"""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path
from typing import Any

import html5lib
import jsonschema
import pytest
from lxml import etree
from markdown_it import MarkdownIt

from mxtls.models.findings import Severity
from mxtls.models.report import Report
from mxtls.render.badge import render_badge
from mxtls.render.csv import COLUMNS, FindingsCsvWriter, render_csv
from mxtls.render.html import render_html
from mxtls.render.json import render_json
from mxtls.render.junit import area_of, render_junit
from mxtls.render.markdown import render_markdown
from mxtls.render.sarif import render_sarif

ROOT = Path(__file__).resolve().parents[2]
SCHEMAS = ROOT / "tests" / "schemas"
# A domain per kind of trouble: broken policy + expired certificate (D), no
# STARTTLS (F), no MX answer at all (F, no hosts), null MX (no grade), and
# the fully protected domain (A+) for contrast.
DOMAINS = ["sts-enforce-broken.lab", "nostarttls.lab", "dnsrefused.lab", "nullmx.lab", "secure.lab"]
BROKEN = "sts-enforce-broken.lab"
SVG_NS = "{http://www.w3.org/2000/svg}"


@pytest.fixture(scope="module")
def junit_schema() -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(SCHEMAS / "JUnit.xsd")))


@pytest.fixture(scope="module")
def sarif_validator() -> jsonschema.protocols.Validator:
    schema = json.loads((SCHEMAS / "sarif-schema-2.1.0.json").read_text(encoding="utf-8"))
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)


def _letter(report: Report) -> str | None:
    return report.grade.letter if report.grade else None


# --------------------------------------------------------------------- HTML


def _text(node: Any) -> str:
    return "".join(node.itertext())


@pytest.mark.parametrize("domain", DOMAINS)
def test_html_is_valid_self_contained_and_complete(
    domain: str, lab_reports: dict[str, Report]
) -> None:
    report = lab_reports[domain]
    doc = render_html(report)
    tree = html5lib.HTMLParser(strict=True, namespaceHTMLElements=False).parse(doc)
    # Self-contained and inert: no script, no external resource of any kind.
    assert tree.get("lang") == "en"
    tags = {el.tag for el in tree.iter() if isinstance(el.tag, str)}
    assert not tags & {"script", "iframe", "object", "embed", "link", "img", "base", "form"}
    for el in tree.iter():
        for name, value in el.attrib.items():
            assert not name.startswith("on"), (el.tag, name)
            assert name not in ("src", "href", "action") or value.startswith("#"), (el.tag, value)
    style = "".join(_text(s) for s in tree.iter("style"))
    assert "url(" not in style and "@import" not in style
    text = _text(tree)
    assert domain in _text(tree.find(".//title"))
    # The grade, as a letter and the rules behind it.
    letter = _letter(report)
    if letter is None:
        assert "No grade" in text
    else:
        assert _text(tree.find(".//p[@class='letter']")) == letter
        for cap in report.grade.capped_by if report.grade else []:
            assert cap.rule in text
    # Verdicts, hosts, endpoints, certificates with expiry, findings: all shown,
    # each severity in words (not in colour alone).
    for sender in report.verdict.senders:
        assert sender.summary in text
    for host in report.hosts:
        assert host.name in text
        for ep in host.endpoints:
            assert f"{ep.ip}:{ep.port}" in text
    for f in report.findings:
        assert f.code in text and f.message in text
    items = [li for li in tree.iter("li") if "finding" in li.get("class", "")]
    assert len(items) == len(report.findings)
    for li, f in zip(items, report.findings, strict=True):
        assert f.severity.value.upper() in _text(li)
    if domain == BROKEN:
        assert "expired 1 day ago" in text or "days ago" in text
        assert "REFUSES" in text  # the MTA-STS sender's outcome, in words
        assert report.mta_sts is not None and f"mode {report.mta_sts.mode}" in text


# ----------------------------------------------------------------- Markdown


@pytest.mark.parametrize("domain", DOMAINS)
def test_markdown_parses_without_raw_html(domain: str, lab_reports: dict[str, Report]) -> None:
    report = lab_reports[domain]
    text = render_markdown(report)
    parser = MarkdownIt("commonmark").enable("table")
    tokens = parser.parse(text)
    kinds = {t.type for t in tokens}
    assert not kinds & {"html_block", "html_inline"}
    inline = " ".join(
        child.content for t in tokens if t.children for child in t.children if child.content
    )
    headings = [tokens[i + 1].content for i, t in enumerate(tokens) if t.type == "heading_open"]
    assert domain in headings[0]
    assert "Findings" in headings
    for f in report.findings:
        assert f.code in inline
    if report.verdict.senders:
        assert "table_open" in kinds
    letter = _letter(report)
    assert (f"Grade {letter}" in headings) if letter else ("No grade" in inline)


# ---------------------------------------------------------------------- CSV


@pytest.mark.parametrize("domain", DOMAINS)
def test_csv_one_row_per_finding(domain: str, lab_reports: dict[str, Report]) -> None:
    report = lab_reports[domain]
    text = render_csv(report)
    assert text.endswith("\r\n") and "\n" not in text.replace("\r\n", "")
    rows = list(csv.DictReader(io.StringIO(text, newline="")))
    assert tuple(rows[0]) == COLUMNS
    if not report.findings:
        assert [(r["domain"], r["code"]) for r in rows] == [(domain, "")]
        return
    assert [(r["code"], r["severity"], r["target"], r["message"]) for r in rows] == [
        (f.code, f.severity.value, f.target, f.message) for f in report.findings
    ]
    assert {r["domain"] for r in rows} == {domain}
    assert {r["grade"] for r in rows} == {_letter(report) or ""}


def test_csv_streams_many_domains_under_one_header(lab_reports: dict[str, Report]) -> None:
    buf = io.StringIO(newline="")
    writer = FindingsCsvWriter(buf)
    for report in lab_reports.values():
        writer.write_report(report)
    rows = list(csv.reader(io.StringIO(buf.getvalue(), newline="")))
    assert rows[0] == list(COLUMNS)
    assert sum(1 for r in rows if r == list(COLUMNS)) == 1
    assert len(rows) - 1 == sum(max(1, len(r.findings)) for r in lab_reports.values())
    assert {r[0] for r in rows[1:]} == set(lab_reports)


# -------------------------------------------------------------------- JUnit


@pytest.mark.parametrize("domain", DOMAINS)
@pytest.mark.parametrize("fail_on", [Severity.ERROR, Severity.INFO])
def test_junit_validates_against_the_xsd(
    domain: str, fail_on: Severity, lab_reports: dict[str, Report], junit_schema: etree.XMLSchema
) -> None:
    report = lab_reports[domain]
    doc = etree.fromstring(render_junit(report, fail_on=fail_on).encode())
    junit_schema.assertValid(doc)
    suite = doc.find("testsuite")
    assert suite is not None
    failing = {(f.target, area_of(f.code)) for f in report.findings if f.severity.at_least(fail_on)}
    failed = {(c.get("classname"), c.get("name")) for c in suite.iter("testcase") if len(c)}
    failed -= {
        (c.get("classname"), c.get("name"))
        for c in suite.iter("testcase")
        if c.find("skipped") is not None
    }
    assert failed == failing
    assert int(suite.get("failures", "-1")) == len(failing)
    cases = [(c.get("classname"), c.get("name")) for c in suite.iter("testcase")]
    assert len(cases) == len(set(cases)), "one test case per check area per target"
    props = {p.get("name"): p.get("value") for p in suite.iter("property")}
    assert props["mxtls.grade"] == (_letter(report) or "none")


def test_junit_many_reports_in_one_document(
    lab_reports: dict[str, Report], junit_schema: etree.XMLSchema
) -> None:
    doc = etree.fromstring(render_junit(list(lab_reports.values())).encode())
    junit_schema.assertValid(doc)
    assert len(doc.findall("testsuite")) == len(lab_reports)


# -------------------------------------------------------------------- SARIF


@pytest.mark.parametrize("domain", DOMAINS)
def test_sarif_validates_against_the_schema(
    domain: str, lab_reports: dict[str, Report], sarif_validator: jsonschema.protocols.Validator
) -> None:
    report = lab_reports[domain]
    log = json.loads(render_sarif(report))
    sarif_validator.validate(log)
    run = log["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    assert [r["id"] for r in rules] == sorted({f.code for f in report.findings})
    assert all(r["help"]["text"] and r["shortDescription"]["text"] for r in rules)
    results = run["results"]
    assert len(results) == len(report.findings)
    for result, f in zip(results, report.findings, strict=True):
        assert rules[result["ruleIndex"]]["id"] == result["ruleId"] == f.code
        assert result["message"]["text"] == f.message
        assert result["locations"][0]["logicalLocations"][0]["name"] == f.target
        uri = result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
        assert re.fullmatch(r"[A-Za-z0-9._~%-]+", uri), uri  # a relative URI, nothing to encode
    assert run["properties"]["mxtls"]["reports"][0]["grade"] == _letter(report)


def test_sarif_many_reports_in_one_run(
    lab_reports: dict[str, Report], sarif_validator: jsonschema.protocols.Validator
) -> None:
    log = json.loads(render_sarif(list(lab_reports.values())))
    sarif_validator.validate(log)
    fingerprints = [r["partialFingerprints"]["mxtlsFinding/v1"] for r in log["runs"][0]["results"]]
    keys = {(r.domain, f.code, f.target) for r in lab_reports.values() for f in r.findings}
    assert len(set(fingerprints)) == len(keys)


# --------------------------------------------------------------- JSON, badge


def test_json_carries_the_grade_and_matches_the_published_schema(
    lab_reports: dict[str, Report],
) -> None:
    schema = json.loads((ROOT / "docs" / "schema" / "mxtls-1.json").read_text(encoding="utf-8"))
    validator = jsonschema.Draft202012Validator(schema)
    for domain in DOMAINS:
        doc = json.loads(render_json(lab_reports[domain]))
        validator.validate(doc)
        assert (doc["grade"] or {}).get("letter") == _letter(lab_reports[domain])
        assert Report.model_validate(doc).grade == lab_reports[domain].grade


@pytest.mark.parametrize("domain", DOMAINS)
def test_badge_is_valid_svg_with_the_grade(domain: str, lab_reports: dict[str, Report]) -> None:
    report = lab_reports[domain]
    svg = etree.fromstring(render_badge(report).encode())
    assert svg.tag == f"{SVG_NS}svg"
    title = svg.findtext(f"{SVG_NS}title") or ""
    assert domain in title
    texts = [t.text for t in svg.iter(f"{SVG_NS}text")]
    assert texts[-1] == (_letter(report) or "n/a")
    assert svg.get("aria-label") == title


def test_every_format_carries_the_hints(lab_reports: dict[str, Report]) -> None:
    """The catalog's "what to do" reaches every reader (mxtls.checks.explain)."""
    from mxtls.checks.explain import explain

    report = lab_reports[BROKEN]
    hints = {f.code: explain(f.code).hint for f in report.findings}
    assert all(hints.values())
    html = "".join(
        html5lib.HTMLParser(namespaceHTMLElements=False).parse(render_html(report)).itertext()
    )
    markdown = "".join(
        html5lib.HTMLParser(namespaceHTMLElements=False)
        .parse(MarkdownIt("commonmark").enable("table").render(render_markdown(report)))
        .itertext()
    )
    rows = list(csv.DictReader(io.StringIO(render_csv(report), newline="")))
    junit = render_junit(report)
    rules = json.loads(render_sarif(report))["runs"][0]["tool"]["driver"]["rules"]
    for code, hint in hints.items():
        assert hint in html, code
        assert hint in markdown, code  # as a reader sees it, escapes undone
        assert {r["hint"] for r in rows if r["code"] == code} == {hint}
        rule = next(r for r in rules if r["id"] == code)
        assert hint in rule["help"]["text"] and hint in rule["help"]["markdown"]
        assert explain(code).fixes[0][1] in rule["help"]["markdown"]
    failing = [f for f in report.findings if f.severity is Severity.ERROR]
    assert all(hints[f.code] in junit for f in failing)
