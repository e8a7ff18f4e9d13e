"""DNSSEC trust anchors: the records a validation chain starts from.

``--trust-anchor FILE`` gives DS or DNSKEY records in zone-file text (unbound's
``root.key`` reads as is); without it the IANA root KSKs built in here are used.
Parsing only, no I/O beyond reading the file.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import dns.exception
import dns.name
import dns.rdatatype
from dns.rdtypes.ANY.DNSKEY import DNSKEY
from dns.rdtypes.ANY.DS import DS

from mxtls.errors import ConfigError

MAX_ANCHOR_FILE_BYTES = 1 << 20  # a trust anchor file is a few lines
DNSKEY_ZONE_FLAG = 0x0100  # RFC 4034 §2.1.1: only zone keys sign zone data

# IANA root zone KSKs (https://data.iana.org/root-anchors/root-anchors.xml):
# KSK-2017 (key tag 20326) and KSK-2024 (key tag 38696), as DS with SHA-256.
ROOT_TRUST_ANCHORS = """\
. IN DS 20326 8 2 E06D44B80B8F1D39A95C0B0D7C65D08458E880409BBC683457104237C7F8EC8D
. IN DS 38696 8 2 683D2D0ACB8C9B712A1948B27F741219298D0A450D612C483AF444A4C0FB2B16
"""


@dataclass(frozen=True, slots=True)
class TrustAnchor:
    """One DS or DNSKEY record that starts a chain of trust at ``name``."""

    name: dns.name.Name
    rdata: DS | DNSKEY


def load_trust_anchor(path: Path | str | None) -> list[TrustAnchor]:
    """Read DS/DNSKEY records in zone-file text (``None``: the IANA root KSKs).

    Owner names must be absolute or are taken relative to the root; comments
    and a TTL or class are allowed (unbound's ``root.key`` format reads).

    Raises:
        ConfigError: the file cannot be read, does not parse, holds no
            records or records other than DS and DNSKEY, or a DNSKEY that
            is not a zone key.
    """
    if path is None:
        text, where = ROOT_TRUST_ANCHORS, "built-in root trust anchor"
    else:
        where = f"trust anchor file {str(path)!r}"
        try:
            with open(path, "rb") as handle:
                raw = handle.read(MAX_ANCHOR_FILE_BYTES + 1)
        except OSError as exc:
            raise ConfigError(f"cannot read {where}: {exc.strerror or exc}") from None
        if len(raw) > MAX_ANCHOR_FILE_BYTES:
            raise ConfigError(f"{where}: larger than {MAX_ANCHOR_FILE_BYTES} bytes")
        try:
            text = raw.decode("ascii")
        except UnicodeDecodeError:
            raise ConfigError(f"{where}: not ASCII zone-file text") from None
    import dns.zonefile  # the zone-file parser is needed only here, in validate mode

    try:
        rrsets = dns.zonefile.read_rrsets(text, rdclass=None, default_ttl=0)
    except (dns.exception.DNSException, ValueError) as exc:
        raise ConfigError(f"{where}: not DS/DNSKEY zone-file text: {exc}") from None
    anchors: list[TrustAnchor] = []
    for rrset in rrsets:
        for rdata in rrset:
            if isinstance(rdata, DNSKEY) and rrset.rdtype == dns.rdatatype.DNSKEY:
                if not rdata.flags & DNSKEY_ZONE_FLAG:
                    raise ConfigError(f"{where}: DNSKEY for {rrset.name} is not a zone key")
                anchors.append(TrustAnchor(rrset.name, rdata))
            elif isinstance(rdata, DS) and rrset.rdtype == dns.rdatatype.DS:
                anchors.append(TrustAnchor(rrset.name, rdata))
            else:
                kind = dns.rdatatype.to_text(rrset.rdtype)
                raise ConfigError(f"{where}: {kind} record for {rrset.name}; only DS and DNSKEY")
    if not anchors:
        raise ConfigError(f"{where}: no DS or DNSKEY record")
    return anchors
