"""A hostile server's words stay words in every format (security regression).

Given a loopback SMTP server whose banner, EHLO reply and certificate
subject carry markup and spreadsheet formulas, when mxtls checks it and
renders the report in every format, then each document parses with a real
parser, no markup from the server becomes markup in the document, and the
server's text is still shown (escaped, not dropped).
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import io
import json
import socket
import ssl
from collections.abc import AsyncIterator
from pathlib import Path

import html5lib
import pytest
from lxml import etree
from markdown_it import MarkdownIt

from mxtls.config import CheckConfig, Timeouts
from mxtls.engine.run import check_host
from mxtls.lab.ca import LabCA
from mxtls.models.findings import Finding
from mxtls.models.report import Report
from mxtls.render.badge import render_badge
from mxtls.render.csv import render_csv
from mxtls.render.html import render_html
from mxtls.render.junit import render_junit
from mxtls.render.markdown import render_markdown
from mxtls.render.sarif import render_sarif

HOST = "mx.hostile.test"
BANNER_SCRIPT = '<script>alert("banner")</script>'
CERT_SCRIPT = "<script>alert('cert')</script>"
EHLO_MARKUP = "<img src=x onerror=alert(1)> *bold* [link](http://x) | cell"
BANNER = f"220 {HOST} ESMTP {BANNER_SCRIPT} & friends \x01\r\n".encode()
FORMULAS = ['=HYPERLINK("http://x")', "+1+1", "-1-1", "@SUM(A1)", " =1+1", "\t=1"]


def _closed_udp_port() -> int:
    """A loopback port with nothing listening: every DNS lookup of the run fails fast, locally."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


@pytest.fixture
async def hostile_report(tmp_path: Path) -> AsyncIterator[Report]:
    issued = LabCA().issue([HOST], cn=CERT_SCRIPT)
    crt, key = issued.write(tmp_path, "hostile")
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(crt, key)

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        tls = False
        writer.write(BANNER)
        for _ in range(20):  # bounded dialogue
            line = await reader.readline()
            cmd = line.strip().upper()
            if not line or cmd == b"QUIT":
                writer.write(b"221 bye\r\n")
                break
            if cmd.startswith(b"EHLO"):
                starttls = b"" if tls else b"250-STARTTLS\r\n"
                writer.write(b"250-" + HOST.encode() + b"\r\n" + starttls)
                writer.write(b"250 " + EHLO_MARKUP.encode() + b"\r\n")
            elif cmd == b"STARTTLS" and not tls:
                writer.write(b"220 go ahead\r\n")
                await writer.drain()
                try:
                    await writer.start_tls(ctx)
                except (OSError, ssl.SSLError):
                    return  # the probe gave up on this handshake: nothing more to say
                tls = True
            else:
                writer.write(b"502 no\r\n")
            await writer.drain()
        with contextlib.suppress(OSError, ssl.SSLError):
            await writer.drain()
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    config = CheckConfig(
        nameservers=(("127.0.0.1", _closed_udp_port()),),
        ports=(25,),
        port_map=((25, port),),
        ehlo_name="checker.test",
        timeouts=Timeouts.uniform(2.0),
    )
    try:
        yield await check_host("127.0.0.1", config)
    finally:
        server.close()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(server.wait_closed(), 2)


def _with_formula_findings(report: Report) -> Report:
    extra = [
        Finding(code="smtp.banner_rejected", severity=f.severity, target=f.target, message=text)
        for f, text in zip([report.findings[0]] * len(FORMULAS), FORMULAS, strict=True)
    ]
    return report.model_copy(update={"findings": [*report.findings, *extra]})


async def test_the_peer_really_sent_hostile_text(hostile_report: Report) -> None:
    ep = hostile_report.hosts[0].endpoints[0]
    assert ep.banner is not None and BANNER_SCRIPT in ep.banner.text
    assert ep.handshake is not None and ep.handshake.chain[0].common_name == CERT_SCRIPT
    assert hostile_report.findings, "an untrusted lab certificate is at least one finding"


async def test_html_escapes_everything(hostile_report: Report) -> None:
    doc = render_html(hostile_report)
    tree = html5lib.HTMLParser(strict=True, namespaceHTMLElements=False).parse(doc)
    tags = {el.tag for el in tree.iter() if isinstance(el.tag, str)}
    assert "script" not in tags and "img" not in tags
    assert not [a for el in tree.iter() for a in el.attrib if a.startswith("on")]
    text = "".join(tree.itertext())
    ep = hostile_report.hosts[0].endpoints[0]
    assert ep.handshake is not None
    assert ep.handshake.chain[0].subject in text  # shown as text, not executed
    assert BANNER_SCRIPT in text
    assert "\x01" not in doc


async def test_markdown_escapes_everything(hostile_report: Report) -> None:
    text = render_markdown(hostile_report)
    html = MarkdownIt("commonmark").enable("table").render(text)
    assert "<script" not in html and "<img" not in html
    assert '&lt;script&gt;alert("banner")&lt;/script&gt;' in html.replace("&quot;", '"')


async def test_xml_and_json_formats_parse(hostile_report: Report) -> None:
    for xml in (render_junit(hostile_report), render_badge(hostile_report)):
        etree.fromstring(xml.encode())  # control characters replaced, markup escaped
    sarif = json.loads(render_sarif(hostile_report))
    messages = [r["message"]["text"] for r in sarif["runs"][0]["results"]]
    assert messages == [f.message for f in hostile_report.findings]


async def test_csv_neutralises_formulas(hostile_report: Report) -> None:
    report = _with_formula_findings(hostile_report)
    rows = list(csv.DictReader(io.StringIO(render_csv(report), newline="")))
    cells = [r["message"] for r in rows[-len(FORMULAS) :]]
    assert cells == ["'" + f for f in FORMULAS]
    for row in rows:
        for value in row.values():
            assert not value.lstrip(" ").startswith(("=", "+", "-", "@", "\t", "\r"))
