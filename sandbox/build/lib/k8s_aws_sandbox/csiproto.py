"""Generate the CSI gRPC stubs from csi.proto of the Go module that defines the spec.

No PyPI package ships them, so `make csi-stubs` runs this at build time: `go mod download`
gives the pinned module's directory, grpcio-tools compiles its csi.proto into the gitignored
package `k8s_aws.volumes.csi.proto`. The proto is compiled under that package's path, so the
generated modules import each other absolutely. A second run with the same version is instant.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

from k8s_aws_sandbox.binaries import BuildError, _module_info

CSI_SPEC_MODULE = "github.com/container-storage-interface/spec"
CSI_SPEC_VERSION = "v1.12.0"
PACKAGE_PATH = Path("k8s_aws/volumes/csi/proto")
STAMP = ".csi-spec-version"


def generate(source_root: Path, version: str = CSI_SPEC_VERSION) -> Path:
    """Compile csi.proto into `source_root/k8s_aws/volumes/csi/proto/`; returns that dir."""
    from grpc_tools import protoc  # noqa: PLC0415 (build-time only: a dev dependency)

    target = source_root / PACKAGE_PATH
    stamp = target / STAMP
    if stamp.is_file() and stamp.read_text().strip() == version:
        return target
    with tempfile.TemporaryDirectory() as scratch:
        info = _module_info(CSI_SPEC_MODULE, version, Path(scratch))
        include = Path(scratch) / "include"
        (include / PACKAGE_PATH).mkdir(parents=True)
        shutil.copyfile(Path(info["Dir"]) / "csi.proto", include / PACKAGE_PATH / "csi.proto")
        out = Path(scratch) / "out"
        out.mkdir()
        well_known = Path(protoc.__file__).parent / "_proto"
        status = protoc.main([
            "grpc_tools.protoc", f"-I{include}", f"-I{well_known}",
            f"--python_out={out}", f"--pyi_out={out}", f"--grpc_python_out={out}",
            str(PACKAGE_PATH / "csi.proto"),
        ])
        if status != 0:
            raise BuildError(f"protoc failed on csi.proto {version} (exit {status})")
        shutil.rmtree(target, ignore_errors=True)
        shutil.copytree(out / PACKAGE_PATH, target)
    (target / "__init__.py").write_text('"""Generated from csi.proto; never committed."""\n')
    stamp.write_text(version + "\n")
    return target


def main() -> None:
    root = Path(sys.argv[1]) if len(sys.argv) > 1 else Path("src")
    try:
        print(f"csi stubs: {generate(root)}")
    except BuildError as exc:
        sys.exit(str(exc))


if __name__ == "__main__":
    main()
