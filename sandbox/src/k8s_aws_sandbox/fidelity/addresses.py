"""Private addresses as AWS recycles them: a terminated instance's primary interface goes
with it, so its private IP (and with it the private DNS name) can be given to the next
instance. BOSH recreates VMs with their static IPs; a controller must then tell the new
instance from the old one although the Node name is the same."""

from __future__ import annotations

import logging

from k8s_aws_sandbox.fidelity import moto_state
from k8s_aws_sandbox.fidelity.behaviour import Behaviour, Call
from k8s_aws_sandbox.fidelity.responses import Reply

log = logging.getLogger(__name__)


class InstanceAddresses(Behaviour):
    def after(self, call: Call, reply: Reply) -> Reply:
        request = call.request
        if (
            request.service == "ec2"
            and request.action == "TerminateInstances"
            and reply.ok
            and call.on.released_addresses
        ):
            for instance_id in request.members("InstanceId"):
                released = moto_state.release_instance_addresses(call.backends.ec2, instance_id)
                if released:
                    log.info("%s terminated: released %s", instance_id, ", ".join(released))
        return reply
