"""A small signed hierarchy of our own, served by the lab DNS server.

``lab.`` (signed, the trust anchor) delegates to:

- ``good.lab``     signed, DS in the parent: everything in it is secure;
- ``plain.lab``    unsigned, no DS: insecure, proven by the parent's NSEC;
- ``bogus.lab``    signed, DS in the parent, but ``mx.bogus.lab A`` was changed
                   after signing: its RRSIG no longer validates;
- ``wrongds.lab``  signed, but the parent's DS names another key;
- ``stripped.lab`` signed, DS in the parent, but served with every RRSIG
                   removed except those over its DNSKEY RRset;
- ``away.lab``     a signed delegation to a server we do not run (referral);
- ``gone.lab``     an unsigned delegation to a server we do not run (referral).

The server runs on its own event loop in a thread, so one server serves a
whole module (async tests each have their own loop) and a real unbound can
query it while a test blocks.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import dns.dnssec
import dns.dnssectypes
import dns.name
import dns.rdata
import dns.rdataclass
import dns.rdataset
import dns.rdatatype
import dns.zone
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from dns.rdtypes.ANY.DNSKEY import DNSKEY

from mxtls.lab.dns_server import DnsFault, DnsServer

ALGORITHM = dns.dnssectypes.Algorithm.ECDSAP256SHA256
ZONE_SEP_FLAGS = 0x0101  # RFC 4034 §2.1.1: zone key + secure entry point
SERVER_START_TIMEOUT_S = 5.0
BOGUS_ADDRESS = "127.0.0.66"  # what mx.bogus.lab A says after signing

SOA = "@ SOA ns.lab. hostmaster.lab. 1 3600 600 86400 300\n@ NS ns.lab.\n"

LAB = (
    "$TTL 300\n"
    + SOA
    + """
ns A 127.0.0.1
www A 127.0.0.1
good NS ns.lab.
plain NS ns.lab.
bogus NS ns.lab.
wrongds NS ns.lab.
stripped NS ns.lab.
away NS ns.away.lab.
ns.away A 127.0.0.9
gone NS ns.gone.lab.
ns.gone A 127.0.0.9
"""
)

GOOD = (
    "$TTL 300\n"
    + SOA
    + """
@ MX 10 mx.good.lab.
mx A 127.0.0.1
mx AAAA ::1
_25._tcp.mx TLSA 3 1 1 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
alias CNAME mx
toplain CNAME mx.plain.lab.
tobogus CNAME mx.bogus.lab.
"""
    + "".join(f'big TXT "{i:02d}{"x" * 200}"\n' for i in range(10))  # > 1232 bytes: TCP
)

SIMPLE = "$TTL 300\n" + SOA + "@ MX 10 mx\nmx A 127.0.0.1\n"


@dataclass
class Hierarchy:
    """The zones, the keys and the trust anchor of the test hierarchy."""

    zones: dict[str, dns.zone.Zone]
    anchor_text: str  # "lab. IN DS ..." for mxtls and unbound
    lab_dnskey: DNSKEY
    faults: dict[dns.name.Name, DnsFault] = field(default_factory=dict)

    def write_anchor(self, directory: Path) -> Path:
        path = directory / "lab.anchor"
        path.write_text(self.anchor_text)
        return path


def _key() -> tuple[ec.EllipticCurvePrivateKey, DNSKEY]:
    private = ec.generate_private_key(ec.SECP256R1())
    dnskey = dns.dnssec.make_dnskey(private.public_key(), ALGORITHM, flags=ZONE_SEP_FLAGS)
    return private, dnskey


def _zone(text: str, origin: str) -> dns.zone.Zone:
    return dns.zone.from_text(text, origin, relativize=False)


def _sign(zone: dns.zone.Zone, key: tuple[ec.EllipticCurvePrivateKey, DNSKEY]) -> None:
    now = int(time.time())
    dns.dnssec.sign_zone(
        zone,
        keys=[key],
        add_dnskey=True,
        dnskey_ttl=300,
        inception=now - 3600,  # RFC 6781 §4.1.4: allow for clock skew
        expiration=now + 86400,
    )


def _add(zone: dns.zone.Zone, name: str, rdtype: str, *texts: str) -> None:
    owner = dns.name.from_text(name)
    rdataset = dns.rdataset.Rdataset(dns.rdataclass.IN, dns.rdatatype.from_text(rdtype))
    for text in texts:
        rdataset.add(dns.rdata.from_text("IN", rdtype, text), 300)
    with zone.writer() as txn:
        txn.replace(owner, rdataset)


def _strip_signatures(zone: dns.zone.Zone) -> None:
    """Remove every RRSIG but the DNSKEY RRset's (a downgrade in transit)."""
    with zone.writer() as txn:
        for name in list(txn.iterate_names()):
            node = txn.get_node(name)
            assert node is not None
            for rdataset in list(node.rdatasets):
                if (
                    rdataset.rdtype == dns.rdatatype.RRSIG
                    and rdataset.covers != dns.rdatatype.DNSKEY
                ):
                    txn.delete(name, dns.rdatatype.RRSIG, rdataset.covers)


def build_hierarchy() -> Hierarchy:
    lab_key, good_key, bogus_key, wrong_key, other_key, away_key, stripped_key = (
        _key() for _ in range(7)
    )
    good = _zone(GOOD, "good.lab.")
    _sign(good, good_key)
    plain = _zone(SIMPLE, "plain.lab.")
    bogus = _zone(SIMPLE, "bogus.lab.")
    _sign(bogus, bogus_key)
    # Changed after signing: the RRSIG over the old address stays and fails.
    _add(bogus, "mx.bogus.lab.", "A", BOGUS_ADDRESS)
    wrongds = _zone(SIMPLE, "wrongds.lab.")
    _sign(wrongds, wrong_key)
    stripped = _zone(SIMPLE, "stripped.lab.")
    _sign(stripped, stripped_key)
    _strip_signatures(stripped)

    lab = _zone(LAB, "lab.")
    for child, key in (
        ("good", good_key),
        ("bogus", bogus_key),
        ("wrongds", other_key),  # a DS for a key that wrongds.lab does not have
        ("stripped", stripped_key),
        ("away", away_key),
    ):
        ds = dns.dnssec.make_ds(f"{child}.lab.", key[1], "SHA256")
        _add(lab, f"{child}.lab.", "DS", ds.to_text())
    _sign(lab, lab_key)
    anchor = dns.dnssec.make_ds("lab.", lab_key[1], "SHA256")
    zones = {
        "lab": lab,
        "good.lab": good,
        "plain.lab": plain,
        "bogus.lab": bogus,
        "wrongds.lab": wrongds,
        "stripped.lab": stripped,
    }
    return Hierarchy(
        zones=zones,
        anchor_text=f"lab. IN DS {anchor.to_text()}\n",
        lab_dnskey=lab_key[1],
        faults={dns.name.from_text("silent.good.lab."): DnsFault.TIMEOUT},
    )


class ThreadedDnsServer:
    """A :class:`DnsServer` on its own loop in a daemon thread."""

    def __init__(self, server: DnsServer) -> None:
        self.server = server
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="dnssec-test-dns", daemon=True)

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        try:
            self._loop.run_until_complete(self.server.start("127.0.0.1", 0))
        except BaseException as exc:  # reported to the starting thread
            self._error = exc
            self._ready.set()
            return
        self._ready.set()
        self._loop.run_forever()
        self._loop.run_until_complete(self.server.stop())
        self._loop.close()

    def start(self) -> tuple[str, int]:
        self._thread.start()
        if not self._ready.wait(SERVER_START_TIMEOUT_S) or self._error is not None:
            raise RuntimeError("test DNS server did not start") from self._error
        return self.server.address

    def stop(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(SERVER_START_TIMEOUT_S)


@pytest.fixture(scope="module")
def hierarchy() -> Hierarchy:
    return build_hierarchy()


@pytest.fixture(scope="module")
def authority(hierarchy: Hierarchy) -> Iterator[DnsServer]:
    """The hierarchy on a plain, non-validating authoritative server."""
    threaded = ThreadedDnsServer(DnsServer(hierarchy.zones.values(), faults=hierarchy.faults))
    threaded.start()
    try:
        yield threaded.server
    finally:
        threaded.stop()


@pytest.fixture(scope="module")
def anchor_file(hierarchy: Hierarchy, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return hierarchy.write_anchor(tmp_path_factory.mktemp("anchor"))
