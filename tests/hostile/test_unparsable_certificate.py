"""Regression (issue 8, defect 3): certificate bytes that cryptography refuses.

``describe_certificate`` promised ``ValueError`` but cryptography also raises
``InvalidVersion``, ``DuplicateExtension`` and ``UnsupportedAlgorithm``, some
only when the extensions or the key are first read.  They escaped the TLS
handshake, DANE matching and the certificate checks: on port 465 the
endpoint ended as "internal error during handshake" and its TLS facts were
lost.  Now each served certificate that does not parse is recorded as a fact
("unparsable certificate: ...") and judged: the chain is untrusted.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from cryptography import x509

from mxtls.lab.ca import LabCA, PrivateKey
from mxtls.models.observations import EndpointObservation
from mxtls.protocol.tlsa import TlsaRecord, association_data
from mxtls.trust.dane import match_chain

from .certs import der, with_duplicate_extension, with_unknown_curve, with_version
from .peers import MX_HOST, Chain, HostileWorld
from .scripts import implicit_tls_smtp, starttls_smtp

Mutation = Callable[[x509.Certificate, PrivateKey], bytes]
MUTATIONS: dict[str, tuple[Mutation, str]] = {
    "version 12": (lambda c, k: with_version(c, k, 12), "InvalidVersion"),
    "duplicate extension": (with_duplicate_extension, "DuplicateExtension"),
    "unknown curve": (with_unknown_curve, "UnsupportedAlgorithm"),
}


def served_chain(world: HostileWorld, where: str, mutate: Mutation) -> Chain:
    """The lab chain for the MX with its leaf or its intermediate mutated."""
    ca: LabCA = world.ca
    issued = world.cert(MX_HOST)
    if where == "leaf":
        return Chain(issued.key, mutate(issued.cert, ca.intermediate_key), (der(ca.intermediate),))
    return Chain(issued.key, der(issued.cert), (mutate(ca.intermediate, ca.root_key),))


def endpoint(report_endpoints: list[EndpointObservation], port: int) -> EndpointObservation:
    (obs,) = [ep for ep in report_endpoints if ep.port == port]
    return obs


# A leaf on a curve cryptography lacks would need a private key on that curve,
# which cryptography cannot make; the intermediate carries that defect.
SERVED = [
    (defect, where)
    for defect in sorted(MUTATIONS)
    for where in ("leaf", "intermediate")
    if (defect, where) != ("unknown curve", "leaf")
]


@pytest.mark.parametrize(("defect", "where"), SERVED)
async def test_unparsable_certificate_is_a_judged_fact(
    world: HostileWorld, defect: str, where: str
) -> None:
    mutate, exception = MUTATIONS[defect]
    # Given an MX that sends the broken certificate on 465 (implicit TLS) and 25 (STARTTLS)
    chain = served_chain(world, where, mutate)
    await world.smtp(implicit_tls_smtp(chain), port=465)
    await world.smtp(starttls_smtp(chain), port=25)
    await world.publish()

    # When the domain is checked
    report = await world.check()

    # Then both endpoints completed TLS and recorded the certificate as unparsable
    assert not report.internal_errors
    endpoints = report.hosts[0].endpoints
    for port in (25, 465):
        obs = endpoint(endpoints, port)
        assert obs.stop_reason is None, obs.stop_detail
        assert obs.handshake is not None
        (bad,) = obs.handshake.unparsable
        assert bad.index == (0 if where == "leaf" else 1)
        assert bad.reason.startswith(f"unparsable certificate: {exception}")
        assert len(obs.handshake.chain) == (0 if where == "leaf" else 1)
        # and the chain counts as untrusted, for the findings and the verdict
        untrusted = [
            f for f in report.findings if f.code == "cert.untrusted" and f":{port}" in f.target
        ]
        assert untrusted and "unparsable certificate" in untrusted[0].message


@pytest.mark.parametrize("defect", sorted(MUTATIONS))
def test_dane_matching_never_raises_on_a_served_chain(defect: str) -> None:
    # The chain as a server sends it, leaf and intermediate broken alike.
    mutate, _ = MUTATIONS[defect]
    ca = LabCA()
    issued = ca.issue([MX_HOST])
    chain = [mutate(issued.cert, ca.intermediate_key), mutate(ca.intermediate, ca.root_key)]
    records = [
        TlsaRecord(usage, selector, 1, association_data(chain[index], selector, 1))
        for usage, selector, index in ((3, 0, 0), (2, 0, 1), (2, 1, 1))
    ]
    result = match_chain(records, chain, mx_host=MX_HOST, now=ca.now)
    # DANE-EE 3 0 1 pins the bytes and needs no parsing; DANE-TA needs the leaf parsed.
    assert [o.authenticated for o in result.outcomes] == [True] + [False] * (len(records) - 1)


def test_every_exception_class_of_cryptography_is_caught() -> None:
    # The one place that turns certificate bytes into a description must catch
    # whatever cryptography may raise; a new exception class there fails this.
    import inspect

    import cryptography.exceptions
    import cryptography.x509

    from mxtls.trust.certinfo import CERTIFICATE_ERRORS

    raised = {
        obj
        for module in (cryptography.exceptions, cryptography.x509)
        for obj in vars(module).values()
        if inspect.isclass(obj) and issubclass(obj, Exception)
    }
    assert raised
    assert all(issubclass(cls, CERTIFICATE_ERRORS) for cls in raised), sorted(
        cls.__name__ for cls in raised if not issubclass(cls, CERTIFICATE_ERRORS)
    )


def test_dane_ee_authenticates_an_unparsable_leaf_it_pins() -> None:
    # DANE-EE "3 0 1" pins the bytes of the leaf; it needs no X.509 parse, and a
    # DANE sender (Postfix) matches it: the unparsable leaf must stay matchable.
    import hashlib

    from mxtls.engine.derive import match_endpoints
    from mxtls.models.dane import TlsaLookup
    from mxtls.models.observations import DnsAnswer, TlsHandshake
    from mxtls.trust.certinfo import describe_chain

    ca = LabCA()
    issued = ca.issue([MX_HOST])
    leaf = with_version(issued.cert, ca.intermediate_key, 12)
    chain, unparsable = describe_chain([leaf, der(ca.intermediate)])
    handshake = TlsHandshake(
        sni=MX_HOST, version="TLSv1.3", cipher="x", chain=chain, unparsable=unparsable
    )
    obs = EndpointObservation(
        host=MX_HOST,
        ip="192.0.2.1",
        port=25,
        connect_port=25,
        tls_mode="starttls",
        handshake=handshake,
    )
    record = f"3 0 1 {hashlib.sha256(leaf).hexdigest()}"
    lookup = TlsaLookup(
        host=MX_HOST,
        port=25,
        qname=f"_25._tcp.{MX_HOST}",
        base_domain=MX_HOST,
        answer=DnsAnswer(
            qname=f"_25._tcp.{MX_HOST}", rdtype="TLSA", status="NOERROR", records=[record]
        ),
        records=[record],
    )
    (result,) = match_endpoints([lookup], [obs], ca.now)
    assert result.authenticated and result.matched_cert_index == 0
