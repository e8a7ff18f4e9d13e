"""The delivery verdict: what each kind of sender does with the domain's mail (pure).

The question users really ask is "will strict senders still deliver to me?".
Opportunistic senders (RFC 3207, Postfix ``may``) use TLS when it works and
plaintext otherwise.  MTA-STS senders in ``enforce`` mode (RFC 8461 §5) "MUST
NOT deliver the message to hosts that fail MX matching or certificate
validation or that do not support STARTTLS".  DANE senders (RFC 7672 §2.2)
authenticate an MX whose TLSA RRset is DNSSEC-secure and usable, and refuse
to deliver when no record matches; RFC 8461 §2: "senders who implement
MTA-STS and DANE ... SHOULD use DANE" for such hosts, so DANE takes
precedence for senders doing both.

The verdict is about the relay path only: port 25 of the MX hosts.  An MX
host takes mail only when a session there reached the point where a sender
says MAIL FROM (:func:`mxtls.checks.reach.session_ready`); a listening
socket alone is not enough.

Emits ``delivery.unencrypted_path`` from what port 25 showed (an
opportunistic sender's outcome needs nothing else), and, from the facts,
the domain's MTA-STS and DANE policies and the certificate findings already
made for port 25: ``delivery.no_reachable_mx`` (target DOMAIN),
``delivery.strict_senders_fail`` (target DOMAIN) and
``mta_sts.enforce_tls_failure`` (per MX).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from mxtls.checks._common import join_names
from mxtls.checks.codes import make_finding
from mxtls.checks.mta_sts import enforce_failures
from mxtls.checks.reach import MX_PORT, not_tested, session_ready, unreachable_reason
from mxtls.checks.starttls import starttls_offered
from mxtls.models.dnssec import DnssecStatus
from mxtls.models.findings import Finding, endpoint_target
from mxtls.models.observations import Discovery, EndpointObservation
from mxtls.models.policy import MtaStsObservation
from mxtls.models.verdict import DeliveryVerdict, MxVerdict, Outcome, SenderVerdict
from mxtls.protocol.mta_sts import mx_matches_pattern

__all__ = [
    "MTA_STS_POLICY_BLOCKERS",
    "MX_PORT",
    "PKIX_FAILURES",
    "DaneHost",
    "check_delivery",
    "compose_verdict",
    "plaintext_only_reason",
    "tls_failure",
]


def plaintext_only_reason(obs: EndpointObservation) -> str | None:
    """Why this port-25 session carried SMTP in clear, or None if TLS worked (or no SMTP).

    An SMTP session exists (EHLO or HELO answered) but no TLS session came of
    it: STARTTLS not offered, refused, or its handshake failed (opportunistic
    senders such as Postfix at ``may`` then retry in clear).
    """
    if obs.port != MX_PORT or obs.tls_mode != "starttls" or obs.ehlo is None:
        return None
    if obs.handshake is not None:
        return None
    offered = starttls_offered(obs)
    if offered is False:
        return "STARTTLS not offered"
    reply = obs.starttls_reply
    if reply is None:
        return None  # the session ended before STARTTLS could be tried: no verdict
    if reply.code != 220:
        return f"STARTTLS answered {reply.code}"
    if obs.handshake_error or obs.stopped_at == "handshake":
        return "TLS handshake failed"
    return None


def check_delivery(discovery: Discovery, endpoints: Sequence[EndpointObservation]) -> list[Finding]:
    """Report MX hosts that opportunistic senders can only reach in clear.

    Emits ``delivery.unencrypted_path`` (target DOMAIN, one per MX host).
    RFC 3207 §4: "A publicly-referenced SMTP server MUST NOT require use of
    the STARTTLS extension in order to deliver mail locally", so senders
    deliver without TLS wherever TLS is not available; any MX, a fallback one
    included, where that happens exposes the mail (RFC 8461 §1 and RFC 7672
    §1 exist to close exactly this downgrade).
    """
    domain = discovery.domain
    mx_names = {h.name for h in discovery.hosts}
    by_host: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    for obs in endpoints:
        relay = obs.host in mx_names and obs.role == "mx"
        reason = plaintext_only_reason(obs) if relay else None
        if reason is not None:
            by_host[obs.host][reason].append(obs.ip)
    findings: list[Finding] = []
    for host in sorted(by_host):
        parts = [f"{reason} on {join_names(ips)}" for reason, ips in sorted(by_host[host].items())]
        findings.append(
            make_finding(
                "delivery.unencrypted_path",
                domain,
                f"{domain}: mail to MX {host} goes without TLS on port {MX_PORT} "
                f"({'; '.join(parts)})",
            )
        )
    return findings


# Certificate findings that make PKIX validation (RFC 8461 §4.2) fail for an endpoint.
PKIX_FAILURES = {
    "cert.expired": "certificate expired",
    "cert.not_yet_valid": "certificate not yet valid",
    "cert.hostname_mismatch": "certificate does not name the MX host",
    "cert.self_signed": "self-signed certificate",
    "cert.untrusted": "certificate chain not trusted",
    "cert.chain_incomplete": "intermediate certificate missing",
}
MTA_STS_POLICY_BLOCKERS = {
    "mta_sts.txt_invalid",
    "mta_sts.policy_fetch_failed",
    "mta_sts.policy_invalid",
}
BOGUS_MX = "the MX answer is DNSSEC-bogus: validating senders defer"


@dataclass(frozen=True, slots=True)
class DaneHost:
    """DANE facts for one MX host (port 25), prepared from the TLSA lookups.

    Attributes:
        applies: the TLSA RRset is DNSSEC-secure and has a usable record.
        reason: why DANE does or does not apply (shown in the verdict).
        endpoints: (ip, port) -> (authenticated, why) for probed endpoints.
        refuse: set when a DANE sender must not deliver to the host whatever
            the endpoints show (RFC 7672 §2.1.1: a bogus TLSA or address
            answer is a lookup failure, the sender defers).
    """

    applies: bool
    reason: str
    endpoints: Mapping[tuple[str, int], tuple[bool, str]] = field(default_factory=dict)
    refuse: str | None = None


def tls_failure(obs: EndpointObservation, codes: set[str]) -> str | None:
    """Why a sender requiring authenticated TLS fails on this endpoint, or None."""
    if not session_ready(obs):
        return None  # not reached: a reachability problem, not a TLS one
    plain = plaintext_only_reason(obs)
    if plain is not None:
        return plain
    if obs.handshake is None:
        return obs.handshake_error or "no TLS session"
    bad = [text for code, text in PKIX_FAILURES.items() if code in codes]
    return ", ".join(bad) if bad else None


@dataclass(frozen=True, slots=True)
class _Relay:
    """What port 25 showed, per MX host: who takes mail, and why not."""

    hosts: list[str]
    port25: Mapping[str, list[EndpointObservation]]
    reached: Mapping[str, bool]
    why_not: Mapping[str, str]
    probed: bool  # port 25 was probed on at least one MX address
    unknown: bool  # mxtls failed on some port-25 endpoint: reachability unknown

    @classmethod
    def of(cls, discovery: Discovery, endpoints: Sequence[EndpointObservation]) -> _Relay:
        port25: dict[str, list[EndpointObservation]] = {}
        for obs in endpoints:
            if obs.port == MX_PORT and obs.role == "mx":
                port25.setdefault(obs.host, []).append(obs)
        hosts = [h.name for h in discovery.hosts]
        reached: dict[str, bool] = {}
        why_not: dict[str, str] = {}
        for host in discovery.hosts:
            eps = port25.get(host.name, [])
            reached[host.name] = any(session_ready(ep) for ep in eps)
            if reached[host.name]:
                continue
            if not host.addresses:
                why_not[host.name] = "no address (A/AAAA)"
            elif eps:
                why_not[host.name] = "; ".join(f"{unreachable_reason(ep)} ({ep.ip})" for ep in eps)
            else:
                why_not[host.name] = "port 25 not probed"
        return cls(
            hosts=hosts,
            port25=port25,
            reached=reached,
            why_not=why_not,
            probed=any(port25.get(h) for h in hosts),
            unknown=any(not_tested(ep) for eps in port25.values() for ep in eps),
        )

    def unreachable(self, host: str) -> MxVerdict:
        return MxVerdict(
            host=host, delivers=False, reason=self.why_not.get(host, "no SMTP session on port 25")
        )


def compose_verdict(
    discovery: Discovery,
    endpoints: Sequence[EndpointObservation],
    findings: Sequence[Finding],
    mta_sts: MtaStsObservation | None,
    dane: Mapping[str, DaneHost] | None = None,
    mx_dnssec: DnssecStatus | None = None,
) -> tuple[DeliveryVerdict, list[Finding]]:
    """The verdict per sender kind and the findings it implies.

    Args:
        discovery: the MX set (null MX: no verdict).
        endpoints: every endpoint probed (only port 25 of the MX hosts counts).
        findings: the findings of the other checks (certificate failures).
        mta_sts: the domain's MTA-STS observation, if looked up.
        dane: per MX host, whether DANE applies and what it concluded.
        mx_dnssec: DNSSEC status of the domain's MX answer; ``bogus`` means
            every validating sender (every DANE sender) defers (RFC 4035 §5.5).
    """
    domain = discovery.domain
    if discovery.null_mx:
        return DeliveryVerdict(), []
    bogus = mx_dnssec == "bogus"
    if not discovery.hosts:
        if not bogus:
            return DeliveryVerdict(), []
        return _bogus_without_hosts(domain)
    relay = _Relay.of(discovery, endpoints)
    if not relay.probed and any(h.addresses for h in discovery.hosts):
        return _not_tested(), []
    codes_by_target: dict[str, set[str]] = {}
    for f in findings:
        codes_by_target.setdefault(f.target, set()).add(f.code)
    failures: dict[str, list[str]] = {}
    for host in relay.hosts:
        for ep in relay.port25.get(host, []):
            target = endpoint_target(host, ep.ip, ep.port)
            reason = tls_failure(ep, codes_by_target.get(target, set()))
            if reason:
                failures.setdefault(host, []).append(f"{reason} on {ep.ip}")

    extra: list[Finding] = []
    if not any(relay.reached.values()) and not relay.unknown:
        extra.append(_no_reachable_mx(domain, relay))
    senders = [_opportunistic(relay, bogus)]
    sts_verdict, sts_findings = _mta_sts(domain, relay, failures, mta_sts, findings)
    senders.append(sts_verdict)
    extra.extend(sts_findings)
    senders.append(_dane(relay, dane or {}, bogus))
    for sv in senders[1:]:
        if sv.applies and any(m.refused for m in sv.mx):
            refused = [m for m in sv.mx if m.refused]
            names = "; ".join(f"{m.host} ({m.reason})" for m in refused)
            extra.append(
                make_finding(
                    "delivery.strict_senders_fail",
                    domain,
                    f"{domain}: {_SENDER_NAME[sv.sender]} would not deliver to {names} "
                    f"[{sv.policy}]",
                )
            )
    return DeliveryVerdict(senders=senders), extra


_SENDER_NAME = {
    "opportunistic": "opportunistic senders",
    "mta_sts": "MTA-STS enforcing senders",
    "dane": "DANE senders",
}
_CANNOT = "cannot deliver: no MX host completes an SMTP session on port 25"
_UNKNOWN = (
    "not judged: no MX host completed an SMTP session from here, and some addresses "
    "could not be tried (no route from this machine, or an mxtls error)"
)


def _no_reachable_mx(domain: str, relay: _Relay) -> Finding:
    """RFC 5321 §5.1: a sender tries every MX in turn; here none takes a session."""
    parts = "; ".join(f"{h}: {relay.why_not.get(h, 'no session')}" for h in relay.hosts)
    return make_finding(
        "delivery.no_reachable_mx",
        domain,
        f"{domain}: no MX host completes an SMTP session on port {MX_PORT}, "
        f"so nobody can deliver mail to the domain ({parts})",
    )


def _bogus_without_hosts(domain: str) -> tuple[DeliveryVerdict, list[Finding]]:
    """A validating resolver refuses a bogus MX answer (SERVFAIL): no MX set to probe."""
    why = f"{BOGUS_MX}; the MX hosts could not be learned, so nothing was probed"
    senders = [
        SenderVerdict(
            sender=kind,
            applies=kind == "dane",
            policy="DNSSEC" if kind == "dane" else "",
            outcome="refuses" if kind == "dane" else "unreachable",
            summary=f"will NOT deliver: {BOGUS_MX}" if kind == "dane" else f"cannot tell: {why}",
        )
        for kind in ("opportunistic", "mta_sts", "dane")
    ]
    finding = make_finding(
        "delivery.strict_senders_fail",
        domain,
        f"{domain}: {BOGUS_MX} (DANE senders among them) all mail to the domain",
    )
    return DeliveryVerdict(senders=senders), [finding]


def _not_tested() -> DeliveryVerdict:
    summary = f"not judged: port {MX_PORT} (the relay path) was not probed"
    return DeliveryVerdict(
        senders=[
            SenderVerdict(
                sender=kind, applies=False, policy="", outcome="not_tested", summary=summary
            )
            for kind in ("opportunistic", "mta_sts", "dane")
        ]
    )


def _outcome(mx: list[MxVerdict], relay: _Relay) -> Outcome:
    if not any(relay.reached.values()):
        return "not_tested" if relay.unknown else "unreachable"
    ok = [m for m in mx if m.delivers]
    if len(ok) == len(mx):
        return "delivers"
    return "delivers_partly" if ok else "refuses"


def _opportunistic(relay: _Relay, bogus: bool) -> SenderVerdict:
    mx = []
    for host in relay.hosts:
        eps = [ep for ep in relay.port25.get(host, []) if session_ready(ep)]
        if not eps:
            mx.append(relay.unreachable(host))
            continue
        tls = [ep for ep in eps if ep.handshake is not None]
        encrypted = len(tls) == len(eps)
        reason = (
            "TLS on every address"
            if encrypted
            else ("plaintext on some addresses" if tls else "plaintext only")
        )
        mx.append(MxVerdict(host=host, delivers=True, encrypted=encrypted, reason=reason))
    outcome = _outcome(mx, relay)
    plain = [m.host for m in mx if m.delivers and not m.encrypted]
    down = [m.host for m in mx if not m.delivers]
    if outcome == "unreachable":
        summary = _CANNOT
    elif outcome == "not_tested":
        summary = _UNKNOWN
    elif plain:
        summary = f"deliver, in PLAINTEXT to {', '.join(plain)}"
    elif down:
        summary = "deliver, encrypted, to the MX hosts that take mail"
    else:
        summary = "deliver, encrypted to every MX"
    if bogus:
        summary += f" (non-validating senders only: {BOGUS_MX})"
    return SenderVerdict(
        sender="opportunistic",
        applies=True,
        policy="STARTTLS if offered",
        outcome=outcome,
        summary=summary,
        mx=mx,
    )


def _mta_sts(
    domain: str,
    relay: _Relay,
    failures: Mapping[str, list[str]],
    obs: MtaStsObservation | None,
    findings: Sequence[Finding],
) -> tuple[SenderVerdict, list[Finding]]:
    blocked = any(f.code in MTA_STS_POLICY_BLOCKERS for f in findings)
    if obs is None or obs.mode is None or blocked:
        policy = "no usable MTA-STS policy"
        if obs is not None and obs.record is not None and blocked:
            policy = "MTA-STS policy unusable (see mta_sts findings)"
        return SenderVerdict(
            sender="mta_sts",
            applies=False,
            policy=policy,
            outcome="not_applicable",
            summary="no MTA-STS policy in force: same as opportunistic",
        ), []
    policy = f"MTA-STS {obs.mode} (id {obs.record_id}, max_age {obs.max_age})"
    if obs.mode != "enforce":
        return SenderVerdict(
            sender="mta_sts",
            applies=False,
            policy=policy,
            outcome="not_applicable",
            summary=f"mode {obs.mode}: failures reported, not enforced",
        ), []
    mx: list[MxVerdict] = []
    tls_failures: dict[str, str] = {}
    for host in relay.hosts:
        if not any(mx_matches_pattern(host, p) for p in obs.mx_patterns):
            mx.append(
                MxVerdict(
                    host=host, delivers=False, refused=True, reason="MX not covered by the policy"
                )
            )
            continue
        if not relay.reached.get(host):
            mx.append(relay.unreachable(host))
            continue
        if failures.get(host):
            reason = "; ".join(failures[host])
            tls_failures[host] = reason
            mx.append(MxVerdict(host=host, delivers=False, refused=True, reason=reason))
            continue
        mx.append(
            MxVerdict(
                host=host,
                delivers=True,
                encrypted=True,
                authenticated=True,
                reason="valid certificate for the MX name",
            )
        )
    outcome = _outcome(mx, relay)
    summary = {
        "delivers": "deliver, authenticated (PKIX) to every MX",
        "delivers_partly": "deliver only to some MX hosts; the others are refused or down",
        "refuses": "will NOT deliver: every MX fails the policy",
        "unreachable": _CANNOT,
        "not_tested": _UNKNOWN,
    }[outcome]
    return SenderVerdict(
        sender="mta_sts", applies=True, policy=policy, outcome=outcome, summary=summary, mx=mx
    ), enforce_failures(obs.mode, relay.hosts, tls_failures)


def _dane(relay: _Relay, dane: Mapping[str, DaneHost], bogus: bool) -> SenderVerdict:
    applying = {h: d for h, d in dane.items() if d.applies}
    if not applying and not bogus:
        return SenderVerdict(
            sender="dane",
            applies=False,
            policy="no DNSSEC-secure TLSA records for port 25",
            outcome="not_applicable",
            summary="no secure TLSA records: same as opportunistic",
        )
    mx: list[MxVerdict] = []
    for host in relay.hosts:
        info = dane.get(host)
        if bogus:
            mx.append(MxVerdict(host=host, delivers=False, refused=True, reason=BOGUS_MX))
            continue
        if info is None or not info.applies:
            why = info.reason if info is not None else "no TLSA lookup"
            if relay.reached.get(host):
                mx.append(MxVerdict(host=host, delivers=True, reason=f"opportunistic ({why})"))
            else:
                mx.append(relay.unreachable(host))
            continue
        bad = [f"{why} on {ip}" for (ip, _), (ok, why) in info.endpoints.items() if not ok]
        if info.refuse:
            bad = [info.refuse]
        if bad:
            mx.append(MxVerdict(host=host, delivers=False, refused=True, reason="; ".join(bad)))
        elif not relay.reached.get(host):
            mx.append(relay.unreachable(host))
        else:
            mx.append(
                MxVerdict(
                    host=host,
                    delivers=True,
                    encrypted=True,
                    authenticated=True,
                    reason="TLSA record matches",
                )
            )
    outcome = _outcome(mx, relay)
    if bogus and outcome not in ("unreachable", "not_tested"):
        outcome = "refuses"
    summary = {
        "delivers": "deliver, authenticated by DANE",
        "delivers_partly": "deliver only to some MX hosts; the others fail DANE or are down",
        "refuses": "will NOT deliver: DANE authentication fails on every MX",
        "unreachable": _CANNOT,
        "not_tested": _UNKNOWN,
    }[outcome]
    if bogus:
        summary = f"will NOT deliver: {BOGUS_MX}"
    policy = "DNSSEC (MX answer bogus)" if bogus else f"DANE on {', '.join(sorted(applying))}"
    return SenderVerdict(
        sender="dane", applies=True, policy=policy, outcome=outcome, summary=summary, mx=mx
    )
