"""Fuzzing certificate description, path analysis and DANE matching on real certificates.

A server sends certificate bytes of its choosing.  The seeds are real
certificates from the lab CA (EC and RSA leaves, intermediate, root,
self-signed, SHA-1 signed, and the one-defect certificates of the hostile
tests); each example mutates them DER-aware: one element of the structure
gets new content of the same length (so the framing stays valid and the
parser goes deep), a new tag, a flipped byte, or the bytes are cut short.

Properties: :func:`describe_chain` never raises and bounds its reasons;
:func:`describe_certificate` and :func:`load_certificate` raise only
``UnparsableCertificateError``; the certificate checks, path analysis and
DANE matching never raise on whatever parsed; TLSA association data raises
only ``ValueError``.
"""

from __future__ import annotations

import datetime as dt
import functools

from hypothesis import given
from hypothesis import strategies as st

from mxtls.checks.cert import check_certificate
from mxtls.checks.chain import analyze_chain
from mxtls.lab.ca import LabCA
from mxtls.models.observations import EndpointObservation, TlsHandshake
from mxtls.protocol.peer_text import MAX_REASON_CHARS
from mxtls.protocol.tlsa import TlsaRecord, association_data, usable_for_smtp
from mxtls.trust.certinfo import (
    UnparsableCertificateError,
    describe_certificate,
    describe_chain,
    load_certificate,
)
from mxtls.trust.dane import match_chain
from mxtls.trust.store import TrustStore

from ..hostile.certs import der, with_duplicate_extension, with_unknown_curve, with_version
from .linear import assert_linear
from .profile import FUZZ, FUZZ_TIMING

HOST = "mx.fuzz.example"
NOW = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)


@functools.cache
def ca() -> LabCA:
    return LabCA(now=NOW)


@functools.cache
def seeds() -> tuple[bytes, ...]:
    lab = ca()
    ec = lab.issue([HOST, "*.fuzz.example"])
    return (
        der(ec.cert),
        der(lab.intermediate),
        der(lab.root),
        der(lab.issue([HOST], key="rsa2048").cert),
        der(lab.issue([HOST], key="rsa1024", hash_alg="sha1").cert),
        der(lab.issue([HOST], self_signed=True).cert),
        der(lab.issue([], cn=HOST).cert),
        with_version(ec.cert, lab.intermediate_key, 12),
        with_duplicate_extension(ec.cert, lab.intermediate_key),
        with_unknown_curve(lab.intermediate, lab.root_key),
    )


@functools.cache
def trust() -> TrustStore:
    return TrustStore.from_pem(ca().root_pem(), "fuzz root")


def spans(
    buf: bytes, start: int = 0, end: int | None = None, depth: int = 0
) -> list[tuple[int, int, int]]:
    """``(tag_offset, content_start, content_end)`` of every DER element, depth first."""
    end = len(buf) if end is None else end
    out: list[tuple[int, int, int]] = []
    pos = start
    while pos + 2 <= end and depth < 12:
        first = buf[pos + 1]
        if first < 0x80:
            content, length = pos + 2, first
        else:
            count = first & 0x7F
            if count == 0 or count > 3 or pos + 2 + count > end:
                return out
            content = pos + 2 + count
            length = int.from_bytes(buf[pos + 2 : content], "big")
        if content + length > end:
            return out
        out.append((pos, content, content + length))
        if buf[pos] & 0x20:  # constructed: SEQUENCE, SET, [n] EXPLICIT
            out.extend(spans(buf, content, content + length, depth + 1))
        pos = content + length
    return out


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    """A seed certificate with one structure-aware mutation (or none)."""
    seed = draw(st.sampled_from(seeds()))
    data = bytearray(seed)
    kind = draw(st.sampled_from(["content", "tag", "flip", "cut", "none"]))
    elements = spans(seed)
    if kind == "content" and elements:
        _, start, stop = draw(st.sampled_from(elements))
        size = stop - start
        if size:
            data[start:stop] = draw(st.binary(min_size=size, max_size=size))
    elif kind == "tag" and elements:
        tag_at, _, _ = draw(st.sampled_from(elements))
        data[tag_at] = draw(st.integers(0, 255))
    elif kind == "flip":
        for _ in range(draw(st.integers(1, 4))):
            data[draw(st.integers(0, len(data) - 1))] ^= draw(st.integers(1, 255))
    elif kind == "cut":
        del data[draw(st.integers(0, len(data) - 1)) :]
    return bytes(data)


def endpoint(handshake: TlsHandshake) -> EndpointObservation:
    return EndpointObservation(
        host=HOST,
        ip="192.0.2.1",
        port=25,
        connect_port=25,
        tls_mode="starttls",
        handshake=handshake,
    )


@FUZZ
@given(chain=st.lists(mutated(), min_size=1, max_size=4))
def test_description_raises_nothing_undocumented(chain: list[bytes]) -> None:
    for blob in chain:
        try:
            describe_certificate(blob)
            load_certificate(blob)
        except UnparsableCertificateError as exc:
            assert exc.reason.startswith("unparsable certificate: ")
            assert len(exc.reason) <= MAX_REASON_CHARS
    infos, unparsable = describe_chain(chain)
    assert len(infos) + len(unparsable) <= len(chain)
    assert all(len(u.reason) <= MAX_REASON_CHARS for u in unparsable)


@FUZZ
@given(chain=st.lists(mutated(), min_size=1, max_size=4))
def test_checks_judge_any_described_chain(chain: list[bytes]) -> None:
    infos, unparsable = describe_chain(chain)
    handshake = TlsHandshake(
        sni=HOST, version="TLSv1.3", cipher="x", chain=infos, unparsable=unparsable
    )
    findings = check_certificate(endpoint(handshake), now=NOW, warn_days=30, trust=trust())
    if unparsable:
        assert "cert.untrusted" in {f.code for f in findings}
    certs = [load_certificate(info.der) for info in infos]
    if certs:
        analyze_chain(certs, trust(), NOW)


_RECORD = st.builds(
    lambda usage, selector, mtype, index, data: (usage, selector, mtype, index, data),
    st.sampled_from([2, 3, 0, 1, 255]),
    st.sampled_from([0, 1, 7]),
    st.sampled_from([0, 1, 2, 9]),
    st.integers(0, 3),
    st.binary(max_size=70),
)


@FUZZ
@given(chain=st.lists(mutated(), min_size=0, max_size=4), specs=st.lists(_RECORD, max_size=5))
def test_dane_matching_never_raises(
    chain: list[bytes], specs: list[tuple[int, int, int, int, bytes]]
) -> None:
    records = []
    for usage, selector, mtype, index, data in specs:
        # Half the records pin a certificate of the chain (so matching goes deep).
        if chain and selector in (0, 1) and mtype in (0, 1, 2) and data[:1] != b"\x00":
            try:
                data = association_data(chain[index % len(chain)], selector, mtype)
            except ValueError:
                pass
        records.append(TlsaRecord(usage, selector, mtype, data))
        usable_for_smtp(records[-1])
    result = match_chain(records, chain, mx_host=HOST, now=NOW)
    assert len(result.outcomes) == len(records)


@FUZZ
@given(blob=mutated(), selector=st.integers(0, 3), mtype=st.integers(0, 3))
def test_association_data_raises_only_value_error(blob: bytes, selector: int, mtype: int) -> None:
    try:
        association_data(blob, selector, mtype)
    except ValueError:
        pass


# ------------------------------------------------------------------ timing


def with_names(count: int) -> bytes:
    names = [f"h{i}.fuzz.example" for i in range(count)]
    return der(ca().issue(names).cert)


@functools.cache
def sized(scale: int) -> bytes:
    return with_names(32 * scale)


def test_description_time_is_linear_in_the_names() -> None:
    assert_linear(describe_certificate, sized, "describe_certificate with many SANs")


@FUZZ_TIMING
@given(blob=mutated())
def test_description_of_a_long_chain_is_linear(blob: bytes) -> None:
    assert_linear(
        lambda chain: describe_chain(chain),
        lambda scale: [blob] * (4 * scale),
        "describe_chain over copies of one certificate",
    )
