"""Hosted mail providers recognised by their MX host names, and who controls what.

When a domain's MX points at Google Workspace or Microsoft 365, a finding
about those servers (their TLS, certificates, DANE records, reverse DNS) is
the provider's business: the domain owner cannot change it, and Postfix
advice is useless.  What the owner does control is in DNS: the MX records
themselves, MTA-STS and TLS-RPT, and DNSSEC of their own zone.  This module
is data: which host names belong to which provider (their public MX naming),
what the provider controls, and where the provider documents the owner's
settings.  It is pure (no I/O); the report names the provider of each MX
host and points findings to the right party.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

__all__ = [
    "OWNER_CONTROLS",
    "PROVIDERS",
    "PROVIDER_CONTROLS",
    "Provider",
    "owner_controls",
    "provider_hint",
    "providers_of",
    "recognise",
]

# What a hosted provider runs for its customers, and what stays with the owner.
PROVIDER_CONTROLS = (
    "the MX servers' TLS versions and ciphers",
    "their certificates",
    "DANE (TLSA) records for their host names",
    "their reverse DNS",
)
OWNER_CONTROLS = ("the MX records", "MTA-STS", "TLS-RPT", "DNSSEC of the domain's zone")

# Finding-code prefixes about the domain's own DNS and policies: the owner's
# business even when the MX hosts are a provider's.
_OWNER_PREFIXES = ("mx.", "mta_sts.", "tls_rpt.", "submission.", "dns.")


@dataclass(frozen=True, slots=True)
class Provider:
    """A hosted mail provider (or filtering gateway) and its public MX naming.

    Attributes:
        key: stable identifier in the JSON (``google``).
        name: as the report shows it (``Google Workspace``).
        suffixes: MX host names that are, or end in ``.``-separated, one of these.
        docs: topic -> the provider's page for the owner's side of it
            (``mta-sts``, ``tls-rpt``, ``dane``, ``dns``).
        gateway: a filtering service in front of the real mail servers.
    """

    key: str
    name: str
    suffixes: tuple[str, ...]
    docs: tuple[tuple[str, str], ...] = ()
    gateway: bool = False

    def doc(self, topic: str) -> str | None:
        """The provider's page for ``topic``, if it publishes one mxtls knows."""
        return dict(self.docs).get(topic)

    def matches(self, host: str) -> bool:
        """Is ``host`` (an MX target, A-label, any case) one of this provider's?"""
        name = host.lower().rstrip(".")
        return any(name == s or name.endswith("." + s) for s in self.suffixes)


PROVIDERS: tuple[Provider, ...] = (
    Provider(
        "google",
        "Google Workspace",
        ("aspmx.l.google.com", "googlemail.com", "smtp.google.com"),
        (
            ("mta-sts", "https://support.google.com/a/answer/9276512"),
            ("tls-rpt", "https://support.google.com/a/answer/9276512"),
            ("tls", "https://support.google.com/a/answer/9261504"),
        ),
    ),
    Provider(
        "microsoft",
        "Microsoft 365 (Exchange Online)",
        ("mail.protection.outlook.com", "mx.microsoft"),
        (
            (
                "mta-sts",
                "https://learn.microsoft.com/en-us/purview/enhancing-mail-flow-with-mta-sts",
            ),
            (
                "tls-rpt",
                "https://learn.microsoft.com/en-us/purview/enhancing-mail-flow-with-mta-sts",
            ),
            ("dane", "https://learn.microsoft.com/en-us/purview/how-smtp-dane-works"),
        ),
    ),
    Provider(
        "fastmail",
        "Fastmail",
        ("messagingengine.com",),
        (("dns", "https://www.fastmail.help/hc/en-us/articles/360060591153"),),
    ),
    Provider("zoho", "Zoho Mail", ("zoho.com", "zoho.eu", "zoho.in", "zoho.com.au", "zoho.jp")),
    Provider("proton", "Proton Mail", ("protonmail.ch",)),
    Provider("icloud", "iCloud Mail", ("mail.icloud.com",)),
    Provider("yandex", "Yandex 360", ("mx.yandex.net", "mx.yandex.ru")),
    Provider("mimecast", "Mimecast", ("mimecast.com",), gateway=True),
    Provider("proofpoint", "Proofpoint", ("pphosted.com", "ppe-hosted.com"), gateway=True),
)

# Which provider page answers which finding area (first prefix that matches).
_DOC_TOPICS = (
    ("mta_sts.", "mta-sts"),
    ("tls_rpt.", "tls-rpt"),
    ("dane.", "dane"),
    ("dnssec.", "dane"),
    ("tls.", "tls"),
    ("starttls.", "tls"),
    ("cert.", "tls"),
)


def recognise(host: str) -> Provider | None:
    """The provider whose public MX naming ``host`` follows, or None."""
    for provider in PROVIDERS:
        if provider.matches(host):
            return provider
    return None


def owner_controls(code: str) -> bool:
    """Is a finding with ``code`` about something the domain owner controls?"""
    return code.startswith(_OWNER_PREFIXES)


def provider_hint(code: str, provider: Provider) -> str:
    """What to do about ``code`` on an MX host that ``provider`` operates (one line)."""
    topic = next((t for prefix, t in _DOC_TOPICS if code.startswith(prefix)), None)
    page = provider.doc(topic) if topic else None
    page = page or provider.doc("dns")
    where = f" (see {page})" if page else f" (see {provider.name}'s documentation)"
    if owner_controls(code):
        return f"Yours to fix in your DNS, with {provider.name}'s values{where}."
    return (
        f"{provider.name} operates this server: nothing to change on your side; "
        f"report it to {provider.name} if it persists{where}."
    )


def providers_of(hosts: Iterable[str]) -> dict[str, Provider]:
    """MX host -> provider, for the hosts a provider operates."""
    found: dict[str, Provider] = {}
    for host in hosts:
        provider = recognise(host)
        if provider is not None:
            found[host] = provider
    return found
