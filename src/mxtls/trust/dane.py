"""DANE matching for SMTP (RFC 7671, RFC 7672): does the chain as sent match the TLSA RRset?

Theory of operation
-------------------
:func:`match_chain` judges the chain *as the server sent it* (DER, leaf first)
against a TLSA RRset (:class:`mxtls.protocol.tlsa.TlsaRecord`), with RFC 7672
semantics:

* DANE-EE(3) is compared with the leaf only.  A match authenticates the
  server and nothing else is checked: no name, no expiry, no chain (§3.1.1).
* DANE-TA(2) is compared with every certificate after the leaf.  A matching
  certificate is a trust anchor only if the leaf chains up to it through the
  certificates sent (each signature is verified); then the leaf must be
  within its validity period and carry the MX host name (§3.1.2, §3.2.2),
  and so must every intermediate below the anchor.  The anchor's own dates
  are not checked: a trust anchor is a name and a key (RFC 5280 §6.1.1).

Other services than SMTP relay (submission, IMAP, POP3: RFC 6698 §2.1.1,
RFC 7673) may also use the PKIX usages, with ``allow_pkix``:

* PKIX-EE(1) is compared with the leaf, PKIX-TA(0) with every certificate
  of the validated path, its trust anchor included even when the server did
  not send it.  Either authenticates the server only when the chain passes
  PKIX validation against the run's trust store (:class:`PkixPath`, computed
  by the caller) and the leaf is within its dates and names the host.

The result names, for every record, the certificate it matched (index in the
chain) and, when it did not authenticate the server, why; a report can then
say more than "none of the TLSA records match".  Pure: the clock is passed in.

Not covered yet: DANE-TA(2) with a bare public key that the server does not
send (``2 1 0``, RFC 7671 §5.2.3) and the next-hop domain as a second reference
identifier (RFC 7672 §3.2.2).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.x509.oid import NameOID

from mxtls.protocol.tlsa import TlsaRecord, TlsaUsage, association_data, usable_record
from mxtls.trust.certinfo import MAX_CHAIN_JUDGED, UnparsableCertificateError, load_certificate
from mxtls.trust.names import hostname_matches


def _fold(name: str) -> str:
    name = name.strip().lower()
    return name[:-1] if name.endswith(".") else name


def cert_matches_hostname(cert: x509.Certificate, hostname: str) -> bool:
    """Whether the certificate names ``hostname`` (RFC 6125 §6.4, RFC 7672 §3.2.3).

    DNS subjectAltNames are used when present; otherwise the subject CN.
    """
    host = _fold(hostname)
    try:
        try:
            san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName)
            dns_names = san.value.get_values_for_type(x509.DNSName)
        except x509.ExtensionNotFound:
            dns_names = []
        if dns_names:
            return any(hostname_matches(n, host) for n in dns_names)
        cns = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    except ValueError:  # malformed extensions or subject name nothing
        return False
    for attr in cns:
        value = attr.value if isinstance(attr.value, str) else attr.value.decode("latin-1")
        if hostname_matches(value, host):
            return True
    return False


# --------------------------------------------------------------------- matching


@dataclass(frozen=True, slots=True, kw_only=True)
class TlsaOutcome:
    """What one TLSA record did against the presented chain.

    Attributes:
        record: the record.
        usable: whether the service's clients use it at all
            (:func:`~mxtls.protocol.tlsa.usable_record`).
        matched_index: index in the chain of the certificate whose data
            matched the record, or None when none did.
        authenticated: whether this record authenticates the server.
        reason: why (or why not), for reports.
        anchor_der: PKIX-TA(0) only: the trust anchor it matched when the
            server did not send that certificate (``matched_index`` is None).
    """

    record: TlsaRecord
    usable: bool
    matched_index: int | None
    authenticated: bool
    reason: str
    anchor_der: bytes | None = None


@dataclass(frozen=True, slots=True)
class PkixPath:
    """PKIX path validation of a presented chain, as the PKIX usages need it.

    Attributes:
        path: the validated path (DER, leaf first, ending at the trust
            store's anchor); empty when validation failed.
        problem: why validation failed ("" when it did not).
    """

    path: tuple[bytes, ...] = ()
    problem: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class DaneMatch:
    """The verdict of a TLSA RRset on one presented chain.

    Attributes:
        authenticated: at least one usable record authenticates the server.
        record: the first record that did, else None.
        cert_index: the chain index that record matched, else None.
        outcomes: one entry per record, in input order.
    """

    authenticated: bool
    record: TlsaRecord | None
    cert_index: int | None
    outcomes: tuple[TlsaOutcome, ...]

    @property
    def usable_count(self) -> int:
        """How many records SMTP clients can use (0: DANE does not apply)."""
        return sum(1 for o in self.outcomes if o.usable)

    @property
    def reason(self) -> str:
        """One line for a report."""
        if self.authenticated:
            match = next(o for o in self.outcomes if o.authenticated)
            return match.reason
        if not self.outcomes:
            return "no TLSA records"
        if self.usable_count == 0:
            return "no usable TLSA records (RFC 7672 §3.1.3)"
        return "no usable TLSA record authenticates the presented chain"


def _load(der: bytes) -> x509.Certificate | None:
    try:
        return load_certificate(der)
    except UnparsableCertificateError:
        return None


def _issued_by(child: x509.Certificate, parent: x509.Certificate) -> bool:
    try:
        child.verify_directly_issued_by(parent)
    except (ValueError, TypeError, InvalidSignature, UnsupportedAlgorithm):
        return False
    return True


def _is_ca(cert: x509.Certificate) -> bool:
    try:
        return bool(cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca)
    except (x509.ExtensionNotFound, ValueError):
        return False


def _validity_problem(cert: x509.Certificate, now: datetime, what: str) -> str | None:
    if now < cert.not_valid_before_utc:
        return f"{what} is not valid before {cert.not_valid_before_utc.isoformat()}"
    if now > cert.not_valid_after_utc:
        return f"{what} expired at {cert.not_valid_after_utc.isoformat()}"
    return None


class _Chain:
    """The presented chain, parsed lazily and with association data cached."""

    def __init__(self, chain_der: Sequence[bytes]) -> None:
        self.der = list(chain_der)
        self._certs: dict[int, x509.Certificate | None] = {}
        self._assoc: dict[tuple[int, int, int], bytes | None] = {}

    def cert(self, index: int) -> x509.Certificate | None:
        if index not in self._certs:
            self._certs[index] = _load(self.der[index])
        return self._certs[index]

    def assoc(self, index: int, selector: int, mtype: int) -> bytes | None:
        key = (index, selector, mtype)
        if key not in self._assoc:
            try:
                self._assoc[key] = association_data(self.der[index], selector, mtype)
            except ValueError:
                self._assoc[key] = None
        return self._assoc[key]

    def matching(self, rec: TlsaRecord) -> list[int]:
        hits = []
        for index in range(len(self.der)):
            data = self.assoc(index, rec.selector, rec.mtype)
            if data is not None and data == rec.data:
                hits.append(index)
        return hits

    def path_to(self, anchor: int) -> list[int] | str:
        """Indices from the leaf up to ``anchor``, each signed by the next.

        Issuers are looked for among the certificates sent, preferring the
        next one in order; the walk is bounded by the chain length.
        """
        path = [0]
        current = self.cert(0)
        if current is None:
            return "the leaf certificate does not parse"
        for _ in range(len(self.der)):
            if path[-1] == anchor:
                return path
            anchor_cert = self.cert(anchor)
            if anchor_cert is not None and _issued_by(current, anchor_cert):
                return [*path, anchor]
            order = [*range(path[-1] + 1, len(self.der)), *range(path[-1])]
            parent = next(
                (
                    i
                    for i in order
                    if i not in path and (c := self.cert(i)) is not None and _issued_by(current, c)
                ),
                None,
            )
            if parent is None:
                return (
                    f"certificate #{path[-1]} is not signed by any certificate sent, "
                    f"so the leaf does not chain to #{anchor}"
                )
            path.append(parent)
            current = self.cert(parent)
            assert current is not None
        return f"the leaf does not chain to #{anchor}"


def _match_ee(rec: TlsaRecord, hits: list[int]) -> TlsaOutcome:
    what = rec.describe()
    if 0 in hits:
        return TlsaOutcome(
            record=rec,
            usable=True,
            matched_index=0,
            authenticated=True,
            reason=(
                f"{what} matches the leaf certificate; name and dates are not checked "
                "for DANE-EE (RFC 7672 §3.1.1)"
            ),
        )
    if hits:
        return TlsaOutcome(
            record=rec,
            usable=True,
            matched_index=hits[0],
            authenticated=False,
            reason=(
                f"{what} matches certificate #{hits[0]}, not the leaf: DANE-EE pins the "
                "server's own certificate (a CA needs usage 2)"
            ),
        )
    return TlsaOutcome(
        record=rec,
        usable=True,
        matched_index=None,
        authenticated=False,
        reason=f"{what} does not match the leaf certificate",
    )


def _match_ta(
    rec: TlsaRecord, chain: _Chain, hits: list[int], mx_host: str, now: datetime
) -> TlsaOutcome:
    what = rec.describe()
    anchors = [i for i in hits if i > 0]
    if not anchors:
        if hits:
            reason = (
                f"{what} matches the leaf certificate, which is not a trust anchor "
                "(the server's own certificate needs usage 3)"
            )
        else:
            reason = f"{what} matches no certificate the server sent (RFC 7672 §3.1.2)"
        return TlsaOutcome(
            record=rec,
            usable=True,
            matched_index=hits[0] if hits else None,
            authenticated=False,
            reason=reason,
        )
    failures: list[str] = []
    for anchor in anchors:
        path = chain.path_to(anchor)
        if isinstance(path, str):
            failures.append(path)
            continue
        leaf = chain.cert(0)
        assert leaf is not None  # path_to returned a path, so the leaf parsed
        problem = None
        for step, index in enumerate(path[:-1]):
            cert = chain.cert(index)
            assert cert is not None
            label = "the leaf certificate" if step == 0 else f"intermediate #{index}"
            problem = _validity_problem(cert, now, label)
            if problem is None and step > 0 and not _is_ca(cert):
                problem = f"{label} is not a CA certificate (basicConstraints)"
            if problem is not None:
                break
        if problem is None and not cert_matches_hostname(leaf, mx_host):
            problem = f"the leaf certificate does not name {mx_host!r} (RFC 7672 §3.2.2)"
        if problem is not None:
            failures.append(problem)
            continue
        return TlsaOutcome(
            record=rec,
            usable=True,
            matched_index=anchor,
            authenticated=True,
            reason=(
                f"{what} matches certificate #{anchor}, the leaf chains to it, is valid "
                f"and names {mx_host!r}"
            ),
        )
    return TlsaOutcome(
        record=rec,
        usable=True,
        matched_index=anchors[0],
        authenticated=False,
        reason=f"{what} matches certificate #{anchors[0]}, but {failures[0]}",
    )


def _match_pkix(
    rec: TlsaRecord,
    chain: _Chain,
    hits: list[int],
    reference: str,
    now: datetime,
    pkix: PkixPath | None,
) -> TlsaOutcome:
    """PKIX-EE(1) or PKIX-TA(0): a match on the validated path, then the usual PKIX checks."""
    what = rec.describe()
    ee = rec.usage == TlsaUsage.PKIX_EE
    anchor: bytes | None = None
    if ee:
        index = 0 if 0 in hits else None
    else:
        index = next((i for i in hits if i > 0), None)
        if index is None and pkix is not None:
            anchor = next((der for der in pkix.path[1:] if _data(der, rec) == rec.data), None)
    matched = index is not None or anchor is not None

    def outcome(authenticated: bool, reason: str) -> TlsaOutcome:
        return TlsaOutcome(
            record=rec,
            usable=True,
            matched_index=index if index is not None else (hits[0] if hits else None),
            authenticated=authenticated,
            reason=reason,
            anchor_der=anchor,
        )

    if not matched:
        target = "the leaf certificate" if ee else "any CA certificate of the chain or its anchor"
        return outcome(False, f"{what} does not match {target} (RFC 6698 §2.1.1)")
    if pkix is None:
        return outcome(False, f"{what} matches, but no PKIX validation was possible here")
    if not pkix.path:
        return outcome(
            False,
            f"{what} matches, but the chain fails PKIX validation ({pkix.problem}), "
            "which this usage requires (RFC 6698 §2.1.1)",
        )
    if index is not None and not ee and chain.der[index] not in pkix.path:
        return outcome(False, f"{what} matches certificate #{index}, which is not on the path")
    problem = _pkix_problem(chain, pkix, reference, now)
    if problem is not None:
        return outcome(False, f"{what} matches, but {problem}")
    where = "the leaf" if ee else ("the trust anchor" if anchor else f"certificate #{index}")
    return outcome(
        True, f"{what} matches {where}; the chain passes PKIX validation and names {reference!r}"
    )


def _data(der: bytes, rec: TlsaRecord) -> bytes | None:
    try:
        return association_data(der, rec.selector, rec.mtype)
    except ValueError:
        return None


def _pkix_problem(chain: _Chain, pkix: PkixPath, reference: str, now: datetime) -> str | None:
    """What stops a validated path from authenticating now: dates, or the name."""
    for step, der in enumerate(pkix.path[:-1]):  # the anchor's own dates do not count
        cert = _load(der)
        if cert is None:
            return f"certificate #{step} of the path does not parse"
        label = "the leaf certificate" if step == 0 else f"intermediate #{step}"
        problem = _validity_problem(cert, now, label)
        if problem is not None:
            return problem
    leaf = chain.cert(0)
    if leaf is None or not cert_matches_hostname(leaf, reference):
        return f"the leaf certificate does not name {reference!r} (RFC 6125)"
    return None


def match_chain(
    records: Iterable[TlsaRecord],
    chain_der: Sequence[bytes],
    *,
    mx_host: str,
    now: datetime,
    allow_pkix: bool = False,
    pkix: PkixPath | None = None,
) -> DaneMatch:
    """Judge a presented chain against a TLSA RRset (RFC 7672 §3; RFC 6698 §2.1.1).

    Args:
        records: the TLSA RRset of ``_PORT._tcp.HOST`` (any order).
        chain_der: the certificates as the server sent them, leaf first.
        mx_host: the reference name for DANE-TA(2) and the PKIX usages (the
            TLSA base domain).
        now: the run's clock (naive datetimes are taken as UTC).
        allow_pkix: the PKIX usages are usable (a service other than SMTP relay).
        pkix: the chain's PKIX validation (None: none was possible, so the
            PKIX usages authenticate nothing).

    Returns:
        The verdict with one outcome per record.  Never raises on hostile
        certificate bytes: unparseable certificates simply match nothing.
    """
    if now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    chain = _Chain(chain_der[:MAX_CHAIN_JUDGED])  # the first ones: see MAX_CHAIN_JUDGED
    outcomes: list[TlsaOutcome] = []
    for rec in records:
        usable, why = usable_record(rec, pkix=allow_pkix)
        if not usable:
            outcomes.append(
                TlsaOutcome(
                    record=rec, usable=False, matched_index=None, authenticated=False, reason=why
                )
            )
            continue
        if not chain.der:
            outcomes.append(
                TlsaOutcome(
                    record=rec,
                    usable=True,
                    matched_index=None,
                    authenticated=False,
                    reason="the server sent no certificate",
                )
            )
            continue
        hits = chain.matching(rec)
        if rec.usage == TlsaUsage.DANE_EE:
            outcomes.append(_match_ee(rec, hits))
        elif rec.usage == TlsaUsage.DANE_TA:
            outcomes.append(_match_ta(rec, chain, hits, _fold(mx_host), now))
        else:
            outcomes.append(_match_pkix(rec, chain, hits, _fold(mx_host), now, pkix))
    winner = next((o for o in outcomes if o.authenticated), None)
    return DaneMatch(
        authenticated=winner is not None,
        record=winner.record if winner else None,
        cert_index=winner.matched_index if winner else None,
        outcomes=tuple(outcomes),
    )
