"""What the node lifecycle controller does with a Node, given its instance's state."""

from __future__ import annotations

from enum import Enum

SHUTDOWN_TAINT = "node.cloudprovider.kubernetes.io/shutdown"
GONE_STATES = frozenset({"terminated"})
SHUTDOWN_STATES = frozenset({"stopped"})


class LifecycleAction(Enum):
    NOTHING = "nothing"
    DELETE_NODE = "delete-node"
    ADD_SHUTDOWN_TAINT = "add-shutdown-taint"
    REMOVE_SHUTDOWN_TAINT = "remove-shutdown-taint"


def needs_instance_state(ready: bool) -> bool:
    """Only NotReady nodes cost an AWS call; a Ready one is decided from the Node alone."""
    return not ready


def plan_lifecycle(
    ready: bool, has_shutdown_taint: bool, instance_state: str | None
) -> LifecycleAction:
    """`instance_state` None means the instance does not exist (InvalidInstanceID.NotFound)."""
    if ready:
        return LifecycleAction.REMOVE_SHUTDOWN_TAINT if has_shutdown_taint else (
            LifecycleAction.NOTHING
        )
    if instance_state is None or instance_state in GONE_STATES:
        return LifecycleAction.DELETE_NODE
    if instance_state in SHUTDOWN_STATES:
        return LifecycleAction.NOTHING if has_shutdown_taint else (
            LifecycleAction.ADD_SHUTDOWN_TAINT
        )
    if has_shutdown_taint and instance_state == "running":
        return LifecycleAction.REMOVE_SHUTDOWN_TAINT
    return LifecycleAction.NOTHING
