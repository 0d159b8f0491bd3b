"""Which cluster an instance belongs to, from its tags (pure)."""

from __future__ import annotations

from k8s_aws.model.cluster_tag import CLUSTER_TAG_PREFIX

LEGACY_CLUSTER_TAG = "KubernetesCluster"


class AmbiguousCluster(ValueError):
    """The instance carries the tags of more than one cluster."""


def cluster_name_from_tags(tags: tuple[tuple[str, str], ...]) -> str | None:
    names = {k[len(CLUSTER_TAG_PREFIX):] for k, _ in tags if k.startswith(CLUSTER_TAG_PREFIX)}
    names |= {v for k, v in tags if k == LEGACY_CLUSTER_TAG and v}
    if len(names) > 1:
        raise AmbiguousCluster(
            f"this instance is tagged for several clusters ({', '.join(sorted(names))}); "
            "set --cluster-name"
        )
    return next(iter(names), None)
