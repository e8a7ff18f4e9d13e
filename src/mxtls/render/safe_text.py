"""Text that XML and HTML documents can carry, whatever a server sent.

Escaping (``<``, ``&``, quotes) is the writers' job (ElementTree, Jinja2's
autoescape); this removes what no escaping can carry.  XML 1.0 allows no
control character other than tab, line feed and carriage return, and no
surrogate or U+FFFE/U+FFFF; HTML also forbids the C1 controls and the
noncharacters in its input stream.  A banner or a certificate may hold any
of them, so each becomes U+FFFD (the replacement character).
"""

from __future__ import annotations

import re

# Single character classes: matching is linear, no backtracking.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_NOT_HTML = re.compile(
    "[^\t\n\x0c\r\x20-\x7e\xa0-\ud7ff\ue000-\ufdcf\ufdf0-\ufffd\U00010000-\U0010ffff]"
    "|[\U0001fffe\U0001ffff\U0002fffe\U0002ffff\U0003fffe\U0003ffff\U0004fffe\U0004ffff"
    "\U0005fffe\U0005ffff\U0006fffe\U0006ffff\U0007fffe\U0007ffff\U0008fffe\U0008ffff"
    "\U0009fffe\U0009ffff\U000afffe\U000affff\U000bfffe\U000bffff\U000cfffe\U000cffff"
    "\U000dfffe\U000dffff\U000efffe\U000effff\U000ffffe\U000fffff\U0010fffe\U0010ffff]"
)


def xml_text(value: object) -> str:
    """``value`` as a string every XML 1.0 parser accepts once escaped."""
    return _NOT_XML.sub("\ufffd", str(value))


def html_text(value: object) -> str:
    """``value`` as a string an HTML parser reads without a parse error once escaped."""
    return _NOT_HTML.sub("\ufffd", str(value))
