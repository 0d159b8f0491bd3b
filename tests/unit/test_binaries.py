from pathlib import Path

import pytest

from k8s_aws_sandbox import binaries, gomod

GOMOD = """module k8s.io/kubernetes

go 1.25.0

require (
\tgithub.com/armon/circbuf v0.0.0-20190214190532-5111143e8da2
\tk8s.io/api v0.0.0
\tk8s.io/kube-openapi v0.0.0-20250910181357-589584f1c912
\tk8s.io/client-go v0.0.0
)

require (
\tk8s.io/cri-client v0.0.0 // indirect
)

replace (
\tk8s.io/api => ./staging/src/k8s.io/api
)
"""


def test_staging_replacements_pin_every_v0_0_0_staging_module_to_the_release() -> None:
    assert gomod.staging_replacements(GOMOD, "v1.35.4") == [
        "replace k8s.io/api => k8s.io/api v0.35.4",
        "replace k8s.io/client-go => k8s.io/client-go v0.35.4",
        "replace k8s.io/cri-client => k8s.io/cri-client v0.35.4",
    ]


def test_consumer_gomod_requires_the_module_and_carries_the_replacements() -> None:
    text = gomod.consumer_gomod(binaries.KUBERNETES, ["replace a => a v1"])
    assert "require k8s.io/kubernetes v1.35.4" in text
    assert "replace a => a v1" in text
    assert text.startswith("module k8s-aws.local/build/kubernetes")


def test_versions_are_pinned_and_kubernetes_is_at_least_1_34() -> None:
    major, minor, _ = binaries.KUBERNETES_VERSION.lstrip("v").split(".")
    assert (int(major), int(minor)) >= (1, 34)
    etcd = tuple(int(x) for x in binaries.ETCD_VERSION.lstrip("v").split("."))
    assert etcd >= (3, 5, 11)


def test_kubernetes_binaries_are_stamped_with_their_version() -> None:
    assert "version.gitVersion=v1.35.4" in binaries.KUBERNETES.ldflags
    assert "version.gitMinor=35" in binaries.KUBERNETES.ldflags


def test_outputs_are_named_after_packages_unless_given() -> None:
    assert binaries.KUBERNETES.outputs == (
        "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kubectl",
    )
    assert binaries.ETCD.outputs == ("etcd",)


def test_cache_dir_is_outside_the_repo_and_overridable(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("K8S_AWS_CACHE_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert binaries.cache_dir() == tmp_path / "k8s-aws"
    monkeypatch.setenv("K8S_AWS_CACHE_DIR", str(tmp_path / "x"))
    assert binaries.install_dir(binaries.ETCD) == tmp_path / "x" / "bin" / "etcd-v3.6.16"
    assert not binaries.is_built(binaries.ETCD)


def test_refused_replacements_are_dropped_and_others_kept() -> None:
    text = (
        "module k8s.io/cloud-provider-aws\n\nrequire github.com/google/cel-go v0.31.0\n\n"
        "replace github.com/google/cel-go => github.com/cel-expr/cel-go v0.31.0\n"
        "replace (\n\tgithub.com/google/cel-go v0.31.0 => github.com/cel-expr/cel-go v0.31.0\n"
        "\texample.com/kept => ./kept\n)\n"
    )
    mended = gomod.without_replaces(text, ("github.com/google/cel-go",))
    assert "cel-expr" not in mended
    assert "require github.com/google/cel-go v0.31.0" in mended
    assert "example.com/kept => ./kept" in mended


def test_the_reference_provider_is_built_on_demand_only() -> None:
    build = binaries.CLOUD_PROVIDER_AWS
    assert build.main_module and build.version == "v1.37.1"
    assert build.outputs == ("aws-cloud-controller-manager",)
    assert build not in binaries.SANDBOX_BUILDS
    assert build in binaries.ON_DEMAND_BUILDS
