"""Faster tag filters in the emulator, same answers.

moto reads one resource's tags by scanning every tag of the account (`describe_tags` with a
`resource-id` filter), and matches a `tag:` filter by translating and compiling each of its
values as a wildcard pattern again for every resource: a DescribeInstances filtering 1000
instances by 200 `id` tags read ten million tags and ran 200,000 pattern translations, 25 s
in all. The emulator, not AWS, would set the pace of a 1000-node benchmark. Here a resource's
tags are read from its own entry of the same tag store, and a filter's values are split once
into exact values and the few wildcard patterns (`*`, `?`, `[`) that need a regex.
"""

from __future__ import annotations

import functools
import re
from typing import Any

from moto.ec2 import utils as moto_utils
from moto.ec2.models.core import TaggedEC2Resource
from moto.ec2.utils import EC2_PREFIX_TO_RESOURCE, get_prefix, simple_aws_filter_to_re

_WILDCARD = re.compile(r"[*?\[]")


def resource_tags(resource: Any) -> list[dict[str, str]]:
    """What moto's `get_tags` returns (its describe_tags records), from the resource's entry."""
    resource_id = getattr(resource, "id", None)
    if not resource_id:
        return []
    kind = EC2_PREFIX_TO_RESOURCE.get(get_prefix(resource_id), "")
    tags = resource.ec2_backend.tags.get(resource_id, {})
    return [{"resource_id": resource_id, "key": key, "value": value, "resource_type": kind}
            for key, value in tags.items()]


@functools.lru_cache(maxsize=256)
def _patterns(values: tuple[str, ...]) -> tuple[re.Pattern[str], ...]:
    """Only a value with a wildcard can match other than itself."""
    return tuple(re.compile(simple_aws_filter_to_re(v)) for v in values if _WILDCARD.search(v))


def tag_filter_matches(obj: Any, filter_name: str, filter_values: list[str]) -> bool:
    """moto's `tag_filter_matches`, with each filter's patterns compiled once."""
    if filter_name == "tag-key":
        tag_values: Any = moto_utils.get_obj_tag_names(obj)
    elif filter_name == "tag-value":
        tag_values = moto_utils.get_obj_tag_values(obj)
    elif filter_name.startswith("tag:"):
        tag_values = moto_utils.get_obj_tag_values(obj, key=filter_name[4:])
    else:
        tag_values = [moto_utils.get_obj_tag(obj, filter_name) or ""]
    exact = set(filter_values)
    patterns = _patterns(tuple(filter_values))
    return any(v in exact or any(p.match(v) for p in patterns) for v in tag_values)


def install() -> None:
    TaggedEC2Resource.get_tags = resource_tags  # type: ignore[method-assign,assignment]
    moto_utils.tag_filter_matches = tag_filter_matches
