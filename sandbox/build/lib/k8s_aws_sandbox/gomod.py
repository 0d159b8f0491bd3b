"""go.mod text for the consumer-module builds: which `replace` lines a build needs (staging
modules pinned to their release, a dependency's versioned replaces inherited), and the
consumer module itself. Pure text in, text out."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from k8s_aws_sandbox.binaries import GoBuild

_STAGING_RE = re.compile(r"^\s*(k8s\.io/[\w.-]+)\s+v0\.0\.0\s*(//.*)?$", re.MULTILINE)


def staging_replacements(kubernetes_gomod: str, version: str) -> list[str]:
    """The `replace` lines pinning each staging module to the release's published version."""
    _, minor, patch = version.lstrip("v").split(".")
    names = sorted(set(_STAGING_RE.findall(kubernetes_gomod)), key=lambda m: m[0])
    return [f"replace {name} => {name} v0.{minor}.{patch}" for name, _ in names]


def without_replaces(gomod: str, modules: tuple[str, ...]) -> str:
    """`gomod` without the `replace` directives (single or in a block) of `modules`."""
    kept = []
    for line in gomod.splitlines():
        words = line.split()
        if words[:1] == ["replace"]:
            words = words[1:]
        if len(words) >= 3 and words[0] in modules and "=>" in words:
            continue
        kept.append(line)
    return "\n".join(kept) + "\n"


def versioned_replaces(gomod: str) -> list[str]:
    """The `replace` lines of `gomod` that point at a module version (not a local path)."""
    found: list[str] = []
    in_block = False
    for raw in gomod.splitlines():
        line = raw.split("//", 1)[0].strip()
        if line == "replace (":
            in_block = True
            continue
        if in_block and line == ")":
            in_block = False
            continue
        if line.startswith("replace "):
            line = line[len("replace ") :].strip()
        elif not in_block:
            continue
        left, arrow, right = line.partition("=>")
        target = right.split()
        if arrow and len(target) == 2 and not target[0].startswith("."):
            found.append(f"replace {left.strip()} => {target[0]} {target[1]}")
    return found


def consumer_gomod(build: GoBuild, replacements: list[str]) -> str:
    lines = [
        f"module k8s-aws.local/build/{build.name}",
        "",
        f"go {build.go_version}",
        "",
        *(f"require {module} {version}" for module, version in build.requires),
        "",
        *replacements,
        "",
    ]
    return "\n".join(lines)
