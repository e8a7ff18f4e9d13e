"""The hostile-server corpus: every case ends in bounded time and memory, with a finding.

Each case starts scripted peers on loopback (``scripts.py``), publishes
``hostile.test`` on the lab's DNS server and runs the whole check against it:
discovery, the probes, the checks and the verdict.  For every case the check
must end within a bound derived from the configured timeouts, without an
internal error, with the finding a user would need, and with a report of
bounded size.  The cases about memory also bound the peak of Python's
allocations during the check (``tracemalloc``; OpenSSL's own buffers are
bounded by its 100 KB limit on a Certificate message, which the 5 MB case
meets).

``MXTLS_CORPUS_REPORT=FILE`` appends one JSON line per case (wall and CPU
time, peak memory, report size, findings) for the record.
"""

from __future__ import annotations

import datetime as dt
import functools
import gzip
import json
import os
import time
import tracemalloc
import zlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID, ObjectIdentifier

from mxtls.config import Limits
from mxtls.lab.ca import LabCA

from .certs import der, with_duplicate_extension, with_unknown_curve, with_version
from .peers import MX_HOST, Chain, HostileWorld
from .scripts import (
    after_starttls,
    alert_mid_handshake,
    banner_then_quit,
    dribbled_banner,
    endless_body,
    endless_ehlo,
    garbage,
    http_head,
    huge_header,
    implicit_tls_smtp,
    one_byte_chunks,
    plain_smtp,
    redirect,
    respond,
    silent_handshake,
    starttls_smtp,
    tarpit,
)

STEP_S = 1.0  # every network step of a corpus check
CHECK_TOTAL_STEPS = 6  # the whole check may take this many steps' time
SLACK_S = 3.0  # start-up, DNS, judging, and a loaded 2-core machine
REPORT_BOUND_BYTES = 1_000_000  # the JSON report of one hostile domain
MEMORY_BOUND_BYTES = 24 * 1024 * 1024  # peak of Python's allocations during a check
CORPUS_REPORT = os.environ.get("MXTLS_CORPUS_REPORT")


@dataclass(frozen=True)
class Case:
    """One hostile behaviour: how to set it up, what it must yield, how long it may take."""

    setup: Callable[[HostileWorld], Awaitable[None]]
    expect: frozenset[str]  # at least one of these codes
    steps: float = 3  # the check's time bound, in step timeouts (+ SLACK_S)
    memory: bool = False  # bound the peak of Python's allocations


# ------------------------------------------------------------ certificates


@functools.cache
def lab() -> LabCA:
    return LabCA()


def _cert(
    subject: x509.Name,
    issuer: x509.Name,
    key: ec.EllipticCurvePrivateKey,
    signer: ec.EllipticCurvePrivateKey,
    *,
    ca: bool,
    extra: x509.ExtensionType | None = None,
) -> x509.Certificate:
    now = lab().now
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=60))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if not ca:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.DNSName(MX_HOST)]), critical=False
        )
    if extra is not None:
        builder = builder.add_extension(extra, critical=False)
    return builder.sign(signer, hashes.SHA256())


@functools.cache
def hundred_certificates() -> Chain:
    """A leaf and 99 CAs that all bear one name, sent in the order that is slowest to link."""
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "mxtls hostile CA")])
    keys = [ec.generate_private_key(ec.SECP256R1()) for _ in range(100)]
    cas = [_cert(name, name, keys[0], keys[0], ca=True)]
    cas += [_cert(name, name, keys[i], keys[i - 1], ca=True) for i in range(1, 99)]
    leaf_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, MX_HOST)])
    leaf = _cert(leaf_name, name, keys[99], keys[98], ca=False)
    return Chain(keys[99], der(leaf), tuple(der(c) for c in cas))


@functools.cache
def five_megabyte_certificate() -> Chain:
    """A leaf carrying a 5 MB private extension, with the lab's intermediate."""
    key = ec.generate_private_key(ec.SECP256R1())
    blob = x509.UnrecognizedExtension(ObjectIdentifier("1.3.6.1.4.1.99999.1"), b"\0" * 5_000_000)
    leaf_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, MX_HOST)])
    issuer, signer = lab().intermediate, lab().intermediate_key
    assert isinstance(signer, ec.EllipticCurvePrivateKey)
    leaf = _cert(leaf_name, issuer.subject, key, signer, ca=False, extra=blob)
    return Chain(key, der(leaf), (der(issuer),))


@functools.cache
def unparsable_chain() -> Chain:
    """The MX's lab leaf and three broken intermediates (version 12, duplicate, curve)."""
    ca = lab()
    issued = ca.issue([MX_HOST])
    broken = (
        with_version(ca.intermediate, ca.root_key, 12),
        with_duplicate_extension(ca.intermediate, ca.root_key),
        with_unknown_curve(ca.intermediate, ca.root_key),
    )
    return Chain(issued.key, der(issued.cert), broken)


@functools.cache
def gzip_bomb() -> bytes:
    """256 MiB of zeros, gzipped twice: about a kilobyte."""
    inner = zlib.compressobj(9, zlib.DEFLATED, 31)
    zeros = bytes(1024 * 1024)
    return gzip.compress(b"".join([*(inner.compress(zeros) for _ in range(256)), inner.flush()]))


# ------------------------------------------------------------------- cases

CODEC_LINE = Limits().max_line_bytes - len("450-\r\n")
HUGE_BANNER = b"".join(b"450-%s\r\n" % (b"x" * CODEC_LINE) for _ in range(99)) + b"450 x\r\n"
BIG_TXT = "v=STSv1; id=" + "a" * 64_000
FAILED_FETCH = frozenset({"mta_sts.policy_fetch_failed"})
HANDSHAKE_FAILED = frozenset({"starttls.handshake_failed"})


def smtp(handler: object, port: int = 25) -> Callable[[HostileWorld], Awaitable[None]]:
    async def setup(world: HostileWorld) -> None:
        await world.smtp(handler, port=port)  # type: ignore[arg-type]
        await world.publish()

    return setup


def chain_on_465(make: Callable[[], Chain]) -> Callable[[HostileWorld], Awaitable[None]]:
    async def setup(world: HostileWorld) -> None:
        chain = make()
        await world.smtp(implicit_tls_smtp(chain), port=465)
        await world.smtp(starttls_smtp(chain), port=25)
        await world.publish()

    return setup


def policy_host(handler: object) -> Callable[[HostileWorld], Awaitable[None]]:
    async def setup(world: HostileWorld) -> None:
        await world.smtp(plain_smtp)
        await world.policy_host(handler)  # type: ignore[arg-type]
        await world.publish(mta_sts=True)

    return setup


async def big_txt_record(world: HostileWorld) -> None:
    await world.smtp(plain_smtp)
    strings = " ".join(f'"{BIG_TXT[i : i + 255]}"' for i in range(0, len(BIG_TXT), 255))
    await world.publish(extra=f"_mta-sts 300 IN TXT {strings}\n")


async def twenty_mx_on_one_tarpit(world: HostileWorld) -> None:
    await world.smtp(tarpit)
    extra = "".join(
        f"@ 300 IN MX 10 mx{i}.hostile.test.\nmx{i} 300 IN A 127.0.0.1\n" for i in range(19)
    )
    await world.publish(extra=extra)


CASES: dict[str, Case] = {
    # the defects of issue 8
    "100-line banner of 4 KB lines": Case(
        smtp(banner_then_quit(HUGE_BANNER)), frozenset({"smtp.banner_rejected"}), memory=True
    ),
    "unparsable certificates": Case(chain_on_465(unparsable_chain), frozenset({"cert.untrusted"})),
    "gzip bomb as the policy": Case(
        policy_host(
            respond(
                http_head("Content-Type: text/plain", "Content-Encoding: gzip, gzip"),
                gzip_bomb(),
            )
        ),
        FAILED_FETCH,
        memory=True,
    ),
    "policy in one-byte chunks": Case(policy_host(one_byte_chunks), FAILED_FETCH),
    "64 KB MTA-STS TXT record": Case(
        big_txt_record, frozenset({"mta_sts.txt_invalid"}), memory=True
    ),
    # SMTP
    "endless 250- EHLO": Case(
        smtp(endless_ehlo),
        frozenset({"smtp.ehlo_rejected", "delivery.no_reachable_mx"}),
        memory=True,
    ),
    "banner dribbled byte by byte": Case(smtp(dribbled_banner), frozenset({"smtp.banner_timeout"})),
    "garbage after STARTTLS 220": Case(smtp(after_starttls(garbage)), HANDSHAKE_FAILED),
    "TLS alert mid-handshake": Case(smtp(after_starttls(alert_mid_handshake)), HANDSHAKE_FAILED),
    "handshake that never completes": Case(
        smtp(after_starttls(silent_handshake)), HANDSHAKE_FAILED
    ),
    "20 MX hosts on one tarpit address": Case(
        twenty_mx_on_one_tarpit,
        frozenset({"smtp.banner_timeout", "smtp.connect_failed"}),
        steps=CHECK_TOTAL_STEPS,
    ),
    # certificates
    "chain of 100 certificates": Case(
        chain_on_465(hundred_certificates),
        frozenset({"cert.untrusted", "cert.chain_incomplete"}),
        memory=True,
    ),
    "5 MB certificate": Case(
        chain_on_465(five_megabyte_certificate),
        HANDSHAKE_FAILED | frozenset({"tls.implicit_failed"}),
        memory=True,
    ),
    # the MTA-STS policy host
    "policy host that redirects": Case(policy_host(redirect), FAILED_FETCH),
    "policy host that streams forever": Case(policy_host(endless_body), FAILED_FETCH, memory=True),
    "policy host with a 1 MB header": Case(policy_host(huge_header), FAILED_FETCH, memory=True),
}


@pytest.fixture(scope="module", autouse=True)
def _certificates_made_outside_the_loop() -> None:
    """Key generation and signing are CPU work: done before any case's event loop runs."""
    hundred_certificates()
    five_megabyte_certificate()
    unparsable_chain()
    gzip_bomb()


@pytest.mark.parametrize("name", list(CASES))
async def test_hostile_case_ends_bounded_with_a_finding(world: HostileWorld, name: str) -> None:
    case = CASES[name]
    await case.setup(world)
    config = world.config(
        timeout=STEP_S, endpoint_total=3 * STEP_S, check_total=CHECK_TOTAL_STEPS * STEP_S
    )
    bound_s = case.steps * STEP_S + SLACK_S

    if case.memory:
        tracemalloc.start()
    started, cpu_started = time.monotonic(), time.process_time()
    try:
        report = await world.check(config)
        peak = tracemalloc.get_traced_memory()[1] if case.memory else 0
    finally:
        if case.memory:
            tracemalloc.stop()
    elapsed, cpu = time.monotonic() - started, time.process_time() - cpu_started

    codes = {f.code for f in report.findings}
    size = len(report.model_dump_json())
    _record(name, elapsed, cpu, peak, size, codes)
    assert not report.internal_errors, report.internal_errors
    assert codes & case.expect, (
        f"{name}: expected one of {sorted(case.expect)}, got {sorted(codes)}"
    )
    assert elapsed <= bound_s, f"{name}: the check took {elapsed:.1f}s (bound {bound_s:.1f}s)"
    assert size <= REPORT_BOUND_BYTES, f"{name}: a {size}-byte report"
    if case.memory:
        assert peak <= MEMORY_BOUND_BYTES, f"{name}: peak {peak / 2**20:.1f} MiB"


def _record(name: str, elapsed: float, cpu: float, peak: int, size: int, codes: set[str]) -> None:
    if not CORPUS_REPORT:
        return
    line = {
        "case": name,
        "wall_s": round(elapsed, 2),
        "cpu_s": round(cpu, 2),
        "peak_mib": round(peak / 2**20, 2) if peak else None,
        "report_bytes": size,
        "codes": sorted(codes),
    }
    with Path(CORPUS_REPORT).open("a") as out:
        out.write(json.dumps(line) + "\n")
