"""A synthetic world for scale: N domains hosted on a handful of lab MX hosts.

Hosted mail looks like this on the Internet: millions of domains, a few
providers' MX hosts.  ``Lab(synthetic=N)`` (``mxtls lab --synthetic N``)
serves it on loopback so the bulk scanner's throughput, its work done once
per MX host and its memory can be measured on one machine:

* ``synth.lab`` is an ordinary (unsigned) lab zone whose MX hosts
  ``mx1.synth.lab`` … ``mxK.synth.lab`` are real lab SMTP servers with good
  certificates on the three lab ports;
* the domains ``d1.synth.lab`` … ``dN.synth.lab`` are not zone data: the DNS
  server computes their answers (:meth:`SyntheticWorld.answer`), so a
  million domains cost no memory.  Domain ``i`` has ``MX 10 mx<k>`` with
  ``k = (i - 1) % K + 1``; every fifth domain also has a backup ``MX 20`` on
  the next host, every second one a TLS-RPT record, every fiftieth a null
  MX (RFC 7505); ``mail_every`` turns all but every such domain into null
  MX domains (cheap to check: memory tests use it).  Nothing publishes
  MTA-STS (its policy host would need a certificate per domain), so each
  domain's ``_mta-sts`` lookup is answered NXDOMAIN, as for most real domains.

Each domain thus costs a scanner the lookups a real one costs (MX, the
MTA-STS and TLS-RPT TXT records, the MX hosts' A/AAAA/TLSA/CAA once per
scan) and shares its MX probes with the other domains on that host.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import dns.name
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.rrset

from mxtls.lab.scenarios import HostSpec, Scenario

SYNTH_ZONE = "synth.lab"
DEFAULT_HOSTS = 4  # "a handful" of provider MX hosts
BACKUP_EVERY = 5  # every fifth domain has a second MX
TLS_RPT_EVERY = 2  # every second domain publishes TLS-RPT
NULL_MX_EVERY = 50  # every fiftieth domain accepts no mail
TTL_S = 300
MAX_DOMAINS = 10_000_000


@dataclass(frozen=True, slots=True)
class SyntheticWorld:
    """``count`` domains under ``synth.lab`` on ``hosts`` MX hosts (see the module docstring)."""

    count: int
    hosts: int = DEFAULT_HOSTS
    mail_every: int = 1  # only every such domain accepts mail; the others are null MX

    def __post_init__(self) -> None:
        if not 0 < self.count <= MAX_DOMAINS:
            raise ValueError(f"the synthetic world has 1..{MAX_DOMAINS} domains")
        if not 0 < self.hosts <= 50:
            raise ValueError("the synthetic world has 1..50 MX hosts")
        if self.mail_every < 1:
            raise ValueError("mail_every must be at least 1")

    @property
    def origin(self) -> dns.name.Name:
        """``synth.lab.``"""
        return dns.name.from_text(SYNTH_ZONE)

    def host_name(self, k: int) -> str:
        """The name of MX host ``k`` (1-based)."""
        return f"mx{k}.{SYNTH_ZONE}"

    def domain(self, i: int) -> str:
        """The name of domain ``i`` (1-based)."""
        return f"d{i}.{SYNTH_ZONE}"

    def domains(self, limit: int | None = None) -> Iterator[str]:
        """The domains in order (the first ``limit`` of them)."""
        last = self.count if limit is None else min(limit, self.count)
        for i in range(1, last + 1):
            yield self.domain(i)

    def scenario(self) -> Scenario:
        """The lab row for ``synth.lab`` and its MX hosts (healthy servers)."""
        return Scenario(
            domain=SYNTH_ZONE,
            description=f"synthetic world: {self.count} domains on {self.hosts} MX hosts",
            expected=frozenset(),
            hosts=tuple(HostSpec(name=self.host_name(k)) for k in range(1, self.hosts + 1)),
        )

    def mx_records(self, i: int) -> list[str]:
        """Domain ``i``'s MX rdata in presentation form."""
        if i % NULL_MX_EVERY == 0 or i % self.mail_every:
            return ["0 ."]
        k = (i - 1) % self.hosts + 1
        records = [f"10 {self.host_name(k)}."]
        if i % BACKUP_EVERY == 0 and self.hosts > 1:
            records.append(f"20 {self.host_name(k % self.hosts + 1)}.")
        return records

    def _index(self, label: bytes) -> int | None:
        if len(label) < 2 or label[:1] != b"d" or not label[1:].isdigit():
            return None
        i = int(label[1:])
        return i if 0 < i <= self.count and label[1:2] != b"0" else None

    def answer(
        self, qname: dns.name.Name, qtype: dns.rdatatype.RdataType
    ) -> list[dns.rrset.RRset] | None:
        """The answer RRsets for a synthetic name (``[]``: NODATA), None when not ours.

        Names that are not synthetic domains (the MX hosts, ``synth.lab``
        itself, ``_mta-sts.dN``) are left to the zone, which answers them or
        says NXDOMAIN.
        """
        if not qname.is_subdomain(self.origin) or qname == self.origin:
            return None
        labels = qname.relativize(self.origin).labels
        if len(labels) == 1 and (i := self._index(labels[0].lower())) is not None:
            if qtype != dns.rdatatype.MX:
                return []
            return [_rrset(qname, dns.rdatatype.MX, self.mx_records(i))]
        if len(labels) == 3 and [x.lower() for x in labels[:2]] == [b"_smtp", b"_tls"]:
            i = self._index(labels[2].lower())
            if i is None or i % TLS_RPT_EVERY:
                return None
            if qtype != dns.rdatatype.TXT:
                return []
            rua = f'"v=TLSRPTv1; rua=mailto:tlsrpt@{self.domain(i)}"'
            return [_rrset(qname, dns.rdatatype.TXT, [rua])]
        return None


_RDATA: dict[tuple[dns.rdatatype.RdataType, str], dns.rdata.Rdata] = {}
_RDATA_MAX = 4096  # parsed rdata kept (the MX sets repeat; TXT ones are per domain)


def _rrset(
    name: dns.name.Name, rdtype: dns.rdatatype.RdataType, texts: list[str]
) -> dns.rrset.RRset:
    """An RRset of ``texts`` at ``name``; each rdata parsed once and kept (bounded)."""
    rrset = dns.rrset.RRset(name, dns.rdataclass.IN, rdtype)
    for text in texts:
        rdata = _RDATA.get((rdtype, text))
        if rdata is None:
            rdata = dns.rdata.from_text(dns.rdataclass.IN, rdtype, text)
            if len(_RDATA) < _RDATA_MAX:
                _RDATA[(rdtype, text)] = rdata
        rrset.add(rdata, TTL_S)
    return rrset
