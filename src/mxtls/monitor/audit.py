"""The audit log: one JSON line per check, appended, in a field list scripts can keep.

Each line: ``time``, ``domain``, ``duration_ms``, ``status`` (``ok`` or
``failed``), ``worst``, ``verdict`` (sender → state) and ``endpoints``: per
probed endpoint ``mx``, ``ip``, ``port``, ``tls_version``, ``cipher``,
``cert_sha256`` and ``cert_not_after`` (null where no TLS).  Lines are
written with one ``write`` on a file opened for appending, so concurrent
checks never interleave within a line.
"""

from __future__ import annotations

import json
import os
from datetime import datetime
from pathlib import Path
from typing import Any

from mxtls.models.report import Report
from mxtls.monitor.diff import verdict_state

AUDIT_FIELDS = ("time", "domain", "duration_ms", "status", "worst", "verdict", "endpoints")


def audit_record(report: Report) -> dict[str, Any]:
    """The audit line of one report, as a dict."""
    worst = report.worst()
    endpoints = []
    for host in report.hosts:
        for ep in host.endpoints:
            hs = ep.handshake
            leaf = hs.chain[0] if hs is not None and hs.chain else None
            endpoints.append(
                {
                    "mx": ep.host,
                    "ip": ep.ip,
                    "port": ep.port,
                    "tls_version": hs.version if hs else None,
                    "cipher": hs.cipher if hs else None,
                    "cert_sha256": leaf.sha256_fingerprint if leaf else None,
                    "cert_not_after": leaf.not_after.isoformat() if leaf else None,
                }
            )
    return {
        "time": report.checked_at.isoformat(),
        "domain": report.domain,
        "duration_ms": report.duration_ms,
        "status": "failed" if report.internal_errors else "ok",
        "worst": worst.value if worst else None,
        "verdict": {v.sender: verdict_state(v) for v in report.verdict.senders},
        "endpoints": endpoints,
    }


def failure_record(domain: str, at: datetime, duration_ms: float, error: str) -> dict[str, Any]:
    """The audit line of a check that produced no report."""
    return {
        "time": at.isoformat(),
        "domain": domain,
        "duration_ms": duration_ms,
        "status": "failed",
        "worst": None,
        "verdict": {},
        "endpoints": [],
        "error": error,
    }


def append(path: Path, record: dict[str, Any]) -> None:
    """Append ``record`` as one line (created with mode 0600 if new)."""
    line = (json.dumps(record, separators=(",", ":"), sort_keys=True) + "\n").encode()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, line)
    finally:
        os.close(fd)
