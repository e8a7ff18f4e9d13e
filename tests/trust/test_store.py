"""The trust store: certifi by default, ``--ca-file`` instead, clear errors otherwise."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization

from mxtls.errors import ConfigError
from mxtls.lab.ca import LabCA
from mxtls.trust.store import CERTIFI_SOURCE, TrustStore, load_trust_store
from tests.checks.builders import CA, NOW, OTHER_CA


def test_default_is_certifi_and_cached() -> None:
    # filterwarnings=error: parsing the Mozilla bundle must not leak warnings.
    store = load_trust_store(None)
    assert store.source == CERTIFI_SOURCE
    assert len(store.roots) > 50
    assert store is load_trust_store(None)
    assert not store.contains(CA.root)


def test_ca_file_replaces_the_default(tmp_path: Path) -> None:
    path = CA.write_root(tmp_path / "root.pem")
    store = load_trust_store(path)
    assert store.roots == (CA.root,)
    assert store.source == str(path)
    assert store.contains(CA.root)
    assert not store.contains(OTHER_CA.root)
    assert store.with_subject(CA.root.subject) == (CA.root,)
    assert store is load_trust_store(path)  # cached by path


def test_rewritten_ca_file_is_read_again(tmp_path: Path) -> None:
    path = CA.write_root(tmp_path / "root.pem")
    first = load_trust_store(path)
    path.write_bytes(OTHER_CA.root_pem() + CA.root_pem())
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    second = load_trust_store(path)
    assert second is not first
    assert second.roots == (OTHER_CA.root, CA.root)


def test_bundle_with_other_pem_blocks(tmp_path: Path) -> None:
    issued = LabCA(name="bundle test", slot=3, now=NOW).issue(["a.example"])
    path = tmp_path / "bundle.pem"
    path.write_bytes(b"# comment line\n" + issued.chain_pem())
    assert len(load_trust_store(path).roots) == 2


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "empty"),
        (b"   \n\n", "empty"),
        (b"hello, not a certificate\n", "not a PEM"),
        (None, "not a PEM"),  # DER bytes instead of PEM
        (b"-----BEGIN CERTIFICATE-----\nnot base64!\n-----END CERTIFICATE-----\n", "unreadable"),
    ],
    ids=["empty", "blank", "text", "der", "broken-pem"],
)
def test_bad_ca_file(tmp_path: Path, content: bytes | None, message: str) -> None:
    path = tmp_path / "bad.pem"
    path.write_bytes(
        CA.root.public_bytes(serialization.Encoding.DER) if content is None else content
    )
    with pytest.raises(ConfigError, match=message) as info:
        load_trust_store(path)
    assert str(path) in str(info.value)
    assert "\n" not in str(info.value)


def test_missing_and_unreadable_ca_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        load_trust_store(tmp_path / "missing.pem")
    with pytest.raises(ConfigError, match="cannot read"):
        load_trust_store(tmp_path)  # a directory


def test_unreadable_ca_file(tmp_path: Path) -> None:
    if os.geteuid() == 0:
        pytest.skip("running as root: root reads a file whatever its permissions")
    locked = CA.write_root(tmp_path / "locked.pem")
    locked.chmod(0o000)
    with pytest.raises(ConfigError, match="cannot read"):
        load_trust_store(locked)


def test_from_certificates_rejects_empty() -> None:
    with pytest.raises(ConfigError):
        TrustStore.from_certificates([], "nothing")
