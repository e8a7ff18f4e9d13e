"""The command line's --format/--output and `mxtls badge`, run as a user runs them.

Exit status stays the contract's (0/1/2/3) whatever the format; an
unwritable --output is a usage error found before any check runs; the
renderers' libraries are not loaded by `mxtls --help`.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import html5lib
from lxml import etree

from .test_cli import mxtls

UNUSED_FLAGS = ["--nameserver", "127.0.0.1:9", "--timeout", "1"]  # never reached


def test_html_to_a_file_keeps_the_exit_status(lab_cli_flags: list[str], tmp_path: Path) -> None:
    out = tmp_path / "report.html"
    proc = mxtls("check", "expired.lab", "--format", "html", "--output", str(out), *lab_cli_flags)
    assert proc.returncode == 1, proc.stderr
    assert proc.stdout == ""
    tree = html5lib.HTMLParser(strict=True, namespaceHTMLElements=False).parse(out.read_text())
    assert "cert.expired" in "".join(tree.itertext())
    assert [p.name for p in tmp_path.iterdir()] == ["report.html"], "no temporary file left"


def test_text_to_a_file_has_no_colour_and_the_grade(
    lab_cli_flags: list[str], tmp_path: Path
) -> None:
    out = tmp_path / "report.txt"
    proc = mxtls("check", "good.lab", "--ports", "25", "-o", str(out), *lab_cli_flags)
    assert proc.returncode == 0, proc.stderr
    text = out.read_text()
    assert "\x1b[" not in text
    assert "Grade A" in text


def test_json_alias_and_format_json_agree(lab_cli_flags: list[str]) -> None:
    a = mxtls("check", "nostarttls.lab", "--ports", "25", "--json", *lab_cli_flags)
    b = mxtls("check", "nostarttls.lab", "--ports", "25", "--format", "json", *lab_cli_flags)
    assert a.returncode == b.returncode == 1
    doc_a, doc_b = json.loads(a.stdout), json.loads(b.stdout)
    assert doc_a["grade"]["letter"] == doc_b["grade"]["letter"] == "F"
    assert [c["rule"] for c in doc_a["grade"]["capped_by"]][0] == "plaintext_mx"


def test_junit_fail_on_and_exit_status(lab_cli_flags: list[str]) -> None:
    proc = mxtls(
        "check", "expiring.lab", "--format", "junit", "--fail-on", "warning", *lab_cli_flags
    )
    assert proc.returncode == 1
    doc = etree.fromstring(proc.stdout.encode())
    failures = [c for c in doc.iter("testcase") if c.find("failure") is not None]
    assert failures and all(f.find("failure").get("type") == "cert.expiring_soon" for f in failures)


def test_usage_errors_exit_2_before_checking(tmp_path: Path) -> None:
    started = time.monotonic()
    cases = [
        ["--json", "--format", "html"],
        ["--format", "pdf"],
        ["--output", str(tmp_path / "missing-dir" / "r.html")],
        ["--output", str(tmp_path)],
        ["--output", "/proc/version/r.html"],
    ]
    for extra in cases:
        proc = mxtls("check", "example.com", *extra, *UNUSED_FLAGS)
        assert proc.returncode == 2, (extra, proc.stderr)
        assert "Traceback" not in proc.stderr
        assert "error" in proc.stderr.lower()
    # No DNS lookup was attempted: each refusal came before the check.
    assert time.monotonic() - started < 30


def test_badge_writes_an_svg(lab_cli_flags: list[str], tmp_path: Path) -> None:
    proc = mxtls("badge", "secure.lab", *lab_cli_flags)
    assert proc.returncode == 0, proc.stderr
    svg = etree.fromstring(proc.stdout.encode())
    assert "A+" in "".join(svg.itertext())
    out = tmp_path / "badge.svg"
    proc = mxtls("badge", "expired.lab", "--output", str(out), *lab_cli_flags)
    assert proc.returncode == 0, proc.stderr  # a badge of a bad grade is still a badge
    assert "secure.lab" not in out.read_text() and "expired.lab" in out.read_text()


def test_help_does_not_load_the_renderers() -> None:
    code = (
        "import sys, runpy\n"
        "sys.argv = ['mxtls', 'check', '--help']\n"
        "try:\n"
        "    runpy.run_module('mxtls', run_name='__main__')\n"
        "except SystemExit:\n"
        "    pass\n"
        "heavy = {'jinja2', 'markupsafe', 'lxml', 'jsonschema', 'html5lib'}\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in heavy))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "NO_COLOR": "1"},
        check=True,
    )
    assert proc.stdout.strip().splitlines()[-1] == "[]"
    assert "--format" in proc.stdout and "--output" in proc.stdout
