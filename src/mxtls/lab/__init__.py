"""The built-in lab: a real local mail world on loopback.

DNS (:mod:`~mxtls.lab.dns_server`), SMTP with STARTTLS and implicit TLS
(:mod:`~mxtls.lab.smtp_server`) and a throwaway CA (:mod:`~mxtls.lab.ca`)
serve the domains of :mod:`~mxtls.lab.scenarios`; :class:`Lab` starts and
stops them together.  ``mxtls demo`` runs on it and so do the tests.
"""

from mxtls.lab.ca import Issued, LabCA
from mxtls.lab.dns_server import DnsFault, DnsServer
from mxtls.lab.scenarios import SCENARIOS, CertSpec, HostSpec, Scenario
from mxtls.lab.smtp_server import SmtpBehaviour, SmtpMode, SmtpServer
from mxtls.lab.world import Lab, LabHost

__all__ = [
    "SCENARIOS",
    "CertSpec",
    "DnsFault",
    "DnsServer",
    "HostSpec",
    "Issued",
    "Lab",
    "LabCA",
    "LabHost",
    "Scenario",
    "SmtpBehaviour",
    "SmtpMode",
    "SmtpServer",
]
