"""The scan's summary: counts by verdict and by finding code, kept as reports stream.

Nothing here keeps a report: each one updates counters and is dropped, so the
summary of a hundred million domains costs the same memory as that of ten.
The measures a study of mail transport security reports:

* ``starttls_every_mx``: every MX host of the domain completed STARTTLS on
  port 25 at every address probed (of the domains that accept mail);
* ``mta_sts_enforce``: a valid MTA-STS policy in ``enforce`` mode;
* ``mta_sts_enforce_valid``: and MTA-STS senders deliver under it;
* ``dane_valid``: DANE applies and DANE senders deliver (TLSA matched);
* ``tls_rpt``: a valid TLS-RPT record;
* ``no_reachable_mx``: ``delivery.no_reachable_mx`` (no MX takes mail).

Percentages are of the domains that accept mail (not a null MX, an MX
answer that did not fail), given with their denominator.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from mxtls.bulk.input import InputCounts
from mxtls.models.report import Report

MX_PORT = 25
MEASURES = (
    "starttls_every_mx",
    "mta_sts_enforce",
    "mta_sts_enforce_valid",
    "dane_valid",
    "tls_rpt",
    "no_reachable_mx",
)


def measures(report: Report) -> dict[str, bool]:
    """The summary's yes/no measures for one report (see the module docstring)."""
    outcomes = {v.sender: v for v in report.verdict.senders}
    hosts = [h for h in report.hosts if any(ep.port == MX_PORT for ep in h.endpoints)]
    every_mx = bool(hosts) and len(hosts) == len(report.hosts)
    for host in hosts:
        eps = [ep for ep in host.endpoints if ep.port == MX_PORT]
        if not all(ep.handshake is not None for ep in eps):
            every_mx = False
    sts = report.mta_sts
    enforce = bool(sts is not None and sts.mode == "enforce" and not sts.policy_errors)
    sts_verdict, dane = outcomes.get("mta_sts"), outcomes.get("dane")
    return {
        "starttls_every_mx": every_mx,
        "mta_sts_enforce": enforce,
        "mta_sts_enforce_valid": bool(
            enforce and sts_verdict is not None and sts_verdict.outcome == "delivers"
        ),
        "dane_valid": bool(dane is not None and dane.applies and dane.outcome == "delivers"),
        "tls_rpt": bool(report.tls_rpt is not None and report.tls_rpt.rua),
        "no_reachable_mx": any(f.code == "delivery.no_reachable_mx" for f in report.findings),
    }


@dataclass
class ScanSummary:
    """Counters over the reports of a scan."""

    domains: int = 0
    mail_domains: int = 0
    null_mx: int = 0
    mx_failed: int = 0
    failed: int = 0
    internal_errors: int = 0
    grades: Counter[str] = field(default_factory=Counter)
    worst: Counter[str] = field(default_factory=Counter)
    verdicts: dict[str, Counter[str]] = field(default_factory=dict)
    codes: Counter[str] = field(default_factory=Counter)
    measured: Counter[str] = field(default_factory=Counter)
    probes: int = 0
    reused: int = 0
    seconds: float = 0.0

    def add(self, report: Report) -> None:
        """Count one report."""
        self.domains += 1
        if report.internal_errors:
            self.internal_errors += 1
        if report.grade is not None:
            self.grades[report.grade.letter] += 1
        worst = report.worst()
        self.worst[worst.value if worst is not None else "none"] += 1
        for verdict in report.verdict.senders:
            self.verdicts.setdefault(verdict.sender, Counter())[verdict.outcome] += 1
        self.codes.update({f.code for f in report.findings})
        if report.null_mx:
            self.null_mx += 1
            return
        if report.mx.failed:
            self.mx_failed += 1
            return
        self.mail_domains += 1
        for name, yes in measures(report).items():
            if yes:
                self.measured[name] += 1

    def merge(self, other: ScanSummary) -> None:
        """Add another summary's counts (a shard's, from a Dask worker)."""
        for name in ("domains", "mail_domains", "null_mx", "mx_failed", "failed"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.internal_errors += other.internal_errors
        self.probes += other.probes
        self.reused += other.reused
        self.grades.update(other.grades)
        self.worst.update(other.worst)
        self.codes.update(other.codes)
        self.measured.update(other.measured)
        for sender, counts in other.verdicts.items():
            self.verdicts.setdefault(sender, Counter()).update(counts)

    def percent(self, name: str) -> float:
        """``measured[name]`` as a percentage of the mail domains (0 when none)."""
        return (
            round(100.0 * self.measured[name] / self.mail_domains, 2) if self.mail_domains else 0.0
        )

    def to_dict(self, counts: InputCounts | None = None) -> dict[str, Any]:
        """The summary as the JSON of ``--summary FILE``."""
        out: dict[str, Any] = {
            "schema": "mxtls-scan-summary/1",
            "domains": self.domains,
            "mail_domains": self.mail_domains,
            "null_mx": self.null_mx,
            "mx_failed": self.mx_failed,
            "failed": self.failed,
            "internal_errors": self.internal_errors,
            "seconds": round(self.seconds, 3),
            "domains_per_second": round(self.domains / self.seconds, 2) if self.seconds else None,
            "measures": {
                name: {"count": self.measured[name], "percent": self.percent(name)}
                for name in MEASURES
            },
            "grades": dict(sorted(self.grades.items())),
            "worst_severity": dict(sorted(self.worst.items())),
            "verdicts": {k: dict(sorted(v.items())) for k, v in sorted(self.verdicts.items())},
            "codes": dict(sorted(self.codes.items(), key=lambda kv: (-kv[1], kv[0]))),
            "probes": {"made": self.probes, "reused": self.reused},
        }
        if counts is not None:
            out["input"] = {
                "lines": counts.lines,
                "domains": counts.domains,
                "invalid": counts.invalid,
                "duplicates": counts.duplicates,
                "excluded": counts.excluded,
                "resumed": counts.resumed,
            }
        return out

    def text_lines(self, counts: InputCounts | None = None) -> list[str]:
        """A few lines for stderr at the end of the scan (80 columns)."""
        rate = f" ({self.domains / self.seconds:.1f}/s)" if self.seconds else ""
        lines = [f"scanned {self.domains} domains in {self.seconds:.1f} s{rate}"]
        if counts is not None:
            lines.append(
                f"input: {counts.lines} lines, {counts.invalid} invalid, "
                f"{counts.duplicates} duplicates, {counts.excluded} excluded, "
                f"{counts.resumed} already done"
            )
        lines.append(
            f"mail domains: {self.mail_domains} (null MX {self.null_mx}, "
            f"MX lookup failed {self.mx_failed}, check failed {self.failed})"
        )
        for name in MEASURES:
            label = name.replace("_", " ")
            lines.append(f"  {label:<24} {self.measured[name]:>9}  {self.percent(name):6.2f} %")
        if self.grades:
            lines.append("grades: " + ", ".join(f"{k} {v}" for k, v in sorted(self.grades.items())))
        top = self.codes.most_common(8)
        if top:
            lines.append("most common findings (domains):")
            lines.extend(f"  {code:<32} {n:>9}" for code, n in top)
        lines.append(f"probes: {self.probes} made, {self.reused} reused from other domains")
        return lines
