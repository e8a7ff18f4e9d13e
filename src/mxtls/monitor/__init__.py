"""The monitor: scheduled checks, posture diffs, alerts, metrics and TLS-RPT ingestion.

Modules other front ends reuse: :mod:`~mxtls.monitor.diff` (two reports in,
typed events out; pure), :mod:`~mxtls.monitor.metrics` (the Prometheus
collector), :mod:`~mxtls.monitor.tlsrpt` (RFC 8460 report parsing) with
:mod:`mxtls.store.tlsrpt` (storing, summarising, correlating), and
:mod:`~mxtls.monitor.webhook` (signing and verifying webhook bodies).
"""
