"""Build the sandbox's Go binaries from their modules, pinned, into a cache outside the repo.

Kubernetes cannot be `go install`ed (its go.mod replaces its staging modules with local
paths), so every tool is built through a throw-away consumer module that requires the tool's
module and, for Kubernetes, replaces each `k8s.io/<staging> v0.0.0` with its published
`v0.<minor>.<patch>`. A finished build is renamed into place atomically, so a second run is
instant and an interrupted one leaves nothing half-built behind.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from k8s_aws_sandbox.gomod import (
    consumer_gomod,
    staging_replacements,
    versioned_replaces,
    without_replaces,
)

KUBERNETES_VERSION = "v1.35.4"
ETCD_VERSION = "v3.6.16"
KWOK_VERSION = "v0.8.0"
CSI_SANITY_VERSION = "v5.4.0"
# The reference cloud controller manager, for side-by-side benchmarks only (not `make test`).
CLOUD_PROVIDER_AWS_VERSION = "v1.37.1"
# The CSI sidecars: the newest versions that all pin client-go v0.36.1 (and csi-lib-utils
# v0.24.0), so one `go build` compiles their shared dependencies once. The next versions
# (v6.4.0, v4.13.0, v2.3.0, v8.7.0) move to v0.37.x at different patch levels.
PROVISIONER_VERSION = "v6.3.0"
ATTACHER_VERSION = "v4.12.0"
RESIZER_VERSION = "v2.2.0"
SNAPSHOTTER_VERSION = "v8.6.0"
SNAPSHOT_CLIENT = "github.com/kubernetes-csi/external-snapshotter/client/v8"
# Not checked against the module proxy: it refused the module here (Nov 2026).


class BuildError(RuntimeError):
    """A Go build failed; the message carries the tail of the compiler output."""


@dataclass(frozen=True)
class GoBuild:
    """One consumer-module build producing one or more binaries."""

    name: str
    module: str
    version: str
    packages: tuple[str, ...]
    ldflags: str = ""
    replace_staging: bool = False
    binaries: tuple[str, ...] = field(default=())
    # Module-relative directories whose YAML files are copied next to the binaries.
    data_dirs: tuple[str, ...] = field(default=())
    # Build inside a writable copy of the module itself (its go.mod has `replace` directives
    # that a consumer module would ignore); packages are then relative (`./cmd/...`).
    main_module: bool = False
    # `replace` targets of the module's go.mod that the proxy refuses: dropped, so the
    # original module at the required version is used instead.
    drop_replaces: tuple[str, ...] = field(default=())
    # More modules required beside `module` (one build list for several tools).
    also_require: tuple[tuple[str, str], ...] = field(default=())
    # Copy the versioned `replace` lines of every required module's go.mod into the consumer
    # (a consumer module ignores its dependencies' replaces); `replaces` are added after them.
    inherit_replaces: bool = False
    replaces: tuple[str, ...] = field(default=())
    # The module holding `data_dirs`, when it is not `module`.
    data_module: tuple[str, str] | None = None
    go_version: str = "1.25"

    @property
    def requires(self) -> tuple[tuple[str, str], ...]:
        return ((self.module, self.version), *self.also_require)

    @property
    def cache_key(self) -> str:
        """The install directory's suffix: every pinned version that goes into the build."""
        return "-".join(version for _, version in self.requires)

    @property
    def outputs(self) -> tuple[str, ...]:
        return self.binaries or tuple(p.rstrip("/").rsplit("/", 1)[-1] for p in self.packages)


def _kubernetes_ldflags(version: str) -> str:
    major, minor = version.lstrip("v").split(".")[:2]
    pkg = "k8s.io/component-base/version"
    return " ".join(
        [
            f"-X {pkg}.gitVersion={version}",
            f"-X {pkg}.gitMajor={major}",
            f"-X {pkg}.gitMinor={minor}",
            f"-X {pkg}.gitTreeState=clean",
            f"-X {pkg}.buildDate=1970-01-01T00:00:00Z",
            "-s -w",
        ]
    )


KUBERNETES = GoBuild(
    name="kubernetes",
    module="k8s.io/kubernetes",
    version=KUBERNETES_VERSION,
    packages=(
        "k8s.io/kubernetes/cmd/kube-apiserver",
        "k8s.io/kubernetes/cmd/kube-controller-manager",
        "k8s.io/kubernetes/cmd/kube-scheduler",
        "k8s.io/kubernetes/cmd/kubectl",
    ),
    ldflags=_kubernetes_ldflags(KUBERNETES_VERSION),
    replace_staging=True,
)
ETCD = GoBuild(
    name="etcd",
    module="go.etcd.io/etcd/server/v3",
    version=ETCD_VERSION,
    packages=("go.etcd.io/etcd/server/v3",),
    binaries=("etcd",),
    ldflags="-s -w",
)
KWOK = GoBuild(
    name="kwok",
    module="sigs.k8s.io/kwok",
    version=KWOK_VERSION,
    packages=("sigs.k8s.io/kwok/cmd/kwok",),
    ldflags="-s -w",
    # kwok needs stage files to simulate pods; it ships them in its module.
    data_dirs=("kustomize/stage/pod/fast",),
)
CSI_SANITY = GoBuild(
    name="csi-sanity",
    module="github.com/kubernetes-csi/csi-test/v5",
    version=CSI_SANITY_VERSION,
    packages=("github.com/kubernetes-csi/csi-test/v5/cmd/csi-sanity",),
    ldflags="-s -w",
)

CSI_SIDECARS = GoBuild(
    name="csi-sidecars",
    module="github.com/kubernetes-csi/external-provisioner/v6",
    version=PROVISIONER_VERSION,
    also_require=(
        ("github.com/kubernetes-csi/external-attacher/v4", ATTACHER_VERSION),
        ("github.com/kubernetes-csi/external-resizer/v2", RESIZER_VERSION),
        ("github.com/kubernetes-csi/external-snapshotter/v8", SNAPSHOTTER_VERSION),
        (SNAPSHOT_CLIENT, SNAPSHOTTER_VERSION),
    ),
    packages=(
        "github.com/kubernetes-csi/external-provisioner/v6/cmd/csi-provisioner",
        "github.com/kubernetes-csi/external-attacher/v4/cmd/csi-attacher",
        "github.com/kubernetes-csi/external-resizer/v2/cmd/csi-resizer",
        "github.com/kubernetes-csi/external-snapshotter/v8/cmd/csi-snapshotter",
        "github.com/kubernetes-csi/external-snapshotter/v8/cmd/snapshot-controller",
    ),
    ldflags="-s -w",
    inherit_replaces=True,
    # external-snapshotter replaces its client module with `./client`, which its module zip
    # lacks: the published client module at the same version is that directory's content.
    replaces=(f"replace {SNAPSHOT_CLIENT} => {SNAPSHOT_CLIENT} {SNAPSHOTTER_VERSION}",),
    data_module=(SNAPSHOT_CLIENT, SNAPSHOTTER_VERSION),
    data_dirs=("config/crd",),
    go_version="1.26.0",
)

CLOUD_PROVIDER_AWS = GoBuild(
    name="cloud-provider-aws",
    module="k8s.io/cloud-provider-aws",
    version=CLOUD_PROVIDER_AWS_VERSION,
    packages=("./cmd/aws-cloud-controller-manager",),
    ldflags=_kubernetes_ldflags(CLOUD_PROVIDER_AWS_VERSION),
    main_module=True,
    # The proxy answers 403 for github.com/cel-expr/cel-go; github.com/google/cel-go at the
    # same version (v0.31.0) is served and is the same code.
    drop_replaces=("github.com/google/cel-go",),
)

SANDBOX_BUILDS: tuple[GoBuild, ...] = (ETCD, KWOK, KUBERNETES, CSI_SIDECARS)
# Built only on demand (`make bench-reference`), never by `make binaries` / `make test`.
ON_DEMAND_BUILDS: tuple[GoBuild, ...] = (CSI_SANITY, CLOUD_PROVIDER_AWS)


def cache_dir() -> Path:
    """Where builds live: $K8S_AWS_CACHE_DIR, else $XDG_CACHE_HOME/k8s-aws, else ~/.cache."""
    explicit = os.environ.get("K8S_AWS_CACHE_DIR")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "k8s-aws"


def install_dir(build: GoBuild) -> Path:
    return cache_dir() / "bin" / f"{build.name}-{build.cache_key}"


def is_built(build: GoBuild) -> bool:
    return all((install_dir(build) / b).is_file() for b in build.outputs)


def _go_env() -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        CGO_ENABLED="0",
        GOFLAGS="-mod=mod -buildvcs=false",
        # Never download another toolchain: the machine's Go is the one we have.
        GOTOOLCHAIN="local",
    )
    return env


def _module_info(module: str, version: str, workdir: Path) -> dict[str, str]:
    out = subprocess.run(
        ["go", "mod", "download", "-json", f"{module}@{version}"],
        cwd=workdir,
        env=_go_env(),
        capture_output=True,
        text=True,
        check=False,
    )
    if out.returncode != 0:
        raise BuildError(f"go mod download {module}@{version} failed: {out.stdout}{out.stderr}")
    info: dict[str, str] = json.loads(out.stdout)
    return info


def _prepare_main_module(build: GoBuild, workdir: Path) -> None:
    """Copy the downloaded module into `workdir` (writable) and mend its go.mod."""
    source = Path(_module_info(build.module, build.version, workdir.parent)["Dir"])
    shutil.rmtree(workdir, ignore_errors=True)
    shutil.copytree(source, workdir, ignore=shutil.ignore_patterns(".git"))
    for path in [workdir, *workdir.rglob("*")]:
        path.chmod(path.stat().st_mode | 0o200)
    gomod = workdir / "go.mod"
    gomod.write_text(without_replaces(gomod.read_text(), build.drop_replaces))


def _progress(label: str, lines_seen: int, started: float, final: bool = False) -> None:
    elapsed = int(time.monotonic() - started)
    text = f"[build] {label}: {lines_seen} packages compiled, {elapsed // 60}m{elapsed % 60:02d}s"
    if sys.stderr.isatty() and not final:
        sys.stderr.write("\r" + text)
    else:
        sys.stderr.write(text + "\n")
    sys.stderr.flush()


def _run_go_build(build: GoBuild, workdir: Path, outdir: Path) -> None:
    # One package with an explicit binary name (etcd's main package is ".../server/v3").
    output = str(outdir / build.binaries[0]) if len(build.binaries) == 1 else f"{outdir}/"
    cmd = ["go", "build", "-v", "-trimpath", "-o", output]
    if build.ldflags:
        cmd += ["-ldflags", build.ldflags]
    cmd += list(build.packages)
    label = f"{build.name} {build.version}"
    started = time.monotonic()
    tail: list[str] = []
    compiled = 0
    last_report = 0.0
    proc = subprocess.Popen(
        cmd, cwd=workdir, env=_go_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    assert proc.stdout is not None
    for line in proc.stdout:
        compiled += 1
        tail = [*tail[-39:], line.rstrip()]
        now = time.monotonic()
        if now - last_report >= (1 if sys.stderr.isatty() else 30):
            _progress(label, compiled, started)
            last_report = now
    if proc.wait() != 0:
        raise BuildError(f"building {label} failed:\n" + "\n".join(tail))
    _progress(label, compiled, started, final=True)


@contextmanager
def _build_lock(name: str) -> Iterator[None]:
    lock_path = cache_dir() / "locks" / f"{name}.lock"
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_path, "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _write_consumer_module(build: GoBuild, workdir: Path) -> None:
    replacements: list[str] = []
    if build.replace_staging:
        info = _module_info(build.module, build.version, workdir)
        replacements = staging_replacements(Path(info["GoMod"]).read_text(), build.version)
    if build.inherit_replaces:
        for module, version in build.requires:
            gomod = Path(_module_info(module, version, workdir)["GoMod"]).read_text()
            replacements += versioned_replaces(gomod)
        replacements = list(dict.fromkeys(replacements))
    replacements += build.replaces
    (workdir / "go.mod").write_text(consumer_gomod(build, replacements))


def ensure_built(build: GoBuild) -> Path:
    """Build `build` unless the cache has it; safe to call from concurrent processes."""
    target = install_dir(build)
    if is_built(build):
        return target
    if shutil.which("go") is None:
        raise BuildError("building the sandbox binaries needs the Go toolchain: no 'go' on PATH")
    with _build_lock(f"{build.name}-{build.cache_key}"):
        if is_built(build):
            return target
        workdir = cache_dir() / "build" / f"{build.name}-{build.cache_key}"
        shutil.rmtree(workdir, ignore_errors=True)
        workdir.mkdir(parents=True)
        if build.main_module:
            _prepare_main_module(build, workdir)
        else:
            _write_consumer_module(build, workdir)
        staging = target.with_name(target.name + ".partial")
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir(parents=True)
        _run_go_build(build, workdir, staging)
        if build.data_dirs:
            module, version = build.data_module or (build.module, build.version)
            source = Path(_module_info(module, version, workdir)["Dir"])
            for relative in build.data_dirs:
                for yaml_file in sorted((source / relative).glob("*.yaml")):
                    if yaml_file.name != "kustomization.yaml":
                        shutil.copyfile(yaml_file, staging / yaml_file.name)
        shutil.rmtree(target, ignore_errors=True)
        staging.rename(target)
        shutil.rmtree(workdir, ignore_errors=True)
    return target


def ensure_all(builds: tuple[GoBuild, ...] = SANDBOX_BUILDS) -> dict[str, Path]:
    return {b.name: ensure_built(b) for b in builds}


def main() -> None:
    """`python -m k8s_aws_sandbox.binaries [name...]`: build what is missing, print the paths."""
    wanted = set(sys.argv[1:])
    known = {b.name: b for b in (*SANDBOX_BUILDS, *ON_DEMAND_BUILDS)}
    unknown = wanted - known.keys()
    if unknown:
        sys.exit(f"unknown build(s) {sorted(unknown)}; known: {sorted(known)}")
    chosen = tuple(known[n] for n in sorted(wanted)) if wanted else SANDBOX_BUILDS
    try:
        for name, path in ensure_all(chosen).items():
            print(f"{name}: {path}")
    except BuildError as exc:
        sys.exit(str(exc))


if __name__ == "__main__":
    main()
