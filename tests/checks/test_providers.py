"""Hosted providers recognised by their public MX naming; who controls which finding."""

from __future__ import annotations

import pytest

from mxtls.checks.providers import (
    PROVIDERS,
    owner_controls,
    provider_hint,
    providers_of,
    recognise,
)


@pytest.mark.parametrize(
    ("host", "key"),
    [
        ("aspmx.l.google.com", "google"),
        ("ALT1.ASPMX.L.GOOGLE.COM.", "google"),
        ("aspmx2.googlemail.com", "google"),
        ("smtp.google.com", "google"),
        ("example-com.mail.protection.outlook.com", "microsoft"),
        ("example-com.r-v1.mx.microsoft", "microsoft"),
        ("mx.microsoft", "microsoft"),  # the suffix itself
        ("in1-smtp.messagingengine.com", "fastmail"),
        ("mx.zoho.eu", "zoho"),
        ("mailsec.protonmail.ch", "proton"),
        ("mx01.mail.icloud.com", "icloud"),
        ("eu-smtp-inbound-1.mimecast.com", "mimecast"),
        ("mx0a-001.pphosted.com", "proofpoint"),
    ],
)
def test_public_mx_names_are_recognised(host: str, key: str) -> None:
    provider = recognise(host)
    assert provider is not None and provider.key == key


@pytest.mark.parametrize(
    "host",
    [
        "mx.example.com",
        "google.com.evil.example",
        "notgoogle.com",
        "outlook.com",
        "xmx.microsoft.example",
    ],
)
def test_lookalikes_are_not_providers(host: str) -> None:
    assert recognise(host) is None


def test_the_provider_controls_its_servers_the_owner_its_dns() -> None:
    google = recognise("aspmx.l.google.com")
    assert google is not None
    server = provider_hint("cert.expired", google)
    assert "Google Workspace operates this server" in server and "support.google.com" in server
    dns = provider_hint("mta_sts.missing", google)
    assert dns.startswith("Yours to fix") and "9276512" in dns
    assert owner_controls("tls_rpt.missing") and not owner_controls("starttls.not_offered")
    microsoft = recognise("x.mail.protection.outlook.com")
    assert microsoft is not None and "how-smtp-dane-works" in provider_hint(
        "dane.missing", microsoft
    )
    zoho = recognise("mx.zoho.com")
    assert zoho is not None and "Zoho Mail's documentation" in provider_hint("cert.expired", zoho)


def test_table_is_consistent() -> None:
    keys = [p.key for p in PROVIDERS]
    assert len(keys) == len(set(keys))
    for provider in PROVIDERS:
        assert all(not s.startswith(".") and s == s.lower() for s in provider.suffixes)
        assert all(url.startswith("https://") for _, url in provider.docs)
    assert set(providers_of(["aspmx.l.google.com", "mx.example.com"])) == {"aspmx.l.google.com"}


def test_one_hint_lookup_points_provider_hosts_to_the_provider() -> None:
    from mxtls.render.hints import hint_for, provider_of

    google = ["alt1.aspmx.l.google.com[192.0.2.1]:25"]
    assert "Google Workspace operates this server" in (hint_for("cert.expired", google) or "")
    assert provider_of(google) is not None
    mixed = [*google, "mx.example.com[192.0.2.2]:25"]
    assert "Google" not in (hint_for("cert.expired", mixed) or "")
    assert provider_of(mixed) is None
    # the domain's own DNS findings keep the catalog's hint when no provider host is named
    assert hint_for("mta_sts.missing", ["example.com"]) == hint_for("mta_sts.missing", [])
