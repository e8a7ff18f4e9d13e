"""Reverse DNS of a mail server's address: the PTR names and their forward confirmation.

Large receivers judge a sending address by its PTR record and whether that
name resolves back to the address (forward-confirmed reverse DNS, FCrDNS);
web checkers show it beside the SMTP test.  A :class:`ReverseDns` records
the lookups as they happened; ``status`` folds them:

==============  ===========================================================
``confirmed``   a PTR name resolves back to the address (FCrDNS)
``unconfirmed`` PTR names exist, none resolves back to the address
``missing``     no PTR record (NXDOMAIN or an empty answer)
``failed``      the reverse lookup itself failed (SERVFAIL, REFUSED, timeout):
                nothing is known, and nothing is judged
==============  ===========================================================
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from mxtls.models.observations import DnsAnswer

ReverseStatus = Literal["confirmed", "unconfirmed", "missing", "failed"]


class ReverseDns(BaseModel):
    """The reverse lookup of one address.

    Attributes:
        address: the IP address.
        status: see the module docstring.
        names: the PTR names (lower case, no trailing dot).
        confirmed_names: those whose A/AAAA answer holds the address.
        ptr: the PTR answer.
        forward: the A/AAAA answers of the PTR names (at most a few).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    address: str
    status: ReverseStatus
    names: list[str] = Field(default_factory=list)
    confirmed_names: list[str] = Field(default_factory=list)
    ptr: DnsAnswer
    forward: list[DnsAnswer] = Field(default_factory=list)
