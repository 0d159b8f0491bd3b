"""Time a cold build of every Go binary `make binaries` builds: empty Go module and build
caches, empty k8s-aws cache, as on a fresh CI machine. Prints one JSON line; record it in
docs/benchmarks.md.

    .venv/bin/python bench/cold_build.py [--keep]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def dir_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--keep", action="store_true", help="keep the scratch caches")
    args = parser.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="k8s-aws-cold-build-"))
    env = dict(os.environ)
    env.update(
        GOMODCACHE=str(scratch / "gomod"),
        GOCACHE=str(scratch / "gobuild"),
        K8S_AWS_CACHE_DIR=str(scratch / "k8s-aws"),
    )
    steps = {}
    # What `make binaries` builds: the sandbox's binaries, then csi-sanity.
    for step, extra in (("sandbox", []), ("csi_sanity", ["csi-sanity"])):
        started = time.monotonic()
        subprocess.run(
            [sys.executable, "-m", "k8s_aws_sandbox.binaries", *extra], env=env, check=True
        )
        steps[step] = round(time.monotonic() - started, 1)
    result = {
        "cold_build_seconds": round(sum(steps.values()), 1),
        "seconds_by_step": steps,
        "cores": os.cpu_count(),
        "go_modules_mb": round(dir_size(scratch / "gomod") / 2**20),
        "go_build_cache_mb": round(dir_size(scratch / "gobuild") / 2**20),
        "binaries_mb": round(dir_size(scratch / "k8s-aws" / "bin") / 2**20),
    }
    print(json.dumps(result))
    if not args.keep:
        subprocess.run(["chmod", "-R", "u+w", str(scratch)], check=False)
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
