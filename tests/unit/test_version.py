"""The version is written once (k8s_aws.__version__); everything else reads it."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from k8s_aws import __version__

ROOT = Path(__file__).resolve().parents[2]


def test_changelog_newest_entry_is_the_version() -> None:
    headings = re.findall(r"^## (\S+)", (ROOT / "CHANGELOG.md").read_text(), re.M)
    assert headings, "CHANGELOG.md has no version entry"
    assert headings[0] == __version__


def test_no_distribution_writes_a_version_of_its_own() -> None:
    for pyproject in (ROOT / "pyproject.toml", ROOT / "sandbox" / "pyproject.toml"):
        project = tomllib.loads(pyproject.read_text())["project"]
        assert "version" not in project, pyproject
        assert "version" in project["dynamic"], pyproject


def test_version_is_a_release_number() -> None:
    assert re.fullmatch(r"\d+\.\d+\.\d+", __version__)
