"""DNS host name matching for certificates (RFC 6125 §6.4), shared by the checks and DANE.

One matcher for every place a presented identifier meets a reference name:
the certificate checks (``cert.hostname_mismatch``, MTA-STS's PKIX rule) and
DANE-TA name checks (RFC 7672 §3.2.3).
"""

from __future__ import annotations

import encodings.idna


def _to_ascii(name: str) -> str | None:
    """Lower-case A-label form of ``name`` (one trailing dot dropped); None if invalid."""
    name = name.strip()
    name = name[:-1] if name.endswith(".") else name
    if not name:
        return None
    labels = []
    for label in name.split("."):
        if not label:
            return None
        if label.isascii():
            labels.append(label.lower())
            continue
        try:
            labels.append(encodings.idna.ToASCII(label).decode("ascii").lower())
        except UnicodeError:
            return None
    return ".".join(labels)


def hostname_matches(pattern: str, host: str) -> bool:
    """Does the presented identifier ``pattern`` match the reference name ``host``?

    RFC 6125 §6.4: comparison is case-insensitive on A-labels (U-labels are
    converted).  §6.4.3: a wildcard is honoured only as the *whole* leftmost
    label (``*.example.com``), matching exactly one label ("would match
    foo.example.com but not bar.foo.example.com or example.com").  Partial
    wildcards (``f*.example.com``) and wildcards elsewhere never match, and,
    as in OpenSSL, a wildcard needs at least two labels after it (no
    ``*.com``).
    """
    p = _to_ascii(pattern)
    h = _to_ascii(host)
    if p is None or h is None or "*" in h:
        return False
    if "*" not in p:
        return p == h
    p_labels = p.split(".")
    h_labels = h.split(".")
    if p_labels[0] != "*" or any("*" in label for label in p_labels[1:]):
        return False
    if len(p_labels) < 3 or len(h_labels) != len(p_labels):
        return False
    return h_labels[1:] == p_labels[1:]
