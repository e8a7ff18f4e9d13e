"""The built-in lab: a real local mail world on loopback.

DNS (:mod:`~mxtls.lab.dns_server`, zones signed by :mod:`~mxtls.lab.dnssec`),
SMTP with STARTTLS and implicit TLS (:mod:`~mxtls.lab.smtp_server`, SMTP AUTH
for a lab account by :mod:`~mxtls.lab.sasl_server`), IMAP and POP3
(:mod:`~mxtls.lab.mailbox_server`), HTTPS for
MTA-STS policies (:mod:`~mxtls.lab.https_server`) and a throwaway CA
(:mod:`~mxtls.lab.ca`) serve the domains of :mod:`~mxtls.lab.scenarios`;
:class:`Lab` starts and stops them together.  ``mxtls demo`` runs on it and so do the tests.
"""

from mxtls.lab.ca import Issued, LabCA
from mxtls.lab.dns_server import DnsFault, DnsServer
from mxtls.lab.dnssec import DnssecMode, SignedLab, ZoneKey
from mxtls.lab.https_server import HttpsResponse, HttpsServer, HttpsSite, PolicyServing
from mxtls.lab.mailbox_server import MailboxBehaviour, MailboxMode
from mxtls.lab.sasl_server import LabAccount
from mxtls.lab.scenarios import SCENARIOS, CertSpec, HostSpec, MtaStsSpec, Scenario, TlsaSpec
from mxtls.lab.smtp_server import SmtpBehaviour, SmtpMode, SmtpServer
from mxtls.lab.world import Lab
from mxtls.lab.zones import LabHost, PolicyHost

__all__ = [
    "SCENARIOS",
    "CertSpec",
    "DnsFault",
    "DnsServer",
    "DnssecMode",
    "HostSpec",
    "HttpsResponse",
    "HttpsServer",
    "HttpsSite",
    "Issued",
    "Lab",
    "LabAccount",
    "LabCA",
    "LabHost",
    "MailboxBehaviour",
    "MailboxMode",
    "MtaStsSpec",
    "PolicyHost",
    "PolicyServing",
    "Scenario",
    "SignedLab",
    "SmtpBehaviour",
    "SmtpMode",
    "SmtpServer",
    "TlsaSpec",
    "ZoneKey",
]
