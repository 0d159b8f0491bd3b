"""Reading a Service's `aws-load-balancer-*` annotations by suffix, every problem recorded
(not just the first) with the annotation it is about, for one Warning naming all of them."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

PREFIX = "service.beta.kubernetes.io/aws-load-balancer-"
BOOL_VALUES = {"true": True, "false": False}
TAG_KEY_RE = re.compile(r"^[\w .:/=+\-@]{1,128}$")


@dataclass(frozen=True)
class AnnotationProblem:
    annotation: str
    message: str

    def __str__(self) -> str:
        return f"{self.annotation}: {self.message}"


class InvalidAnnotations(ValueError):
    def __init__(self, problems: list[AnnotationProblem]) -> None:
        super().__init__("; ".join(str(p) for p in problems))
        self.problems = problems


class Reader:
    """Reads annotations by suffix, recording problems instead of raising at the first."""

    def __init__(self, annotations: Mapping[str, str]) -> None:
        self.values = {k[len(PREFIX):]: v for k, v in annotations.items() if k.startswith(PREFIX)}
        self.problems: list[AnnotationProblem] = []

    def problem(self, suffix: str, message: str) -> None:
        self.problems.append(AnnotationProblem(PREFIX + suffix, message))

    def text(self, suffix: str) -> str | None:
        value = self.values.get(suffix)
        return value.strip() if value is not None else None

    def boolean(self, suffix: str, default: bool) -> bool:
        value = self.text(suffix)
        if value is None:
            return default
        if value.lower() not in BOOL_VALUES:
            self.problem(suffix, f"invalid value {value!r}; allowed: true, false")
            return default
        return BOOL_VALUES[value.lower()]

    def integer(self, suffix: str, low: int, high: int) -> int | None:
        value = self.text(suffix)
        if value is None:
            return None
        if not value.isdigit() or not low <= int(value) <= high:
            self.problem(suffix, f"invalid value {value!r}; allowed: an integer {low}-{high}")
            return None
        return int(value)

    def choice(self, suffix: str, allowed: tuple[str, ...], fold: bool = True) -> str | None:
        value = self.text(suffix)
        if value is None:
            return None
        match = next((a for a in allowed if (a.lower() == value.lower() if fold else a == value)),
                     None)
        if match is None:
            self.problem(suffix, f"invalid value {value!r}; allowed: {', '.join(allowed)}")
        return match

    def items(self, suffix: str) -> tuple[str, ...]:
        value = self.text(suffix)
        return tuple(v.strip() for v in value.split(",") if v.strip()) if value else ()

    def pairs(self, suffix: str) -> tuple[tuple[str, str], ...]:
        result = []
        for item in self.items(suffix):
            key, sep, val = item.partition("=")
            if not sep or not key.strip() or not TAG_KEY_RE.match(key.strip()):
                self.problem(suffix, f"invalid entry {item!r}; expected key=value[,key=value]")
                continue
            result.append((key.strip(), val.strip()))
        return tuple(result)
