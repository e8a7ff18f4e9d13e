"""The cache's TTL of a negative answer: RFC 2308's, as dnspython computes it, found faster.

:func:`mxtls.net.dns.negative_ttl` reads an NXDOMAIN response's records once
instead of dnspython's ancestor-by-ancestor search; each case here is a
response as a server could send it, and the TTL must be the one dnspython's
own ``resolve_chaining`` gives (bounded as every cached TTL is).
"""

from __future__ import annotations

import dns.message
import pytest

from mxtls.lab.world import Lab
from mxtls.net.dns import DnsClient, _ttl, negative_ttl

HEADER = "id 1\nopcode QUERY\nrcode NXDOMAIN\nflags QR AA RD\n"


def _response(question: str, answer: str = "", authority: str = "") -> dns.message.Message:
    # dnspython's text format ends a message at its first blank line
    sections = [";QUESTION", question, ";ANSWER", answer, ";AUTHORITY", authority]
    return dns.message.from_text(HEADER + "\n".join(s for s in sections if s) + "\n")


SOA = "example. 900 IN SOA ns.example. admin.example. 1 7200 900 1209600 {minimum}"
CASES = {
    "soa minimum below its ttl": ("x.example. IN TXT", "", SOA.format(minimum=60)),
    "soa ttl below its minimum": ("x.example. IN TXT", "", SOA.format(minimum=86400)),
    "no soa": ("x.example. IN TXT", "", ""),
    "soa of another zone": (
        "x.example. IN TXT",
        "",
        SOA.format(minimum=60).replace("example.", "other.", 1),
    ),
    "nearest of two soas": (
        "a.b.example. IN A",
        "",
        SOA.format(minimum=600) + "\nb.example. 120 IN SOA ns.b.example. h.b.example. 1 1 1 1 30",
    ),
    "cname chain then nothing": (
        "www.example. IN A",
        "www.example. 50 IN CNAME alias.example.\nalias.example. 400 IN CNAME gone.zone.",
        "zone. 800 IN SOA ns.zone. admin.zone. 1 7200 900 1209600 700",
    ),
    "soa owner is the name itself": (
        "example. IN MX",
        "",
        SOA.format(minimum=45),
    ),
    "question for a cname": (
        "www.example. IN CNAME",
        "",
        SOA.format(minimum=90),
    ),
    "ttl above the cache bound": (
        "x.example. IN TXT",
        "",
        "example. 86400 IN SOA ns.example. admin.example. 1 7200 900 1209600 86400",
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_negative_ttl_is_dnspythons(case: str) -> None:
    response = _response(*CASES[case])
    assert negative_ttl(response) == _ttl(response)


def test_a_cname_loop_falls_back_to_dnspythons_verdict() -> None:
    loop = "a.example. 60 IN CNAME b.example.\nb.example. 60 IN CNAME a.example."
    response = _response("a.example. IN A", loop, SOA.format(minimum=60))
    assert negative_ttl(response) == _ttl(response)


async def test_every_negative_answer_of_the_lab(lab: Lab) -> None:
    # Given the lab's resolver, names that do not exist in signed and unsigned zones
    client = DnsClient((lab.nameserver,), timeout=2.0)
    names = [
        ("no-such-name.good.lab", "A"),
        ("_mta-sts.nostarttls.lab", "TXT"),
        ("_submissions._tcp.bench.lab", "SRV"),
        ("nothing.bogus.lab", "A"),
        ("x.y.z.secure.lab", "TLSA"),
    ]
    seen = 0
    for qname, rdtype in names:
        exchange = await client.exchange(qname, rdtype)
        if exchange.answer.status != "NXDOMAIN" or exchange.response is None:
            continue
        seen += 1
        # Then the TTL kept is the one dnspython computes for the same response
        assert negative_ttl(exchange.response) == _ttl(exchange.response)
    assert seen >= 3
