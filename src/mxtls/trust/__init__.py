"""What mxtls trusts and how it reads what it is shown.

The X.509 trust store (:mod:`.store`), the DNSSEC trust anchors
(:mod:`.anchors`), the description of certificate bytes (:mod:`.certinfo`)
and the RFC 6125 host-name matcher (:mod:`.names`).  Nothing here does I/O
on the network; probes, checks and the engine all import from here.
"""
