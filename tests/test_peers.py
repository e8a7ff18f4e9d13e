"""The real-peer switch: skip locally, fail under ``MXTLS_REQUIRE_PEERS=1``."""

from __future__ import annotations

import pytest

from tests.peers import REQUIRE_PEERS_ENV, peers_required, require_peer


def test_available_peer_passes_through(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(REQUIRE_PEERS_ENV, "1")
    require_peer("Postfix", True, "never shown")


def test_missing_peer_skips_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(REQUIRE_PEERS_ENV, raising=False)
    assert not peers_required()
    with pytest.raises(pytest.skip.Exception, match="unbound not available: not installed"):
        require_peer("unbound", False, "not installed")


@pytest.mark.parametrize("value", ["0", ""])
def test_zero_or_empty_does_not_require(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv(REQUIRE_PEERS_ENV, value)
    assert not peers_required()


def test_missing_peer_fails_when_required(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(REQUIRE_PEERS_ENV, "1")
    with pytest.raises(pytest.fail.Exception, match="Postfix not available: no postconf"):
        require_peer("Postfix", False, "no postconf")
