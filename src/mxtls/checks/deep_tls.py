"""Checks on the deep TLS scan: what the server *accepts*, not just what it negotiated.

Pure: a :class:`DeepScanObservation` in, findings out.  The named attacks are
expressed through the ``tls.*`` codes (findings.md), in their messages:

* DROWN (CVE-2016-0800): SSLv2 accepted -> ``tls.protocol_obsolete``;
* POODLE (CVE-2014-3566): SSLv3 with CBC suites -> ``tls.protocol_obsolete``;
* FREAK (CVE-2015-0204): RSA EXPORT suites -> ``tls.cipher_weak``;
* Logjam (CVE-2015-4000): DHE EXPORT suites -> ``tls.cipher_weak``, DH groups
  of 1024 bits or less -> ``tls.dh_weak``;
* SWEET32 (CVE-2016-2183): 64-bit block ciphers (3DES, DES, IDEA, RC2) ->
  ``tls.cipher_weak``;
* CRIME (CVE-2012-4929): TLS compression -> ``tls.compression``.
"""

from __future__ import annotations

from mxtls.checks._common import join_names
from mxtls.checks.codes import make_finding
from mxtls.models.deep import DeepScanObservation, ProtocolResult, SuiteInfo
from mxtls.models.findings import Finding
from mxtls.protocol.tls_registry import (
    SSL2_CIPHER_SPECS,
    BulkCipher,
    CipherSuite,
    KeyExchange,
    cipher_suite,
)

MIN_DH_BITS = 2048  # RFC 9325 §4.1 / NIST SP 800-57: smaller FFDHE groups are weak
LOGJAM_DH_BITS = 1024  # Logjam paper (Adrian et al. 2015): 1024-bit groups within reach
OBSOLETE = ("SSLv2", "SSLv3")  # RFC 6176, RFC 7568
LEGACY = ("TLSv1", "TLSv1.1")  # RFC 8996


def check_deep(obs: DeepScanObservation, target: str) -> list[Finding]:
    """Judge the deep scan of one endpoint (``target`` is ``MXHOST[IP]:PORT``).

    Emits:
        ``tls.protocol_obsolete`` — RFC 7568 §3: "SSLv3 MUST NOT be used";
        RFC 6176 §2: clients and servers "MUST NOT" negotiate SSL 2.0.
        ``tls.protocol_legacy`` — RFC 8996 §4/§5: TLS 1.0 and 1.1 "MUST NOT be used".
        ``tls.no_tls13`` — TLS 1.3 refused while older versions work (RFC 9325 §3.1:
        "Implementations SHOULD support TLS 1.3").
        ``tls.cipher_weak`` — RFC 9325 §4.1: "MUST NOT negotiate the cipher suites
        with NULL encryption", "MUST NOT negotiate RC4 cipher suites", "MUST NOT
        negotiate cipher suites offering less than 112 bits of security"
        (EXPORT, DES); anonymous suites authenticate nobody; 64-bit blocks fall
        to SWEET32.
        ``tls.no_forward_secrecy`` — RFC 9325 §4.1: "SHOULD NOT negotiate cipher
        suites based on RSA key transport" (static RSA/DH/ECDH accepted, or
        picked for a current client).
        ``tls.dh_weak`` — RFC 9325 §4.1: DHE groups "smaller than 2048 bits" are
        not to be used.
        ``tls.compression`` — RFC 9325 §3.3: "implementations MUST NOT support
        TLS-level compression" (CRIME).
        ``tls.insecure_renegotiation`` — RFC 5746 §3: no renegotiation_info.
        ``tls.no_ems`` — RFC 7627 §5: the extended master secret is not used.
        ``smtp.rate_limited`` — the server throttled the scan; the message names
        what could not be tested.
    """
    findings: list[Finding] = []
    if obs.throttled:
        untested = join_names(obs.untested) or "nothing"
        findings.append(
            make_finding(
                "smtp.rate_limited",
                target,
                f"{target}: server throttled the deep TLS scan after {obs.connections_used} "
                f"connections; not tested: {untested}",
            )
        )
    accepted = [p for p in obs.protocols if p.support == "accepted"]
    findings += _protocols(obs, accepted, target)
    findings += _ciphers(obs, accepted, target)
    if obs.dh_bits is not None and obs.dh_bits < MIN_DH_BITS:
        logjam = (
            " (Logjam: within reach of precomputation)" if obs.dh_bits <= LOGJAM_DH_BITS else ""
        )
        findings.append(
            make_finding(
                "tls.dh_weak",
                target,
                f"{target}: DHE uses a {obs.dh_bits}-bit DH group, below {MIN_DH_BITS}{logjam}",
            )
        )
    findings += _behaviour(obs, target)
    return findings


def _protocols(
    obs: DeepScanObservation, accepted: list[ProtocolResult], target: str
) -> list[Finding]:
    findings = []
    names = {p.version for p in accepted}
    obsolete = []
    if "SSLv2" in names:
        obsolete.append("SSLv2 (DROWN: its RSA key can decrypt the server's TLS sessions)")
    sslv3 = obs.protocol("SSLv3")
    if sslv3 is not None and sslv3.support == "accepted":
        cbc = [s for s in sslv3.suites if (suite := _suite(s)) is not None and suite.cbc]
        obsolete.append("SSLv3 (POODLE: CBC suites accepted)" if cbc else "SSLv3")
    if obsolete:
        findings.append(
            make_finding(
                "tls.protocol_obsolete", target, f"{target}: accepts {', '.join(obsolete)}"
            )
        )
    legacy = [v for v in LEGACY if v in names]
    if legacy:
        findings.append(
            make_finding(
                "tls.protocol_legacy", target, f"{target}: accepts legacy {', '.join(legacy)}"
            )
        )
    tls13 = obs.protocol("TLSv1.3")
    if tls13 is not None and tls13.support == "rejected" and accepted:
        newest = accepted[-1].version
        findings.append(
            make_finding(
                "tls.no_tls13", target, f"{target}: TLS 1.3 not supported (best is {newest})"
            )
        )
    return findings


def _suite(info: SuiteInfo) -> CipherSuite | None:
    return cipher_suite(info.code)


def weakness(suite: CipherSuite) -> str | None:
    """Why an accepted suite is weak, naming the attack where there is one."""
    if suite.export:
        if suite.kx is KeyExchange.RSA:
            return "RSA EXPORT (FREAK)"
        if suite.kx is KeyExchange.DHE and not suite.anonymous:
            return "DHE EXPORT (Logjam)"
        return "EXPORT"
    if suite.cipher is BulkCipher.NULL:
        return "NULL encryption"
    if suite.anonymous:
        return "anonymous (no server authentication)"
    if suite.cipher is BulkCipher.RC4:
        return "RC4"
    if suite.cipher is BulkCipher.TRIPLE_DES:
        return "3DES (SWEET32)"
    if suite.sweet32:
        return f"{suite.cipher.value} 64-bit block (SWEET32)"
    return None


def _ciphers(
    obs: DeepScanObservation, accepted: list[ProtocolResult], target: str
) -> list[Finding]:
    weak: dict[str, list[str]] = {}
    static: list[str] = []
    for proto in accepted:
        for info in proto.suites:
            if proto.version == "SSLv2":
                spec = SSL2_CIPHER_SPECS.get(info.code)
                kind = "EXPORT" if spec is None or spec.export else spec.cipher.value
                weak.setdefault(f"SSLv2 {kind}", []).append(info.iana_name)
                continue
            suite = _suite(info)
            if suite is None:
                continue
            reason = weakness(suite)
            if reason is not None:
                weak.setdefault(reason, []).append(info.iana_name)
            static_kx = not suite.forward_secret and suite.kx is not KeyExchange.NULL
            if static_kx and info.iana_name not in static:
                static.append(info.iana_name)
    findings = []
    if weak:
        parts = [f"{why}: {join_names(dict.fromkeys(names), 3)}" for why, names in weak.items()]
        findings.append(
            make_finding(
                "tls.cipher_weak", target, f"{target}: weak suites accepted; {'; '.join(parts)}"
            )
        )
    default = obs.default
    if default is not None and not default.forward_secret:
        findings.append(
            make_finding(
                "tls.no_forward_secrecy",
                target,
                f"{target}: a current client gets {default.suite.iana_name} over "
                f"{default.version}: static key exchange, no forward secrecy",
            )
        )
    elif static:
        findings.append(
            make_finding(
                "tls.no_forward_secrecy",
                target,
                f"{target}: static key-exchange suites accepted (no forward secrecy): "
                f"{join_names(static, 3)}",
            )
        )
    return findings


def _behaviour(obs: DeepScanObservation, target: str) -> list[Finding]:
    b = obs.behaviour
    if b is None:
        return []
    findings = []
    if b.compression not in (None, 0):
        findings.append(
            make_finding(
                "tls.compression",
                target,
                f"{target}: TLS compression (method {b.compression}) accepted on {b.version}: "
                "CRIME",
            )
        )
    if b.secure_renegotiation is False:
        findings.append(
            make_finding(
                "tls.insecure_renegotiation",
                target,
                f"{target}: no renegotiation_info on {b.version}: RFC 5746 secure "
                "renegotiation not supported",
            )
        )
    if b.extended_master_secret is False:
        findings.append(
            make_finding(
                "tls.no_ems",
                target,
                f"{target}: {b.version} without the Extended Master Secret extension (RFC 7627)",
            )
        )
    return findings
