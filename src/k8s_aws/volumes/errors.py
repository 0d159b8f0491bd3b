"""The planning errors; the CSI layer maps each to one status code."""

from __future__ import annotations


class PlanError(Exception):
    """Base of what planning refuses."""


class ParameterError(PlanError):
    """A StorageClass parameter (or request field) is invalid; `key` names it."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(f"parameter {key!r}: {message}")
        self.key = key


class CapacityError(PlanError):
    """The requested capacity cannot be served by the volume type (CSI OUT_OF_RANGE)."""


class TopologyError(PlanError):
    """No zone satisfies the accessibility requirements (CSI RESOURCE_EXHAUSTED)."""


class NoDeviceName(PlanError):
    """Every EBS-legal device name on the instance is taken (CSI RESOURCE_EXHAUSTED)."""
