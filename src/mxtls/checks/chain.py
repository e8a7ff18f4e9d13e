"""Certificate chain analysis: is the chain as sent trusted, and if not, why?

Path validation itself is ``cryptography.x509.verification`` (the webpki
rules), never hand-written.  This module only *isolates* trust from the
other certificate problems and then classifies a failure from facts, so each
finding code is precise:

1. Validate at a time inside every sent certificate's validity window and
   without name or EKU constraints on the leaf.  Expiry and the host name are
   judged separately (``cert.expired``, ``cert.hostname_mismatch``) and must
   not show up as "untrusted".
2. If that fails, look at the chain as sent:

   - the leaf signed itself                              → ``SELF_SIGNED``
   - the sent certificates end in a root not in the store → ``UNTRUSTED``
   - the top sent certificate's issuer is a trusted root  → ``REJECTED``
     (the path exists but the verifier refused it, e.g. SHA-1 or a constraint)
   - only the leaf, its issuer neither sent nor trusted   → ``CHAIN_INCOMPLETE``
     (MTAs do not fetch missing intermediates via AIA)
   - a sent CA certificate whose issuer is neither sent nor trusted
     → ``UNTRUSTED``: the server sent its intermediate, and what it chains
     to is unknown to the store (an unknown root and a missing second
     intermediate look the same from here; the first is far more common).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, padding, rsa
from cryptography.x509.verification import ExtensionPolicy, PolicyBuilder, VerificationError

from mxtls.trust.store import TrustStore


class ChainVerdict(StrEnum):
    """What path validation (with time and name set aside) concluded."""

    TRUSTED = "trusted"
    SELF_SIGNED = "self_signed"
    CHAIN_INCOMPLETE = "chain_incomplete"
    UNTRUSTED = "untrusted"
    REJECTED = "rejected"  # a path to a trusted root exists but validation refused it


@dataclass(frozen=True, slots=True)
class ChainAnalysis:
    """The verdict, the path it is about (leaf first) and a one-line reason.

    ``path`` is the validated path when trusted (ending in the store's
    anchor); otherwise the sent certificates linked leaf → issuer, plus the
    trusted issuer when one was found.  ``anchored`` says whether the last
    element of ``path`` comes from the trust store.
    """

    verdict: ChainVerdict
    path: tuple[x509.Certificate, ...]
    anchored: bool
    reason: str


def issued_by(child: x509.Certificate, parent: x509.Certificate) -> bool:
    """True when ``parent``'s subject is ``child``'s issuer and its key signed ``child``.

    Checks the signature itself (SHA-1 and MD5 included, which
    ``verify_directly_issued_by`` refuses), so a weak chain can still be
    linked and judged.
    """
    if child.issuer != parent.subject:
        return False
    key = parent.public_key()
    try:
        hash_alg = child.signature_hash_algorithm
        params = child.signature_algorithm_parameters
        if isinstance(key, rsa.RSAPublicKey):
            if hash_alg is None or not isinstance(params, padding.PKCS1v15 | padding.PSS):
                return False
            key.verify(child.signature, child.tbs_certificate_bytes, params, hash_alg)
        elif isinstance(key, ec.EllipticCurvePublicKey):
            if hash_alg is None:
                return False
            key.verify(child.signature, child.tbs_certificate_bytes, ec.ECDSA(hash_alg))
        elif isinstance(key, dsa.DSAPublicKey):
            if hash_alg is None:
                return False
            key.verify(child.signature, child.tbs_certificate_bytes, hash_alg)
        elif isinstance(key, ed25519.Ed25519PublicKey | ed448.Ed448PublicKey):
            key.verify(child.signature, child.tbs_certificate_bytes)
        else:
            return False
    except (InvalidSignature, UnsupportedAlgorithm, ValueError, TypeError):
        return False
    return True


def is_self_signed(cert: x509.Certificate) -> bool:
    """True when ``cert`` names itself as issuer and its own key signed it."""
    return issued_by(cert, cert)


def sent_path(chain: Sequence[x509.Certificate]) -> list[x509.Certificate]:
    """Link the sent certificates leaf → issuer → … as far as they go.

    Order in the list does not matter (servers get it wrong); each step picks
    a not yet used sent certificate that signed the current one.  Stops at a
    self-signed certificate or when no sent certificate issued the current one.
    """
    if not chain:
        return []
    path = [chain[0]]
    unused = list(chain[1:])
    while unused and not is_self_signed(path[-1]):  # bounded: each step uses one cert
        parent = next((c for c in unused if issued_by(path[-1], c)), None)
        if parent is None:
            break
        path.append(parent)
        unused.remove(parent)
    return path


def isolation_time(certs: Sequence[x509.Certificate], now: datetime) -> datetime:
    """``now`` moved into the intersection of the validity windows of ``certs``.

    When the windows do not intersect, ``now`` is returned unchanged (the
    validation then fails on time, which the caller attributes to expiry).
    """
    if not certs:
        return now
    start = max(c.not_valid_before_utc for c in certs)
    end = min(c.not_valid_after_utc for c in certs)
    if start > end:
        return now
    return min(max(now, start), end)


def analyze_chain(
    chain: Sequence[x509.Certificate], trust: TrustStore, now: datetime
) -> ChainAnalysis:
    """Validate the chain as sent (leaf first) and classify a failure.

    Args:
        chain: the certificates the server sent, in the order sent; not empty.
        trust: the run's trust store.
        now: the run's clock (aware UTC).

    Raises:
        ValueError: ``chain`` is empty.
    """
    if not chain:
        raise ValueError("empty certificate chain")
    leaf = chain[0]
    linked = sent_path(chain)
    at = isolation_time(linked, now)
    try:
        verified = _verify(leaf, chain[1:], trust, at)
    except VerificationError as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    else:
        return ChainAnalysis(ChainVerdict.TRUSTED, tuple(verified), True, "")

    if is_self_signed(leaf):
        return ChainAnalysis(
            ChainVerdict.SELF_SIGNED, (leaf,), False, "the leaf certificate signed itself"
        )
    top = linked[-1]
    if is_self_signed(top):
        if trust.contains(top):
            return ChainAnalysis(ChainVerdict.REJECTED, tuple(linked), True, reason)
        return ChainAnalysis(
            ChainVerdict.UNTRUSTED,
            tuple(linked),
            False,
            f"chain ends at root {_name(top)}, which is not in the trust store",
        )
    anchor = next((c for c in trust.with_subject(top.issuer) if issued_by(top, c)), None)
    if anchor is not None:
        return ChainAnalysis(ChainVerdict.REJECTED, (*linked, anchor), True, reason)
    if len(linked) == 1:
        return ChainAnalysis(
            ChainVerdict.CHAIN_INCOMPLETE,
            tuple(linked),
            False,
            f"issuer {_issuer(top)} of the leaf was not sent and is not a trusted root",
        )
    return ChainAnalysis(
        ChainVerdict.UNTRUSTED,
        tuple(linked),
        False,
        f"{_name(top)} was issued by {_issuer(top)}, which is not in the trust store",
    )


def _verify(
    leaf: x509.Certificate,
    intermediates: Sequence[x509.Certificate],
    trust: TrustStore,
    at: datetime,
) -> list[x509.Certificate]:
    # A client verifier with a permissive end-entity policy checks signatures,
    # CA constraints and anchoring, but neither a name nor the leaf's EKU/SAN:
    # those are judged on their own (and CN-only leaves must not fail here).
    builder = (
        PolicyBuilder()
        .store(trust.store)
        .time(at)
        .extension_policies(
            ca_policy=ExtensionPolicy.webpki_defaults_ca(),
            ee_policy=ExtensionPolicy.permit_all(),
        )
    )
    verified = builder.build_client_verifier().verify(leaf, list(intermediates))
    return list(verified.chain)


def _name(cert: x509.Certificate) -> str:
    return cert.subject.rfc4514_string() or "(empty subject)"


def _issuer(cert: x509.Certificate) -> str:
    return cert.issuer.rfc4514_string() or "(empty issuer)"
