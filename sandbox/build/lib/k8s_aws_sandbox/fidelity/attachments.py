"""Volume attachments as AWS has them: checked (zone, device, in use, instance limit) and
`attaching` / `detaching` for a while before they settle.

The emulator attaches and detaches at once. After an attach the attachment is marked
`attaching`; after a detach the attachment the emulator dropped is put back as `detaching`
(the volume stays `in-use`, the instance keeps the device) until its delay has passed.
"""

from __future__ import annotations

from typing import Any

from k8s_aws_sandbox.fidelity import ebs_rules, moto_state
from k8s_aws_sandbox.fidelity.behaviour import Behaviour, Call
from k8s_aws_sandbox.fidelity.responses import Refusal, Reply

# How the emulator's block device mapping says "attached" (it renders it as `attached`).
_BDM_ATTACHED = "in-use"


class Attachments(Behaviour):
    def __init__(self) -> None:
        self.detaching: dict[int, Any] = {}  # id(attachment) -> attachment, while detaching

    def reset(self) -> None:
        self.detaching.clear()

    def before(self, call: Call) -> Refusal | Reply | None:
        request = call.request
        if request.service != "ec2" or request.action not in ("AttachVolume", "DetachVolume"):
            return None
        ec2 = call.backends.ec2
        volume = moto_state.volume_facts(ec2, request.param("VolumeId"))
        if volume is None:
            return None  # the emulator answers InvalidVolume.NotFound
        if request.action == "AttachVolume":
            instance = moto_state.instance_facts(ec2, request.param("InstanceId"))
            if instance is None:
                return None
            return ebs_rules.attach_refusal(
                volume, instance, request.param("Device"),
                rules=call.on.attach_rules, limits=call.on.attachment_limits,
            )
        if call.on.error_codes and (refusal := ebs_rules.detach_refusal(volume)):
            return refusal
        attachment = ec2.volumes[volume.id].attachment
        if attachment is not None:
            device = attachment.device
            call.notes["detach"] = (attachment, device,
                                    attachment.instance.block_device_mapping.get(device))
        return None

    def after(self, call: Call, reply: Reply) -> Reply:
        request = call.request
        if request.service != "ec2" or not reply.ok or not call.on.attachment_states:
            return reply
        if request.action == "AttachVolume":
            self._attaching(call)
        elif request.action == "DetachVolume" and "detach" in call.notes:
            self._detaching(call, *call.notes["detach"])
        return reply

    def _attaching(self, call: Call) -> None:
        volume = call.backends.ec2.volumes.get(call.request.param("VolumeId"))
        attachment = volume.attachment if volume is not None else None
        if attachment is None:
            return
        mapping = attachment.instance.block_device_mapping.get(attachment.device)
        attachment.status = "attaching"
        if mapping is not None:
            mapping.status = "attaching"

        def attached() -> None:
            if volume.attachment is attachment and attachment.status == "attaching":
                attachment.status = "attached"
                if mapping is not None:
                    mapping.status = _BDM_ATTACHED

        call.later(call.config.delays.volume_attach, attached, f"{volume.id} attached")

    def _detaching(self, call: Call, attachment: Any, device: str, mapping: Any) -> None:
        volume = attachment.volume
        instance = attachment.instance
        # Put back what the emulator dropped, marked as on its way out.
        volume.attachment = attachment
        attachment.status = "detaching"
        if mapping is not None:
            mapping.status = "detaching"
            instance.block_device_mapping[device] = mapping
        if id(attachment) in self.detaching:
            return  # a repeated DetachVolume: the first one's clock keeps running

        def detached() -> None:
            self.detaching.pop(id(attachment), None)
            if volume.attachment is attachment:
                volume.attachment = None
                attachment.status = "detached"
                if instance.block_device_mapping.get(device) is mapping:
                    del instance.block_device_mapping[device]

        self.detaching[id(attachment)] = attachment
        call.later(call.config.delays.volume_detach, detached, f"{volume.id} detached")
