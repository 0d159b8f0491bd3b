"""Attachments that make real block devices: a volume attached to an instance registered
here (the instance a node service serves) becomes a loop device over a sparse file of its
full size (see `k8s_aws_sandbox.loopdevices`); detach removes the device, ModifyVolume to a
larger size grows it, DeleteVolume drops its data, and a reset of the emulator releases all.
"""

from __future__ import annotations

import logging

from k8s_aws.host.commands import HostError
from k8s_aws_sandbox.fidelity.behaviour import Behaviour, Call
from k8s_aws_sandbox.fidelity.responses import Reply
from k8s_aws_sandbox.loopdevices import LoopDevices

log = logging.getLogger(__name__)


class BlockDevices(Behaviour):
    def __init__(self, devices: LoopDevices | None = None) -> None:
        self.devices = devices
        self.instances: set[str] = set()

    def reset(self) -> None:
        self.instances.clear()
        if self.devices is not None:
            self.devices.release_all()

    def after(self, call: Call, reply: Reply) -> Reply:
        request = call.request
        if self.devices is None or request.service != "ec2" or not reply.ok:
            return reply
        volume_id = request.param("VolumeId")
        volume = call.backends.ec2.volumes.get(volume_id)
        try:
            if request.action == "AttachVolume":
                if volume is not None and request.param("InstanceId") in self.instances:
                    self.devices.attach(volume_id, request.param("Device"), int(volume.size))
            elif request.action == "DetachVolume":
                self.devices.detach(volume_id)
            elif request.action == "ModifyVolume" and volume is not None:
                self.devices.grow(volume_id, int(volume.size))
            elif request.action == "DeleteVolume":
                self.devices.delete(volume_id)
        except (HostError, OSError):  # the call succeeded in AWS; the device is best effort
            log.exception("block device for %s on %s failed", volume_id, request.action)
        return reply
