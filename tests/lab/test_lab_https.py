"""The lab HTTPS server: policy hosts chosen by SNI, each policy case as a sender meets it.

The first tests run a server of their own on 127.0.0.1 with a plain ``ssl``
client, so they show the bytes the server sends; the last ones fetch the
policy of every MTA-STS lab domain with mxtls' own fetcher through the lab's
resolver, port map and trust store, as ``mxtls check`` does.
"""

from __future__ import annotations

import asyncio
import ssl
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from cryptography import x509

from mxtls.config import Timeouts
from mxtls.lab.ca import LabCA
from mxtls.lab.https_server import (
    MTA_STS_PATH,
    OVERSIZE_BODY_BYTES,
    HttpsServer,
    HttpsSite,
    PolicyServing,
    policy_response,
)
from mxtls.lab.world import Lab
from mxtls.net.dns import RunResolver
from mxtls.net.https import fetch_mta_sts_policy
from mxtls.protocol.mta_sts import MTA_STS_POLICY_MAX_BYTES, MtaStsPolicy
from mxtls.trust.store import load_trust_store

CLIENT_TIMEOUT_S = 3.0
MAX_RESPONSE_BYTES = 256 * 1024
POLICY = "version: STSv1\r\nmode: enforce\r\nmx: mx.a.lab\r\nmax_age: 604800\r\n"
HOST_A, HOST_B = "mta-sts.a.lab", "mta-sts.b.lab"


@dataclass
class Served:
    server: HttpsServer
    port: int
    ca: LabCA
    ca_file: Path


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: bytes
    cert: x509.Certificate


@pytest.fixture
async def served(tmp_path: Path) -> AsyncIterator[Served]:
    ca = LabCA()
    routes = {
        MTA_STS_PATH: policy_response(PolicyServing.OK, POLICY, HOST_A),
        "/404": policy_response(PolicyServing.NOT_FOUND, POLICY, HOST_A),
        "/redirect": policy_response(PolicyServing.REDIRECT, POLICY, HOST_A),
        "/html": policy_response(PolicyServing.WRONG_MEDIA_TYPE, POLICY, HOST_A),
        "/big": policy_response(PolicyServing.OVERSIZE, POLICY, HOST_A),
        "/slow": policy_response(PolicyServing.SLOW, POLICY, HOST_A),
    }
    server = HttpsServer(tmp_path, lifetime=5.0)
    server.add_site(HttpsSite(host=HOST_A, cert=ca.issue([HOST_A]), routes=routes))
    other = {MTA_STS_PATH: policy_response(PolicyServing.OK, "b", HOST_B)}
    server.add_site(HttpsSite(host=HOST_B, cert=ca.issue([HOST_B], key_slot=5), routes=other))
    listener = await server.listen("127.0.0.1", 0, HOST_A)
    try:
        yield Served(server, listener.port, ca, ca.write_root(tmp_path / "root.pem"))
    finally:
        await server.close()


def client_context(ca_file: Path, *, check_hostname: bool = True) -> ssl.SSLContext:
    ctx = ssl.create_default_context(cafile=str(ca_file))
    ctx.check_hostname = check_hostname
    return ctx


async def request(
    served: Served,
    raw: bytes,
    *,
    sni: str | None = HOST_A,
    read_limit: int = MAX_RESPONSE_BYTES,
) -> Response:
    """Send ``raw`` over TLS, read until the server closes (bounded), parse the response."""
    ctx = client_context(served.ca_file, check_hostname=sni is not None)
    async with asyncio.timeout(CLIENT_TIMEOUT_S):
        reader, writer = await asyncio.open_connection(
            "127.0.0.1", served.port, ssl=ctx, server_hostname=sni
        )
        try:
            der = writer.get_extra_info("ssl_object").getpeercert(binary_form=True)
            writer.write(raw)
            await writer.drain()
            data = b""
            while len(data) < read_limit:
                chunk = await reader.read(65536)
                if not chunk:
                    break
                data += chunk
        finally:
            writer.close()
    head, _, body = data.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    version, code, _reason = status_line.split(" ", 2)
    assert version == "HTTP/1.1"
    headers = {}
    for line in header_lines:
        name, _, value = line.partition(":")
        headers[name.lower()] = value.strip()
    return Response(int(code), headers, body, x509.load_der_x509_certificate(der))


def get(path: str, host: str = HOST_A, method: str = "GET") -> bytes:
    return f"{method} {path} HTTP/1.1\r\nHost: {host}\r\nAccept: */*\r\n\r\n".encode()


def sans(cert: x509.Certificate) -> list[str]:
    ext = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    return ext.value.get_values_for_type(x509.DNSName)


async def test_policy_is_served_as_text_plain_with_length_and_close(served: Served) -> None:
    r = await request(served, get(MTA_STS_PATH))
    assert r.status == 200
    assert r.headers["content-type"] == "text/plain"
    assert r.headers["content-length"] == str(len(POLICY)) and r.body == POLICY.encode()
    assert r.headers["connection"] == "close"
    assert MtaStsPolicy.from_bytes(r.body).max_age == 604800
    assert served.server.requests[-1] == (HOST_A, "GET", MTA_STS_PATH)


async def test_certificate_is_chosen_by_sni(served: Served) -> None:
    # Given one listener whose default site is A, when a client names B in SNI
    r = await request(served, get(MTA_STS_PATH, HOST_B), sni=HOST_B)
    # Then B's certificate verifies for B and B's routes answer
    assert sans(r.cert) == [HOST_B] and r.body == b"b"
    # and without SNI the default site's certificate comes back
    r = await request(served, get(MTA_STS_PATH), sni=None)
    assert sans(r.cert) == [HOST_A] and r.status == 200


async def test_unknown_sni_gets_the_default_certificate(served: Served) -> None:
    with pytest.raises(ssl.SSLCertVerificationError):
        await request(served, get(MTA_STS_PATH, "mta-sts.c.lab"), sni="mta-sts.c.lab")


async def test_not_found_and_redirect(served: Served) -> None:
    r = await request(served, get("/404"))
    assert r.status == 404 and r.headers["content-length"] == str(len(r.body))
    r = await request(served, get("/nowhere"))
    assert r.status == 404
    r = await request(served, get("/redirect"))
    assert r.status == 301
    assert r.headers["location"] == f"https://www.a.lab{MTA_STS_PATH}"


async def test_wrong_media_type(served: Served) -> None:
    r = await request(served, get("/html"))
    assert r.status == 200 and r.headers["content-type"] == "text/html"
    assert r.body == POLICY.encode()


async def test_oversized_body_is_sent_whole_and_declared(served: Served) -> None:
    r = await request(served, get("/big"))
    assert r.status == 200
    assert int(r.headers["content-length"]) == OVERSIZE_BODY_BYTES > MTA_STS_POLICY_MAX_BYTES
    assert len(r.body) == OVERSIZE_BODY_BYTES and r.body.startswith(POLICY.encode())


async def test_slow_response_trickles(served: Served) -> None:
    # Given the slow case, a client that waits one second has the head but not the body
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(1.0):
            await request(served, get("/slow"))
    ctx = client_context(served.ca_file)
    reader, writer = await asyncio.open_connection(
        "127.0.0.1", served.port, ssl=ctx, server_hostname=HOST_A
    )
    try:
        writer.write(get("/slow"))
        async with asyncio.timeout(CLIENT_TIMEOUT_S):
            head = await reader.readuntil(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 200 OK\r\n")
        assert f"Content-Length: {len(POLICY)}".encode() in head
        started = time.perf_counter()
        async with asyncio.timeout(CLIENT_TIMEOUT_S):
            first = await reader.read(100)
        assert first == POLICY.encode()[:1] and time.perf_counter() - started > 0.2
        # When the server closes, the trickling connection ends at once
        await served.server.close()
        async with asyncio.timeout(CLIENT_TIMEOUT_S):
            rest = await reader.read(1000)
        assert len(rest) < len(POLICY) - 1
    finally:
        writer.close()


async def test_head_method_and_bad_requests(served: Served) -> None:
    r = await request(served, get(MTA_STS_PATH, method="HEAD"))
    assert r.status == 200 and r.body == b""
    assert r.headers["content-length"] == str(len(POLICY))
    r = await request(served, get(MTA_STS_PATH, method="POST"))
    assert r.status == 405 and r.headers["allow"] == "GET, HEAD"
    r = await request(served, get(MTA_STS_PATH, host=HOST_B))  # SNI A, Host B
    assert r.status == 421
    r = await request(served, b"GET / HTTP/1.1\r\n\r\n")
    assert r.status == 400
    r = await request(served, b"NONSENSE\r\n\r\n")
    assert r.status == 400


async def test_request_head_is_bounded(served: Served) -> None:
    huge = get(MTA_STS_PATH).replace(b"\r\n\r\n", b"\r\nX-Filler: " + b"a" * 20_000 + b"\r\n\r\n")
    r = await request(served, huge)
    assert r.status == 431


async def test_httpx_client_reads_the_policy(served: Served) -> None:
    ctx = client_context(served.ca_file)
    async with httpx.AsyncClient(verify=ctx, timeout=CLIENT_TIMEOUT_S, trust_env=False) as client:
        r = await client.get(
            f"https://127.0.0.1:{served.port}{MTA_STS_PATH}",
            headers={"Host": HOST_A},
            extensions={"sni_hostname": HOST_A},
        )
    assert r.status_code == 200 and r.text == POLICY
    assert r.headers["content-type"] == "text/plain"


# -- the lab's policy hosts, fetched as mxtls fetches them ---------------------------------

FETCH_CASES = {
    "secure.lab": None,
    "sts-testing.lab": None,
    "sts-404.lab": "status",
    "sts-redirect.lab": "redirect",
    "sts-mediatype.lab": "media_type",
    "sts-badcert.lab": "cert",
    "sts-untrusted.lab": "cert",
    "sts-oversize.lab": "size",
    "sts-slow.lab": "timeout",
    "good.lab": "dns",  # no policy host at all
}


@pytest.mark.parametrize(("domain", "kind"), FETCH_CASES.items())
async def test_lab_policy_hosts_as_mxtls_fetches_them(
    world: Lab, domain: str, kind: str | None
) -> None:
    # Given the lab's resolver, trust store and port map, with a one-second HTTPS bound
    cfg = world.check_config(timeouts=Timeouts.uniform(1.0))
    resolver = RunResolver(cfg.nameservers, timeout=cfg.timeouts.dns)
    # When mxtls fetches the domain's policy
    fetch = await fetch_mta_sts_policy(domain, resolver, load_trust_store(cfg.ca_file), cfg)
    # Then it meets exactly the failure the row is built for
    assert (fetch.error.kind if fetch.error else None) == kind, fetch
    if kind in (None, "media_type"):
        host = world.policy_hosts[f"mta-sts.{domain}"]
        assert fetch.address == host.address and fetch.connect_port == world.https_port
        assert fetch.text == host.policy


def test_every_policy_host_listens_on_the_shared_port(world: Lab) -> None:
    listeners = {(li.host, li.port, li.site.host) for li in world.https_server.listeners}
    expected = {(h.address, world.https_port, h.name) for h in world.policy_hosts.values()}
    assert listeners == expected and len(expected) >= 10
    for name, host in world.policy_hosts.items():
        assert world.address(name) == host.address and host.address.endswith(".250")
