"""The run's trust store: which roots a certificate chain must lead to.

By default this is certifi's copy of the Mozilla root program, the store most
sending MTAs that verify at all are built on.  ``--ca-file`` *replaces* it
(curl's ``--cacert``), so the lab, a private PKI and production are judged by
the same code.  Stores are immutable and cached per path: a bulk scan loads
each bundle once.
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

from cryptography import utils as crypto_utils
from cryptography import x509
from cryptography.x509.verification import Store

from mxtls.errors import ConfigError

CERTIFI_SOURCE = "certifi"  # TrustStore.source of the default Mozilla bundle
_PEM_MARKER = b"-----BEGIN CERTIFICATE-----"


@dataclass(frozen=True, eq=False)
class TrustStore:
    """Trusted root certificates and the matching path-validation store.

    Attributes:
        roots: the certificates of the bundle, in file order.
        store: the same certificates as a ``cryptography`` verification store.
        source: ``"certifi"`` or the path of the ``--ca-file`` bundle.
    """

    roots: tuple[x509.Certificate, ...]
    store: Store
    source: str
    _by_subject: Mapping[x509.Name, tuple[x509.Certificate, ...]] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        index: dict[x509.Name, list[x509.Certificate]] = {}
        for cert in self.roots:
            index.setdefault(cert.subject, []).append(cert)
        frozen = MappingProxyType({name: tuple(certs) for name, certs in index.items()})
        object.__setattr__(self, "_by_subject", frozen)

    @classmethod
    def from_certificates(cls, certs: list[x509.Certificate], source: str) -> TrustStore:
        """Build a store from parsed certificates.

        Raises:
            ConfigError: ``certs`` is empty.
        """
        if not certs:
            raise ConfigError(f"{source}: no certificates in the trust store")
        return cls(roots=tuple(certs), store=Store(certs), source=source)

    @classmethod
    def from_pem(cls, data: bytes, source: str) -> TrustStore:
        """Build a store from a PEM bundle's bytes.

        Raises:
            ConfigError: the bytes hold no PEM certificate or one does not parse.
        """
        if not data.strip():
            raise ConfigError(f"{source}: CA file is empty")
        if _PEM_MARKER not in data:
            raise ConfigError(f"{source}: not a PEM certificate bundle (no BEGIN CERTIFICATE)")
        with warnings.catch_warnings():
            # Several roots of the Mozilla program predate RFC 5280's positive-serial
            # rule; cryptography warns about them, but they are still roots to trust.
            warnings.simplefilter("ignore", crypto_utils.CryptographyDeprecationWarning)
            try:
                certs = x509.load_pem_x509_certificates(data)
            except ValueError as exc:
                raise ConfigError(f"{source}: unreadable PEM certificate: {exc}") from None
        return cls.from_certificates(certs, source)

    def contains(self, cert: x509.Certificate) -> bool:
        """True when ``cert`` itself (byte for byte) is in the store."""
        return cert in self._by_subject.get(cert.subject, ())

    def with_subject(self, name: x509.Name) -> tuple[x509.Certificate, ...]:
        """Store certificates whose subject is ``name`` (candidate issuers)."""
        return self._by_subject.get(name, ())


def load_trust_store(ca_file: Path | None) -> TrustStore:
    """The trust store of a run: certifi's Mozilla roots, or ``ca_file`` instead.

    Results are cached per path, so the same bundle is parsed once per process.

    Args:
        ca_file: a PEM bundle that replaces the default store, or None.

    Raises:
        ConfigError: ``ca_file`` is missing, unreadable, empty or not PEM.
    """
    if ca_file is None:
        import certifi  # only the default store needs it (a CA file replaces it)

        path = certifi.where()
    else:
        path = str(ca_file)
    source = CERTIFI_SOURCE if ca_file is None else str(ca_file)
    try:
        stat = Path(path).stat()
    except FileNotFoundError:
        raise ConfigError(f"{source}: CA file not found") from None
    except OSError as exc:
        raise ConfigError(f"{source}: cannot read CA file: {_reason(exc)}") from None
    # The key includes mtime and size so a bundle rewritten in place (the lab's
    # CA, a rotated private root) is read again.
    return _load_path(path, source, stat.st_mtime_ns, stat.st_size)


@functools.cache
def _load_path(path: str, source: str, mtime_ns: int, size: int) -> TrustStore:
    try:
        data = Path(path).read_bytes()
    except FileNotFoundError:
        raise ConfigError(f"{source}: CA file not found") from None
    except OSError as exc:
        raise ConfigError(f"{source}: cannot read CA file: {_reason(exc)}") from None
    return TrustStore.from_pem(data, source)


def _reason(exc: OSError) -> str:
    return exc.strerror or type(exc).__name__
