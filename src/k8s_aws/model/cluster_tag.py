"""The cluster tag, `kubernetes.io/cluster/<name>` = `owned` | `shared`, spelled once: every
tag written, every filter and every ownership check builds its key here."""

from __future__ import annotations

CLUSTER_TAG_PREFIX = "kubernetes.io/cluster/"
OWNED = "owned"
SHARED = "shared"


def cluster_tag_key(cluster: str) -> str:
    return CLUSTER_TAG_PREFIX + cluster
