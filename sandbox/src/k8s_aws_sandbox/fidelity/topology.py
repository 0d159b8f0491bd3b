"""EC2 DescribeInstanceTopology, which the emulator does not implement (it answers HTTP 500,
which SDKs retry as transient; the reference cloud provider retries it three times per node).

AWS has topology data only for a few accelerated and HPC instance families; for every other
type it answers an empty set, and so does this. Instances of a family with topology data get
three network nodes (spine to leaf) derived from their zone, so instances in one zone share
their upper layers, as they do in AWS's placement.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from typing import Any
from xml.sax.saxutils import escape

from k8s_aws_sandbox.fidelity.behaviour import Behaviour, Call
from k8s_aws_sandbox.fidelity.responses import Refusal, Reply

# The families AWS documents topology for (EC2 user guide, "instance topology prerequisites").
TOPOLOGY_FAMILIES = re.compile(
    r"^(p3dn|p4d|p4de|p5|p5e|p5en|p6-b200|trn1|trn1n|trn2|hpc6a|hpc6id|hpc7a|hpc7g|g6|g6e"
    r"|gr6|inf2)\."
)
MAX_INSTANCE_IDS = 100
_XMLNS = "http://ec2.amazonaws.com/doc/2016-11-15/"


def has_topology(instance_type: str) -> bool:
    return bool(TOPOLOGY_FAMILIES.match(instance_type))


def network_nodes(zone: str, instance_id: str) -> list[str]:
    """Spine and middle layer per zone, the bottom layer per instance: stable ids."""
    def node(seed: str) -> str:
        return "nn-" + hashlib.sha256(seed.encode()).hexdigest()[:17]

    return [node(f"{zone}/spine"), node(f"{zone}/middle"), node(f"{zone}/{instance_id}")]


class InstanceTopology(Behaviour):
    def before(self, call: Call) -> Refusal | Reply | None:
        request = call.request
        if request.service != "ec2" or request.action != "DescribeInstanceTopology":
            return None
        if not call.on.instance_topology:
            return None
        wanted = request.members("InstanceId")
        if len(wanted) > MAX_INSTANCE_IDS:
            return Refusal("InvalidParameterValue",
                           f"InstanceId: at most {MAX_INSTANCE_IDS} values per request")
        ec2 = call.backends.ec2
        items = [
            _item(ec2, instance) for instance in ec2.all_instances()
            if (not wanted or instance.id in wanted)
            and instance.state == "running"
            and has_topology(instance.instance_type)
        ]
        return _reply(items)


def _item(ec2: Any, instance: Any) -> str:
    placement = instance.placement
    zone_name = str(getattr(placement, "zone", placement) or "")
    zone = ec2.get_zone_by_name(zone_name)
    zone_id = zone.zone_id if zone is not None else ""
    nodes = "".join(f"<item>{n}</item>" for n in network_nodes(zone_name, instance.id))
    return (
        f"<item><instanceId>{escape(instance.id)}</instanceId>"
        f"<instanceType>{escape(instance.instance_type)}</instanceType>"
        f"<networkNodeSet>{nodes}</networkNodeSet>"
        f"<availabilityZone>{escape(zone_name)}</availabilityZone>"
        f"<zoneId>{escape(zone_id)}</zoneId></item>"
    )


def _reply(items: list[str]) -> Reply:
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<DescribeInstanceTopologyResponse xmlns="{_XMLNS}">'
        f"<requestId>{uuid.uuid4()}</requestId>"
        f"<instanceSet>{''.join(items)}</instanceSet>"
        "</DescribeInstanceTopologyResponse>"
    ).encode()
    headers = (("Content-Type", "text/xml;charset=UTF-8"), ("Content-Length", str(len(body))))
    return Reply(200, headers, body)
