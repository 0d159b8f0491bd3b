"""AWS identifiers as distinct types, so a name cannot stand in for an id or an ARN (the
instance, volume and snapshot ids live beside their records)."""

from __future__ import annotations

from typing import NewType

SecurityGroupId = NewType("SecurityGroupId", str)  # sg-...
Arn = NewType("Arn", str)  # arn:aws:elasticloadbalancing:... (NLBs, target groups, listeners)
LoadBalancerName = NewType("LoadBalancerName", str)  # a Classic ELB's or an NLB's name
