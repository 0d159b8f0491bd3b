"""Generate trimmed botocore service models (`make botocore-models`, part of `make deps`; the
output is gitignored and shipped in the product's wheel).

botocore parses a service's whole model when its first client is made: EC2's 830 operations
and 4,400 shapes cost a controller about 16 MB of RSS, for the 22 operations it calls. This
keeps, per service k8s-aws calls, the operations declared in `k8s_aws.cloud.operations` (a
test holds that list to every boto3 call site) and the shapes they reach, without
documentation; `k8s_aws.cloud.botocore_models` puts the result first on botocore's data
path. A stamp records the botocore version the models come from: a model from another botocore
is not used.
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path
from typing import Any

import botocore
import botocore.loaders

from k8s_aws.cloud.botocore_models import PACKAGE_PATH, STAMP_NAME
from k8s_aws.cloud.operations import declared

Model = dict[str, Any]


def _reachable(shapes: Model, roots: list[str]) -> set[str]:
    """Every shape name reachable from `roots` through members, list members and map parts."""
    seen: set[str] = set()
    stack = list(roots)
    while stack:
        name = stack.pop()
        if name in seen:
            continue
        seen.add(name)
        shape = shapes[name]
        stack.extend(shape[part]["shape"] for part in ("member", "key", "value") if part in shape)
        stack.extend(member["shape"] for member in shape.get("members", {}).values())
    return seen


def undocumented(value: Any) -> Any:
    """`value` without its `documentation` keys, at every depth."""
    if isinstance(value, dict):
        return {k: undocumented(v) for k, v in value.items() if k != "documentation"}
    if isinstance(value, list):
        return [undocumented(v) for v in value]
    return value


def trim(model: Model, operations: set[str]) -> Model:
    """The model with only `operations` (every one must exist) and the shapes they reach."""
    missing = operations - set(model["operations"])
    if missing:
        raise ValueError(f"not in the model: {', '.join(sorted(missing))}")
    kept = {name: model["operations"][name] for name in sorted(operations)}
    roots = [
        ref["shape"]
        for operation in kept.values()
        for ref in (operation.get("input"), operation.get("output"), *operation.get("errors", []))
        if ref
    ]
    shapes = model["shapes"]
    trimmed = {**model, "operations": kept,
               "shapes": {name: shapes[name] for name in sorted(_reachable(shapes, roots))}}
    return dict(undocumented(trimmed))


def generate(source_root: Path) -> Path:
    """Write `<service>/<api version>/service-2.json` under the package's models directory."""
    target = source_root / PACKAGE_PATH
    stamp = target / STAMP_NAME
    wanted = sorted(declared())
    # The botocore version first (what the runtime checks), then the operations kept: a
    # newly declared operation makes the next build regenerate.
    stamp_text = botocore.__version__ + "\n" + " ".join(f"{s}:{o}" for s, o in wanted) + "\n"
    if stamp.is_file() and stamp.read_text() == stamp_text:
        return target
    loader = botocore.loaders.Loader()
    by_service: dict[str, set[str]] = {}
    for service, operation in wanted:
        by_service.setdefault(service, set()).add(operation)
    shutil.rmtree(target, ignore_errors=True)
    for service, operations in sorted(by_service.items()):
        version = loader.determine_latest_version(service, "service-2")
        model = loader.load_service_model(service, "service-2", version)
        out = target / service / version / "service-2.json"
        out.parent.mkdir(parents=True)
        out.write_text(json.dumps(trim(model, operations), separators=(",", ":")))
    stamp.write_text(stamp_text)
    return target


def main() -> None:
    root = Path(sys.argv[1]) if len(sys.argv) > 1 else Path("src")
    try:
        print(f"botocore models: {generate(root)}")
    except ValueError as exc:
        sys.exit(f"botocore models: {exc}")


if __name__ == "__main__":
    main()
