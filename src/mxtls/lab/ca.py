"""A throwaway certificate authority for the lab and the tests.

Issues a root, an intermediate and leaf certificates, good or deliberately
broken (expired, not yet valid, wrong name, self-signed, weak key, SHA-1,
issued by a CA nobody trusts), like ``trustme`` but with the broken kinds a
mail checker must recognise.  Keys are cached per (type, size) so a lab
with many servers starts fast.
"""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

KeyKind = Literal["ec256", "ec384", "rsa1024", "rsa2048"]
PrivateKey = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey

_DAY = dt.timedelta(days=1)


@functools.cache
def _key(kind: KeyKind, slot: int = 0) -> PrivateKey:
    """A private key of ``kind``; ``slot`` gives distinct keys of the same kind."""
    if kind == "ec256":
        return ec.generate_private_key(ec.SECP256R1())
    if kind == "ec384":
        return ec.generate_private_key(ec.SECP384R1())
    bits = 1024 if kind == "rsa1024" else 2048
    return rsa.generate_private_key(public_exponent=65537, key_size=bits)


def _name(cn: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "mxtls lab"),
            x509.NameAttribute(NameOID.COMMON_NAME, cn),
        ]
    )


@dataclass(frozen=True)
class Issued:
    """A certificate with its key and the chain a server should send (leaf first)."""

    cert: x509.Certificate
    key: PrivateKey
    chain: tuple[x509.Certificate, ...]

    def chain_pem(self) -> bytes:
        """The chain as PEM, leaf first."""
        return b"".join(c.public_bytes(serialization.Encoding.PEM) for c in self.chain)

    def key_pem(self) -> bytes:
        """The private key as unencrypted PKCS#8 PEM."""
        return self.key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )

    def write(self, directory: Path, stem: str) -> tuple[Path, Path]:
        """Write ``stem.crt`` (chain) and ``stem.key``; return their paths."""
        directory.mkdir(parents=True, exist_ok=True)
        crt, key = directory / f"{stem}.crt", directory / f"{stem}.key"
        crt.write_bytes(self.chain_pem())
        key.write_bytes(self.key_pem())
        key.chmod(0o600)
        return crt, key


@dataclass
class LabCA:
    """Root + intermediate; issues leaves.  ``now`` pins validity windows."""

    name: str = "mxtls lab root"
    now: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))
    slot: int = 0

    def __post_init__(self) -> None:
        self.root_key = _key("ec256", 1000 + self.slot)
        self.root = self._build(
            subject=_name(self.name),
            issuer=_name(self.name),
            public_key=self.root_key,
            signer=self.root_key,
            ca=True,
            path_length=1,
            not_before=self.now - 3650 * _DAY,
            not_after=self.now + 3650 * _DAY,
        )
        self.intermediate_key = _key("ec256", 2000 + self.slot)
        self.intermediate = self._build(
            subject=_name(f"{self.name} intermediate"),
            issuer=self.root.subject,
            public_key=self.intermediate_key,
            signer=self.root_key,
            ca=True,
            path_length=0,
            not_before=self.now - 3650 * _DAY,
            not_after=self.now + 3650 * _DAY,
        )

    def root_pem(self) -> bytes:
        """The root certificate in PEM: what a client puts in its trust store."""
        return self.root.public_bytes(serialization.Encoding.PEM)

    def write_root(self, path: Path) -> Path:
        """Write the root as a PEM file (for ``--ca-file``)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(self.root_pem())
        return path

    def issue(
        self,
        names: list[str],
        *,
        key: KeyKind = "ec256",
        key_slot: int = 0,
        days_valid: tuple[int, int] = (-30, 90),
        hash_alg: Literal["sha256", "sha1"] = "sha256",
        self_signed: bool = False,
        send_intermediate: bool = True,
        cn: str | None = None,
    ) -> Issued:
        """Issue a leaf for ``names`` (DNS SANs).

        Args:
            days_valid: (notBefore, notAfter) offsets from ``now`` in days;
                ``(-100, -1)`` is expired, ``(5, 90)`` not yet valid.
            self_signed: sign the leaf with its own key (no CA at all).
            send_intermediate: when False the chain is only the leaf
                (a server with a missing intermediate).
            cn: subject CN (defaults to the first name).
        """
        leaf_key = _key(key, key_slot)
        subject = _name(cn if cn is not None else (names[0] if names else "mxtls lab leaf"))
        signer = leaf_key if self_signed else self.intermediate_key
        issuer = subject if self_signed else self.intermediate.subject
        cert = self._build(
            subject=subject,
            issuer=issuer,
            public_key=leaf_key,
            signer=signer,
            ca=False,
            path_length=None,
            not_before=self.now + days_valid[0] * _DAY,
            not_after=self.now + days_valid[1] * _DAY,
            names=names,
        )
        if hash_alg == "sha1":
            cert = _resign_sha1(cert, signer)
        if self_signed:
            chain: tuple[x509.Certificate, ...] = (cert,)
        elif send_intermediate:
            chain = (cert, self.intermediate)
        else:
            chain = (cert,)
        return Issued(cert=cert, key=leaf_key, chain=chain)

    def _build(
        self,
        *,
        subject: x509.Name,
        issuer: x509.Name,
        public_key: PrivateKey,
        signer: PrivateKey,
        ca: bool,
        path_length: int | None,
        not_before: dt.datetime,
        not_after: dt.datetime,
        names: list[str] | None = None,
    ) -> x509.Certificate:
        builder = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(issuer)
            .public_key(public_key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(not_before)
            .not_valid_after(not_after)
            .add_extension(x509.BasicConstraints(ca=ca, path_length=path_length), critical=True)
            .add_extension(
                x509.SubjectKeyIdentifier.from_public_key(public_key.public_key()), critical=False
            )
        )
        if subject != issuer or not ca:
            builder = builder.add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(signer.public_key()),
                critical=False,
            )
        if ca:
            builder = builder.add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=True,
                    crl_sign=True,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
        else:
            builder = builder.add_extension(
                x509.ExtendedKeyUsage(
                    [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]
                ),
                critical=False,
            )
            if names:
                builder = builder.add_extension(
                    x509.SubjectAlternativeName([x509.DNSName(n) for n in names]),
                    critical=False,
                )
        return builder.sign(signer, hashes.SHA256())


# cryptography refuses to *build* SHA-1 signed certificates, but a checker must
# recognise them; so the lab signs with SHA-256 and then re-signs the TBS bytes
# with SHA-1, swapping the AlgorithmIdentifier (DER re-encoded by hand).
_ALGID_SHA256 = {
    "ec": bytes.fromhex("300a06082a8648ce3d040302"),
    "rsa": bytes.fromhex("300d06092a864886f70d01010b0500"),
}
_ALGID_SHA1 = {
    "ec": bytes.fromhex("300906072a8648ce3d0401"),
    "rsa": bytes.fromhex("300d06092a864886f70d0101050500"),
}


def _der_tlv(tag: int, body: bytes) -> bytes:
    n = len(body)
    if n < 0x80:
        length = bytes([n])
    else:
        raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
        length = bytes([0x80 | len(raw)]) + raw
    return bytes([tag]) + length + body


def _resign_sha1(cert: x509.Certificate, signer: PrivateKey) -> x509.Certificate:
    from cryptography.hazmat.primitives.asymmetric import padding

    kind = "ec" if isinstance(signer, ec.EllipticCurvePrivateKey) else "rsa"
    tbs = cert.tbs_certificate_bytes
    # Skip the TBS SEQUENCE header, swap the first algid occurrence, re-wrap.
    header = 2 + (tbs[1] & 0x7F if tbs[1] & 0x80 else 0)
    body = tbs[header:].replace(_ALGID_SHA256[kind], _ALGID_SHA1[kind], 1)
    new_tbs = _der_tlv(0x30, body)
    if isinstance(signer, ec.EllipticCurvePrivateKey):
        signature = signer.sign(new_tbs, ec.ECDSA(hashes.SHA1()))
    else:
        signature = signer.sign(new_tbs, padding.PKCS1v15(), hashes.SHA1())
    der = _der_tlv(0x30, new_tbs + _ALGID_SHA1[kind] + _der_tlv(0x03, b"\x00" + signature))
    return x509.load_der_x509_certificate(der)
