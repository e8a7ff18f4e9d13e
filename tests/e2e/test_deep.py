"""--deep and scan-host end to end: on the lab, and on a real Postfix with legacy settings."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import replace

from mxtls.config import CheckConfig
from mxtls.engine.run import check_domain
from mxtls.lab.world import Lab
from mxtls.models.findings import Severity
from mxtls.testing import PostfixInstance, PostfixPeer


async def test_deep_check_of_the_clean_lab_domain(lab: Lab, lab_cfg: CheckConfig) -> None:
    report = await check_domain("good.lab", replace(lab_cfg, deep=True))
    assert [f for f in report.findings if f.severity != Severity.INFO] == []
    scans = [d for h in report.hosts for d in h.deep]
    # Every endpoint that spoke TLS was deep-scanned, with the flaws probed too.
    assert len(scans) == report.summary.endpoints_with_tls
    for scan in scans:
        versions = {p.version: p.support for p in scan.tls.protocols}
        assert versions["TLSv1.3"] == "accepted" and versions["SSLv3"] == "rejected"
        assert scan.vulns is not None and scan.vulns.heartbleed.vulnerable is False
        assert not scan.tls.throttled


def test_scan_host_on_a_legacy_postfix(postfix_good: PostfixPeer) -> None:
    # Given a real Postfix that still accepts TLS 1.0/1.1 and a 1024-bit DH group,
    ok, why = PostfixInstance.available()
    assert ok, why
    ca = postfix_good.ca
    issued = ca.issue(["mx.legacy.test"], key="rsa2048", key_slot=21)
    settings = {
        "smtpd_tls_protocols": ">=TLSv1",
        "smtpd_tls_mandatory_protocols": ">=TLSv1",
        "tls_high_cipherlist": "ALL:@SECLEVEL=0",
        "smtpd_tls_ciphers": "high",
        "smtpd_tls_exclude_ciphers": "aNULL, eNULL",
    }
    with PostfixInstance(
        "mx.legacy.test", issued.chain_pem(), issued.key_pem(), ports={25: 0}, settings=settings
    ) as pf:
        # when scan-host probes it through the CLI,
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "mxtls",
                "scan-host",
                f"{pf.ip}:25",
                "--json",
                "--port-map",
                f"25:{pf.port_map[25]}",
                "--ca-file",
                str(postfix_good.ca_file),
                "--timeout",
                "5",
            ],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
            env={**os.environ, "NO_COLOR": "1"},
        )
    # then the legacy protocols are found and judged, and nothing crashed.
    assert proc.returncode == 0, proc.stderr[-2000:]  # legacy TLS is a warning
    doc = json.loads(proc.stdout)
    assert doc["kind"] == "servers"  # scan-host is `server --deep`
    codes = {f["code"] for f in doc["findings"]}
    assert "tls.protocol_legacy" in codes, codes
    assert all(f["severity"] != "error" for f in doc["findings"]), doc["findings"]
    deep = doc["hosts"][0]["deep"][0]["tls"]
    accepted = {p["version"] for p in deep["protocols"] if p["support"] == "accepted"}
    assert {"TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3"} <= accepted


async def test_deep_scan_checks_dane_for_every_key_type(lab: Lab, lab_cfg: CheckConfig) -> None:
    # Given an MX with an ECDSA and an RSA certificate, TLSA pinning only the ECDSA key:
    # a full client gets ECDSA and DANE passes (the plain check is clean),
    plain = await check_domain("dane-dualkey.lab", lab_cfg)
    assert [f for f in plain.findings if f.severity != Severity.INFO] == []
    # but with --deep the RSA certificate, which RSA-only DANE senders get, is matched too.
    deep = await check_domain("dane-dualkey.lab", replace(lab_cfg, deep=True, ports=(25,)))
    mismatch = [f for f in deep.findings if f.code == "dane.mismatch"]
    assert mismatch and all("RSA" in f.message for f in mismatch)
    assert "delivery.strict_senders_fail" in {f.code for f in deep.findings}
    assert "cert.sni_differs" not in {f.code for f in deep.findings}
