"""A compact set of domain names: 8-byte digests, sorted, with a small recent buffer.

A scan of millions of domains must drop duplicates from its input and, with
``--resume``, skip the domains already in its output; a Python ``set`` of the
names costs some 100 bytes per name.  :class:`DigestSet` keeps a 64-bit
BLAKE2b digest of each name: recent ones in a ``set`` of ints, the rest in a
sorted ``array('Q')`` searched by bisection.  The buffer is merged into the
array when it reaches a quarter of the array's size (at least
:data:`MERGE_MIN`), so the amortised cost per name is about 20 bytes and
O(log n) time.

Two different names with the same 64-bit digest would be taken for one
(the second dropped as a duplicate): with n names the chance is about
n²/2⁶⁵, one in 5,000 for 87 million names; :attr:`DigestSet.collisions_possible`
says so in the summary rather than pretending otherwise.
"""

from __future__ import annotations

import heapq
from array import array
from bisect import bisect_left
from hashlib import blake2b

MERGE_MIN = 65_536  # names buffered before the first merge
DIGEST_BYTES = 8


def digest(name: str) -> int:
    """The 64-bit digest of ``name`` (lower-cased, without the trailing dot)."""
    data = name.rstrip(".").lower().encode("utf-8", "surrogatepass")
    return int.from_bytes(blake2b(data, digest_size=DIGEST_BYTES).digest(), "big")


class DigestSet:
    """Names seen, by 64-bit digest (see the module docstring)."""

    def __init__(self) -> None:
        self._sorted: array[int] = array("Q")
        self._recent: set[int] = set()

    def __len__(self) -> int:
        return len(self._sorted) + len(self._recent)

    def __contains__(self, name: object) -> bool:
        if not isinstance(name, str):
            return False
        return self._has(digest(name))

    def _has(self, value: int) -> bool:
        if value in self._recent:
            return True
        i = bisect_left(self._sorted, value)
        return i < len(self._sorted) and self._sorted[i] == value

    def add(self, name: str) -> bool:
        """Add ``name``; True when it was new."""
        value = digest(name)
        if self._has(value):
            return False
        self._recent.add(value)
        if len(self._recent) >= max(MERGE_MIN, len(self._sorted) // 4):
            self._merge()
        return True

    def _merge(self) -> None:
        merged = array("Q", heapq.merge(self._sorted, sorted(self._recent)))
        self._sorted = merged
        self._recent = set()

    @property
    def collisions_possible(self) -> float:
        """The chance that two of the names kept share a digest (birthday bound)."""
        n = len(self)
        return min(1.0, n * n / 2.0 ** (8 * DIGEST_BYTES + 1))
