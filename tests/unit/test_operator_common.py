"""The operator tools' cluster-name resolution from this VM's own instance."""

from __future__ import annotations

from typing import Any

import pytest

from k8s_aws.cli.operator_common import resolve_cluster
from k8s_aws.cloud.errors import NotConfigured
from k8s_aws.model.doctor import InstanceFacts


class NoAws:
    """Any AWS client asked for is a test failure: the facts were already read."""

    def client(self, service: str) -> Any:
        raise AssertionError(f"an AWS {service} client was asked for")


def _own(*tags: tuple[str, str]) -> InstanceFacts:
    return InstanceFacts(id="i-0abc", zone="us-east-1a", vpc_id="vpc-1", tags=tags,
                         security_groups=(), profile_arn="", hop_limit=1,
                         http_tokens="required")


def test_the_instance_already_read_names_the_cluster_without_another_describe() -> None:
    name, source = resolve_cluster(NoAws(), "", "i-0abc",  # type: ignore[arg-type]
                                   _own(("kubernetes.io/cluster/demo", "owned")))
    assert (name, source) == ("demo", "the tags of this instance i-0abc")


def test_the_flag_wins_over_the_instance_tags() -> None:
    own = _own(("kubernetes.io/cluster/demo", "owned"))
    assert resolve_cluster(NoAws(), "other", "i-0abc", own) == (  # type: ignore[arg-type]
        "other", "--cluster-name")


@pytest.mark.parametrize("tags", [(), (("kubernetes.io/cluster/a", "owned"),
                                       ("kubernetes.io/cluster/b", "shared"))],
                         ids=["untagged", "two-clusters"])
def test_an_untagged_or_doubly_tagged_instance_is_not_configured(
        tags: tuple[tuple[str, str], ...]) -> None:
    with pytest.raises(NotConfigured):
        resolve_cluster(NoAws(), "", "i-0abc", _own(*tags))  # type: ignore[arg-type]
