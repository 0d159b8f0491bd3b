"""Does a set of IAM policy documents grant everything the generated policy grants? Compared
statically, action by action with its resources and conditions (the emulator has no
iam:SimulatePrincipalPolicy, and a simulation would need the account anyway). Pure.

A wanted grant is covered by an Allow statement that matches the action (wildcards, any
case), covers its resources (`*` or the same patterns) and asks no condition, or exactly the
same condition; an explicit Deny of the action uncovers it.
"""

from __future__ import annotations

import fnmatch
import json
from typing import Any


def _list(value: Any) -> list[str]:
    if value is None:
        return []
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


def statements(document: dict[str, Any]) -> list[dict[str, Any]]:
    raw = document.get("Statement", [])
    return [s for s in (raw if isinstance(raw, list) else [raw]) if isinstance(s, dict)]


def _matches(patterns: list[str], value: str) -> bool:
    return any(fnmatch.fnmatchcase(value.lower(), p.lower()) for p in patterns)


def _names_action(statement: dict[str, Any], action: str) -> bool:
    if "NotAction" in statement:
        return not _matches(_list(statement["NotAction"]), action)
    return _matches(_list(statement.get("Action")), action)


def _covers_resources(statement: dict[str, Any], wanted: list[str]) -> bool:
    if "NotResource" in statement:
        return False
    have = _list(statement.get("Resource"))
    return all(_matches(have, w) or w in have for w in wanted)


def _same_condition(statement: dict[str, Any], wanted: Any) -> bool:
    have = statement.get("Condition")
    if not have:
        return True
    return json.dumps(have, sort_keys=True) == json.dumps(wanted or {}, sort_keys=True)


def missing_grants(wanted: dict[str, Any], granted: list[dict[str, Any]]) -> list[str]:
    """The wanted actions no granted document covers, sorted."""
    granted_statements = [s for d in granted for s in statements(d)]
    denies = [s for s in granted_statements if s.get("Effect") == "Deny"]
    allows = [s for s in granted_statements if s.get("Effect") == "Allow"]
    missing = set()
    for want in statements(wanted):
        resources = _list(want.get("Resource")) or ["*"]
        for action in _list(want.get("Action")):
            denied = any(_names_action(d, action) for d in denies)
            covered = any(
                _names_action(s, action) and _covers_resources(s, resources)
                and _same_condition(s, want.get("Condition"))
                for s in allows
            )
            if denied or not covered:
                missing.add(action)
    return sorted(missing)


def grants_writes(granted: list[dict[str, Any]], prefix: str = "ec2:") -> list[str]:
    """Allowed actions of a service that are not reads (a worker's profile must hold none)."""
    found = set()
    for statement in (s for d in granted for s in statements(d)):
        if statement.get("Effect") != "Allow":
            continue
        for action in _list(statement.get("Action")) or (["*"] if "NotAction" in statement
                                                          else []):
            name = action.lower()
            if name in ("*", prefix.rstrip(":") + ":*") or (
                    name.startswith(prefix) and not name[len(prefix):].startswith(
                        ("describe", "get", "list"))):
                found.add(action)
    return sorted(found)
