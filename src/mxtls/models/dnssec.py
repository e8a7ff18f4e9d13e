"""DNSSEC status of one answer, as observed by :mod:`mxtls.net.dnssec`.

A result is a fact about an answer ("its chain of trust validated from the
anchor down to ``good.example``"), not a verdict; ``checks/dnssec.py`` turns
bogus and insecure results into ``dnssec.*`` findings, and DANE reads them to
decide whether TLSA records may be used at all (RFC 7672 §2.1).

Statuses follow RFC 4033 §5 and RFC 4035 §4.3:

- ``secure``: an unbroken chain of signed DNSKEY/DS records from a trust
  anchor vouches for the answer (or for its authenticated denial).
- ``insecure``: a signed proof shows that no DS exists at some delegation
  above the name (or no trust anchor covers it), so the data cannot be signed.
- ``bogus``: the chain should be there but fails: a bad or missing
  signature, a DS that matches no key, an unproven denial.
- ``indeterminate``: the status could not be established (lookups failed
  or timed out, or the proof uses a form mxtls does not validate).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

DnssecStatus = Literal["secure", "insecure", "bogus", "indeterminate"]
DnssecMode = Literal["ad", "validate"]


class DnssecResult(BaseModel):
    """The DNSSEC status of one (qname, rdtype) answer.

    Attributes:
        qname: the name asked, lower case, without the trailing dot.
        rdtype: the record type asked (``"MX"``, ``"A"``, ``"TLSA"``, ...).
        status: see the module docstring.
        mode: ``"ad"`` trusts the resolver's AD bit; ``"validate"`` means mxtls
            validated the chain itself from its trust anchors.
        reason: why the status is not ``secure`` (or how ``secure`` was
            learned), in one line; None when there is nothing to add.
        chain: the zones validated from the anchor down, then, for an
            insecure result, where the insecurity was proven
            (``"plain.lab: no DS (NSEC)"``).  Empty in AD mode.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    qname: str
    rdtype: str
    status: DnssecStatus
    mode: DnssecMode
    reason: str | None = None
    chain: list[str] = Field(default_factory=list)

    @property
    def secure(self) -> bool:
        """True only for a validated (``secure``) answer."""
        return self.status == "secure"
