"""One copy of equal sets of ids held by many snapshots.

Every Classic ELB of a cluster usually has the same nodes behind it, and the controller keeps
a snapshot per Service: at 1000 nodes each registered-instance set is about 40 KB, so 500
Services held 20 MB of identical sets. `shared` hands back the copy already held.
"""

from __future__ import annotations

_HELD: dict[frozenset[str], frozenset[str]] = {}
HELD_MAX = 256  # distinct sets remembered; past that the table starts over


def shared(values: frozenset[str]) -> frozenset[str]:
    """`values`, or an equal set already handed out (frozensets cache their hash)."""
    found = _HELD.get(values)
    if found is not None:
        return found
    if len(_HELD) >= HELD_MAX:
        _HELD.clear()
    _HELD[values] = values
    return values
