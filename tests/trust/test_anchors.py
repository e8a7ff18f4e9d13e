"""Trust anchors: the built-in IANA root KSKs and user files, bad ones rejected."""

from __future__ import annotations

from pathlib import Path

import dns.dnssec
import dns.name
import dns.zonefile
import pytest
from dns.rdtypes.ANY.DNSKEY import DNSKEY
from dns.rdtypes.ANY.DS import DS

from mxtls.config import CheckConfig
from mxtls.errors import ConfigError
from mxtls.net.dnssec import DnssecProbe
from mxtls.trust.anchors import load_trust_anchor
from tests.dnssec_hierarchy import Hierarchy
from tests.peers import require_peer

DEBIAN_ROOT_KEY = Path("/usr/share/dns/root.key")  # package dns-root-data


def test_built_in_root_anchors_are_ksk_2017_and_ksk_2024() -> None:
    anchors = load_trust_anchor(None)
    assert {a.name for a in anchors} == {dns.name.root}
    assert all(isinstance(a.rdata, DS) for a in anchors)
    assert sorted(a.rdata.key_tag for a in anchors if isinstance(a.rdata, DS)) == [20326, 38696]


def test_built_in_root_anchors_match_the_published_root_keys() -> None:
    require_peer("dns-root-data", DEBIAN_ROOT_KEY.exists(), f"{DEBIAN_ROOT_KEY} absent")
    keys = dns.zonefile.read_rrsets(DEBIAN_ROOT_KEY.read_text(), rdclass=None, default_ttl=0)
    computed = {
        dns.dnssec.make_ds(dns.name.root, key, "SHA256")
        for rrset in keys
        for key in rrset
        if isinstance(key, DNSKEY)
    }
    assert {a.rdata for a in load_trust_anchor(None)} <= computed


def test_ds_and_dnskey_files_load(tmp_path: Path, hierarchy: Hierarchy) -> None:
    path = tmp_path / "anchors"
    path.write_text(
        "; our lab\n"
        + hierarchy.anchor_text
        + f"lab. 3600 IN DNSKEY {hierarchy.lab_dnskey.to_text()} ; the same key\n"
    )
    anchors = load_trust_anchor(path)
    assert [type(a.rdata) for a in anchors] == [DS, DNSKEY]
    assert {a.name for a in anchors} == {dns.name.from_text("lab.")}


@pytest.mark.parametrize(
    ("content", "why"),
    [
        (None, "cannot read"),
        ("", "no DS or DNSKEY"),
        ("; only a comment\n", "no DS or DNSKEY"),
        ("lab. IN DS not-a-ds\n", "zone-file text"),
        ("lab. IN A 127.0.0.1\n", "only DS and DNSKEY"),
        ("lab. IN DNSKEY 0 3 13 " + "A" * 88 + "\n", "not a zone key"),
        ("lab. IN DS 1 13 2 00\x00\n", "zone-file text"),
        ("l\u00e4b. IN DS 1 13 2 00\n", "not ASCII"),
    ],
)
def test_bad_trust_anchor_files_are_config_errors(
    tmp_path: Path, content: str | None, why: str
) -> None:
    path = tmp_path / "anchor"
    if content is not None:
        path.write_text(content, encoding="utf-8")
    with pytest.raises(ConfigError, match=why):
        load_trust_anchor(path)


def test_validate_mode_probe_rejects_a_bad_anchor_at_once(tmp_path: Path) -> None:
    path = tmp_path / "anchor"
    path.write_text("garbage\n")
    config = CheckConfig(nameservers=(("127.0.0.1", 9),), dnssec_validate=True, trust_anchor=path)
    with pytest.raises(ConfigError):
        DnssecProbe(config)
    # AD mode does not read the anchor.
    ad_config = CheckConfig(nameservers=(("127.0.0.1", 9),), trust_anchor=path)
    assert DnssecProbe(ad_config).mode == "ad"
