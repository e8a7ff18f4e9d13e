"""Parquet output: one row per domain, flattened columns, the whole document kept.

Analysts read scan results with DuckDB, pandas or Spark; nested JSON is slow
to query there.  Each row has the columns a study filters on (verdicts,
grade, counts, the policies' modes) and three list columns that
``UNNEST``/``explode`` flatten: ``findings``, ``endpoints`` and
``certificates``.  ``document`` holds the complete ``mxtls/1`` JSON, so
nothing the report says is lost.  docs/bulk.md lists every column.

Rows are buffered and written a row group (:data:`ROW_GROUP`) at a time, so
memory stays bounded; pyarrow is imported only here.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from mxtls.bulk.sink import Sink, document_line
from mxtls.models.report import Report

ROW_GROUP = 500  # rows buffered before they are written
COMPRESSION = "zstd"

_TS = pa.timestamp("us", tz="UTC")

FINDING = pa.struct(
    [("code", pa.string()), ("severity", pa.string()), ("target", pa.string()),
     ("message", pa.string())]
)  # fmt: skip
ENDPOINT = pa.struct(
    [
        ("host", pa.string()),
        ("ip", pa.string()),
        ("port", pa.int32()),
        ("tls_mode", pa.string()),
        ("banner_code", pa.int32()),
        ("starttls_offered", pa.bool_()),
        ("tls_version", pa.string()),
        ("cipher", pa.string()),
        ("stopped_at", pa.string()),
        ("stop_reason", pa.string()),
        ("throttled", pa.bool_()),
    ]
)
CERTIFICATE = pa.struct(
    [
        ("host", pa.string()),
        ("ip", pa.string()),
        ("port", pa.int32()),
        ("position", pa.int32()),
        ("subject", pa.string()),
        ("issuer", pa.string()),
        ("sans", pa.list_(pa.string())),
        ("not_before", _TS),
        ("not_after", _TS),
        ("key_type", pa.string()),
        ("key_bits", pa.int32()),
        ("signature_algorithm", pa.string()),
        ("sha256_fingerprint", pa.string()),
        ("spki_sha256", pa.string()),
    ]
)
SCHEMA = pa.schema(
    [
        ("domain", pa.string()),
        ("input", pa.string()),
        ("checked_at", _TS),
        ("duration_ms", pa.float64()),
        ("grade", pa.string()),
        ("errors", pa.int32()),
        ("warnings", pa.int32()),
        ("infos", pa.int32()),
        ("null_mx", pa.bool_()),
        ("mx_status", pa.string()),
        ("mx_hosts", pa.int32()),
        ("endpoints_with_tls", pa.int32()),
        ("verdict_opportunistic", pa.string()),
        ("verdict_mta_sts", pa.string()),
        ("verdict_dane", pa.string()),
        ("mta_sts_mode", pa.string()),
        ("tls_rpt", pa.bool_()),
        ("internal_error", pa.bool_()),
        ("codes", pa.list_(pa.string())),
        ("findings", pa.list_(FINDING)),
        ("endpoints", pa.list_(ENDPOINT)),
        ("certificates", pa.list_(CERTIFICATE)),
        ("document", pa.string()),
    ]
)


def flatten(report: Report) -> dict[str, Any]:
    """One row of :data:`SCHEMA` for ``report``."""
    outcomes = {v.sender: v.outcome for v in report.verdict.senders}
    endpoints = [ep for host in report.hosts for ep in host.endpoints]
    certificates = [
        {
            "host": ep.host,
            "ip": ep.ip,
            "port": ep.port,
            "position": i,
            "subject": cert.subject,
            "issuer": cert.issuer,
            "sans": list(cert.sans),
            "not_before": cert.not_before,
            "not_after": cert.not_after,
            "key_type": cert.key_type,
            "key_bits": cert.key_bits,
            "signature_algorithm": cert.signature_algorithm,
            "sha256_fingerprint": cert.sha256_fingerprint,
            "spki_sha256": cert.spki_sha256,
        }
        for ep in endpoints
        if ep.handshake is not None
        for i, cert in enumerate(ep.handshake.chain)
    ]
    summary = report.summary
    return {
        "domain": report.domain,
        "input": report.input,
        "checked_at": report.checked_at,
        "duration_ms": report.duration_ms,
        "grade": report.grade.letter if report.grade is not None else None,
        "errors": summary.errors,
        "warnings": summary.warnings,
        "infos": summary.infos,
        "null_mx": report.null_mx,
        "mx_status": report.mx.status,
        "mx_hosts": summary.hosts,
        "endpoints_with_tls": summary.endpoints_with_tls,
        "verdict_opportunistic": outcomes.get("opportunistic"),
        "verdict_mta_sts": outcomes.get("mta_sts"),
        "verdict_dane": outcomes.get("dane"),
        "mta_sts_mode": report.mta_sts.mode if report.mta_sts is not None else None,
        "tls_rpt": bool(report.tls_rpt is not None and report.tls_rpt.rua),
        "internal_error": bool(report.internal_errors),
        "codes": sorted({f.code for f in report.findings}),
        "findings": [
            {"code": f.code, "severity": f.severity.value, "target": f.target, "message": f.message}
            for f in report.findings
        ],  # fmt: skip
        "endpoints": [
            {
                "host": ep.host,
                "ip": ep.ip,
                "port": ep.port,
                "tls_mode": ep.tls_mode,
                "banner_code": ep.banner.code if ep.banner is not None else None,
                "starttls_offered": ep.starttls_offered,
                "tls_version": ep.handshake.version if ep.handshake is not None else None,
                "cipher": ep.handshake.cipher if ep.handshake is not None else None,
                "stopped_at": ep.stopped_at,
                "stop_reason": ep.stop_reason,
                "throttled": ep.throttled,
            }
            for ep in endpoints
        ],
        "certificates": certificates,
        "document": document_line(report),
    }


class ParquetRows:
    """Rows written to one Parquet file a row group at a time."""

    def __init__(self, path: Path, *, row_group: int = ROW_GROUP) -> None:
        self.path = path
        self.row_group = row_group
        self._rows: list[dict[str, Any]] = []
        self._writer = pq.ParquetWriter(str(path), SCHEMA, compression=COMPRESSION)

    def add(self, report: Report) -> None:
        """Buffer one report's row (written with its row group)."""
        self._rows.append(flatten(report))
        if len(self._rows) >= self.row_group:
            self._flush()

    def _flush(self) -> None:
        if self._rows:
            self._writer.write_table(pa.Table.from_pylist(self._rows, schema=SCHEMA))
            self._rows = []

    def close(self) -> None:
        """Write what is buffered and the footer."""
        self._flush()
        self._writer.close()

    def abandon(self) -> None:
        """Stop without writing what is buffered (the caller removes the file)."""
        self._rows = []
        self._writer.close()


def parquet_domains(path: Path) -> Iterator[str]:
    """The ``domain`` column of a complete Parquet file."""
    table = pq.ParquetFile(str(path))
    for batch in table.iter_batches(columns=["domain"], batch_size=10_000):
        for value in batch.column(0).to_pylist():
            if isinstance(value, str):
                yield value


class ParquetFileSink(Sink):
    """A whole scan in one Parquet file, renamed into place when the scan ends."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.temp = path.with_name(f".{path.name}.tmp")
        self._rows = ParquetRows(self.temp)

    def write(self, report: Report) -> None:
        """Add one report's row."""
        self._rows.add(report)

    def close(self) -> None:
        """Write the footer and move the file into place."""
        self._rows.close()
        os.replace(self.temp, self.path)
