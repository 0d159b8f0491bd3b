"""Volumes and snapshots as AWS has them: created over time, modified at a limited rate,
and created once per ClientToken."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from k8s_aws_sandbox.fidelity import ebs_rules, moto_state
from k8s_aws_sandbox.fidelity.behaviour import Behaviour, Call
from k8s_aws_sandbox.fidelity.ebs_rules import Modification
from k8s_aws_sandbox.fidelity.replays import Record, Replays, fingerprint
from k8s_aws_sandbox.fidelity.responses import Refusal, Reply, drop_element, set_text


class Volumes(Behaviour):
    def __init__(self) -> None:
        self.tokens = Replays()
        self.modifications: dict[tuple[str, str, str], list[Modification]] = {}

    def reset(self) -> None:
        self.tokens.clear()
        self.modifications.clear()

    def before(self, call: Call) -> Refusal | Reply | None:
        request = call.request
        if request.service != "ec2":
            return None
        ec2 = call.backends.ec2
        if request.action == "CreateVolume":
            call.notes["volumes"] = set(ec2.volumes)
            return self._token_replay(call) or self._snapshot_check(call)
        if request.action == "CreateSnapshot":
            call.notes["snapshots"] = set(ec2.snapshots)
        if request.action == "ModifyVolume" and call.on.modification_rate:
            volume_id = request.param("VolumeId")
            history = self.modifications.get((*call.scope, volume_id), [])
            return ebs_rules.modification_refusal(volume_id, history, call.now, call.config.limits)
        return None

    def after(self, call: Call, reply: Reply) -> Reply:
        if call.request.service != "ec2" or not reply.ok:
            return reply
        action = call.request.action
        if action == "CreateVolume":
            return self._created(call, reply)
        if action == "ModifyVolume":
            return self._modified(call, reply)
        if action == "CreateSnapshot":
            return self._snapshotted(call, reply)
        return reply

    # --- CreateVolume ------------------------------------------------------------------------

    def _token_replay(self, call: Call) -> Refusal | Reply | None:
        token = call.request.param("ClientToken")
        if not token or not call.on.client_tokens:
            return None
        record = self.tokens.get((*call.scope, token))
        if record is None:
            return None
        if record.resource not in call.backends.ec2.volumes:
            return Refusal(
                "IdempotentParameterMismatch",
                "The client token you have provided is associated with a resource that is "
                "already deleted. Please use a different client token.",
            )
        if record.fingerprint != fingerprint(call.request.params):
            return Refusal(
                "IdempotentParameterMismatch",
                "Parameters on this idempotent request are inconsistent with parameters used "
                "in previous request(s).",
            )
        volume = call.backends.ec2.volumes[record.resource]
        return record.reply.with_body(set_text(record.reply.body, "status", volume.status))

    def _snapshot_check(self, call: Call) -> Refusal | None:
        snapshot_id = call.request.param("SnapshotId")
        snapshot = call.backends.ec2.snapshots.get(snapshot_id) if snapshot_id else None
        if snapshot is None or not call.on.snapshot_states:
            return None
        return ebs_rules.snapshot_refusal(snapshot_id, snapshot.status)

    def _created(self, call: Call, reply: Reply) -> Reply:
        ec2 = call.backends.ec2
        for volume_id in set(ec2.volumes) - call.notes.get("volumes", set()):
            if call.on.volume_states:
                volume = ec2.volumes[volume_id]
                moto_state.set_override(volume, "status", "creating")
                call.later(call.config.delays.volume_create, _settle(volume, "status"),
                           f"{volume_id} available")
                reply = reply.with_body(set_text(reply.body, "status", "creating"))
            token = call.request.param("ClientToken")
            if token and call.on.client_tokens:
                record = Record(fingerprint(call.request.params), reply, volume_id)
                self.tokens.remember((*call.scope, token), record)
        return reply

    # --- ModifyVolume ------------------------------------------------------------------------

    def _modified(self, call: Call, reply: Reply) -> Reply:
        volume_id = call.request.param("VolumeId")
        volume = call.backends.ec2.volumes.get(volume_id)
        if volume is None or not volume.modifications:
            return reply
        delays, now = call.config.delays, call.now
        timed = call.on.modification_states
        optimizing = now + delays.volume_modify if timed else now
        completes = optimizing + delays.volume_optimize if timed else now
        history = self.modifications.setdefault((*call.scope, volume_id), [])
        history.append(Modification(now, optimizing, completes))
        if not timed:
            return reply
        modification = volume.modifications[-1]
        _set_phase(modification, "modifying", 0)
        modification.end_time = None
        call.later(delays.volume_modify, lambda: _set_phase(modification, "optimizing", 50),
                   f"{volume_id} optimizing")
        call.later(completes - now, lambda: _complete(modification), f"{volume_id} completed")
        body = set_text(reply.body, "modificationState", "modifying")
        body = set_text(body, "progress", "0")
        return reply.with_body(drop_element(body, "endTime"))

    # --- CreateSnapshot ----------------------------------------------------------------------

    def _snapshotted(self, call: Call, reply: Reply) -> Reply:
        if not call.on.snapshot_states:
            return reply
        ec2 = call.backends.ec2
        for snapshot_id in set(ec2.snapshots) - call.notes.get("snapshots", set()):
            snapshot = ec2.snapshots[snapshot_id]
            snapshot.status = "pending"
            moto_state.set_override(snapshot, "progress", "0%")
            call.later(call.config.delays.snapshot, _snapshot_done(snapshot),
                       f"{snapshot_id} completed")
        body = set_text(reply.body, "status", "pending")
        return reply.with_body(set_text(body, "progress", "0%"))


def _set_phase(modification: Any, state: str, progress: int) -> None:
    moto_state.set_override(modification, "modification_state", state)
    moto_state.set_override(modification, "progress", progress)


def _complete(modification: Any) -> None:
    moto_state.clear_override(modification, "modification_state")
    moto_state.clear_override(modification, "progress")
    modification.end_time = moto_state.utcnow()


def _settle(obj: Any, name: str) -> Callable[[], None]:
    return lambda: moto_state.clear_override(obj, name)


def _snapshot_done(snapshot: Any) -> Callable[[], None]:
    def completed() -> None:
        snapshot.status = "completed"
        moto_state.clear_override(snapshot, "progress")

    return completed
