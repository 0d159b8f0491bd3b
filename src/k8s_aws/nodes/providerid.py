"""Provider ids: `aws:///<zone>/<instance-id>`, also accepting `aws:////<id>` and a bare `i-...`."""

from __future__ import annotations

import re

from k8s_aws.model.instance import InstanceId

_INSTANCE_ID_RE = re.compile(r"^i-[0-9a-f]{8}([0-9a-f]{9})?$")
_PROVIDER_RE = re.compile(r"^aws://[^/]*/([^/]*)/(i-[0-9a-f]+)$")


class InvalidProviderId(ValueError):
    """A providerID that is not an AWS one; the message shows the accepted forms."""


def format_provider_id(zone: str, instance_id: InstanceId) -> str:
    return f"aws:///{zone}/{instance_id}"


def is_instance_id(value: str) -> bool:
    return bool(_INSTANCE_ID_RE.match(value))


def parse_provider_id(provider_id: str) -> InstanceId:
    """The instance id inside a provider id."""
    if is_instance_id(provider_id):
        return InstanceId(provider_id)
    match = _PROVIDER_RE.match(provider_id)
    if match and is_instance_id(match.group(2)):
        return InstanceId(match.group(2))
    raise InvalidProviderId(
        f"providerID {provider_id!r} is not an AWS one; expected aws:///<zone>/<instance-id>, "
        "aws:////<instance-id> or i-<hex>"
    )
