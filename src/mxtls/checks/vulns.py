"""Known-flaw checks: the deep scan's vulnerability observations -> findings.

Pure: no I/O, no clock.  A probe that could not run (``vulnerable is None``)
produces no finding; its observation keeps the reason for the detail view.

Codes:
    vuln.heartbleed (CVE-2014-0160): RFC 6520 §4, "If the payload_length of a
        received HeartbeatMessage is too large, the received HeartbeatMessage
        MUST be discarded silently" -- the server answered with more than was sent.
    vuln.ccs_injection (CVE-2014-0224): RFC 5246 §7.1, ChangeCipherSpec comes
        after the key exchange -- the server accepted one before it.
    vuln.robot (ROBOT, Bleichenbacher oracle): RFC 5246 §7.4.7.1, a server
        must not let the client learn whether the PKCS #1 padding was correct --
        its answers differed by padding, the same way twice.
    starttls.injection (CVE-2011-0411 class): RFC 3207 §4.2, the server "MUST
        discard any knowledge obtained from the client" before TLS -- it ran a
        command pipelined in plaintext after STARTTLS inside the TLS session.
"""

from __future__ import annotations

from mxtls.checks.codes import make_finding
from mxtls.models.findings import Finding
from mxtls.models.vulns import VulnObservation


def check_vulns(obs: VulnObservation, target: str) -> list[Finding]:
    """Findings for the known flaws the endpoint's server showed.

    Args:
        obs: the vulnerability probes of one endpoint.
        target: the endpoint target, ``MXHOST[IP]:PORT``.

    Returns:
        ``vuln.heartbleed``, ``vuln.ccs_injection``, ``vuln.robot`` and
        ``starttls.injection`` findings, one per flaw observed (none for a flaw
        that was not observed or could not be tested).
    """
    findings: list[Finding] = []
    hb = obs.heartbleed
    if hb.vulnerable:
        size = hb.response_record_bytes
        findings.append(
            make_finding(
                "vuln.heartbleed",
                target,
                f"Heartbleed (CVE-2014-0160): a {hb.request_record_bytes}-byte heartbeat "
                f"request drew a {size}-byte response ({hb.version}): server memory leaks",
            )
        )
    ccs = obs.ccs_injection
    if ccs.vulnerable:
        findings.append(
            make_finding(
                "vuln.ccs_injection",
                target,
                f"CCS injection (CVE-2014-0224): an early ChangeCipherSpec was accepted "
                f"({ccs.version}; then: {ccs.second_reply})",
            )
        )
    robot = obs.robot
    if robot.vulnerable:
        findings.append(
            make_finding(
                "vuln.robot",
                target,
                f"ROBOT: {robot.oracle or 'an'} Bleichenbacher oracle on RSA key exchange "
                f"({robot.cipher_suite}): answers depend on the PKCS #1 padding",
            )
        )
    injection = obs.starttls_injection
    if injection is not None and injection.vulnerable:
        findings.append(
            make_finding(
                "starttls.injection",
                target,
                f"'{injection.injected}' pipelined in plaintext after STARTTLS was answered "
                f"inside TLS, before QUIT: '{injection.first_reply_in_tls}'",
            )
        )
    return findings
