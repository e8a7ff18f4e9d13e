"""Record generators: TLSA, MTA-STS and TLS-RPT records ready to publish (pure).

The CLI (``mxtls generate ...``) gathers the live facts (certificate chain,
MX hosts); these functions only format them, so what they emit can be
round-tripped through mxtls's own parsers and the lab in tests.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from mxtls.protocol.mta_sts import (
    MTA_STS_MAX_AGE_DEFAULT_SECONDS,
    MtaStsMode,
    MtaStsPolicy,
    MtaStsRecord,
)
from mxtls.protocol.tls_rpt import TlsRptRecord
from mxtls.protocol.tlsa import generate_tlsa, tlsa_owner

if TYPE_CHECKING:
    from mxtls.models.observations import CertificateInfo

DEFAULT_MAX_AGE_S = MTA_STS_MAX_AGE_DEFAULT_SECONDS


@dataclass(frozen=True, slots=True)
class TlsaSuggestion:
    """TLSA lines for one certificate chain."""

    owner: str
    ee_line: str  # 3 1 1: the server's own key
    ta_line: str | None  # 2 1 1: the issuing CA's key, when the server sends it
    leaf: CertificateInfo

    def zone_lines(self) -> list[str]:
        """Zone-file lines: ``_25._tcp.mx.example. IN TLSA 3 1 1 ...``."""
        lines = [f"{self.owner}. IN TLSA {self.ee_line}"]
        if self.ta_line:
            lines.append(f"{self.owner}. IN TLSA {self.ta_line}")
        return lines


def suggest_tlsa(host: str, port: int, chain: Sequence[CertificateInfo]) -> TlsaSuggestion:
    """TLSA records matching ``chain`` as the server sent it (leaf first).

    Raises:
        ValueError: the chain is empty.
    """
    if not chain:
        raise ValueError("the server sent no certificate")
    ee = generate_tlsa(chain[0].der, 3, 1, 1)
    ta = generate_tlsa(chain[1].der, 2, 1, 1) if len(chain) > 1 else None
    return TlsaSuggestion(owner=tlsa_owner(host, port), ee_line=ee, ta_line=ta, leaf=chain[0])


ROLLOVER_HINT = """\
; Rollover (RFC 7671 §8): keep at least two usable records so a key change
; never leaves senders without a match. Either
;   "current + next": publish the 3 1 1 of the NEXT key (generate it before
;   the renewal, e.g. certbot --reuse-key off + a pre-generated key) next to
;   the current one, wait 2 x TTL, then switch the server, then drop the old;
; or "3 1 1 + 2 1 1": the 2 1 1 (issuing CA) keeps matching across renewals
;   by the same CA, the 3 1 1 pins the key; update the 3 1 1 after each
;   key change. Run `mxtls check` after every change."""


def mta_sts_records(
    domain: str,
    mx_hosts: Sequence[str],
    *,
    mode: MtaStsMode,
    max_age: int,
    now: datetime,
) -> tuple[str, str]:
    """``(txt_line, policy_text)`` for ``domain`` covering ``mx_hosts``.

    The id is the UTC time of generation (``YYYYMMDDHHMMSS``): 14 digits,
    within RFC 8461 §3.1's 1-32 alphanumerics, and new on every change.
    """
    record = MtaStsRecord(id=now.strftime("%Y%m%d%H%M%S"))
    patterns = tuple(dict.fromkeys(h.rstrip(".").lower() for h in mx_hosts))
    policy = MtaStsPolicy(
        mode=MtaStsMode(mode), max_age=max_age, mx=patterns if mode != "none" else ()
    )
    MtaStsRecord.parse(record.to_text())  # what we emit must parse
    MtaStsPolicy.parse(policy.to_text())
    return f'_mta-sts.{domain}. IN TXT "{record.to_text()}"', policy.to_text()


def tls_rpt_record(domain: str | None, rua: Sequence[str]) -> str:
    """The ``_smtp._tls`` TXT line for ``rua`` URIs.

    Raises:
        TlsRptSyntaxError: an rua URI is neither ``mailto:`` nor ``https:``.
    """
    text = f"v=TLSRPTv1; rua={','.join(rua)}"
    TlsRptRecord.parse(text)
    owner = f"_smtp._tls.{domain}." if domain else "_smtp._tls"
    return f'{owner} IN TXT "{text}"'
