"""Generate the attachment-limit table the node service ships (`make attach-limits`, part of
`make deps`; the output is gitignored, like the CSI stubs).

Source: the DescribeInstanceTypes data that moto maintains and ships
(`moto/ec2/resources/instance_types.json.gz`, refreshed from AWS by moto's release scripts):
`EbsInfo.MaximumEbsAttachments` and `EbsInfo.AttachmentLimitType` (shared with network
interfaces, or dedicated) per instance type. The node service cannot ask EC2 (worker VMs hold
no EC2 credentials), so the table is built at build/release time from that pinned release.
"""

from __future__ import annotations

import gzip
import json
import sys
from importlib.metadata import version
from importlib.resources import files
from pathlib import Path

TARGET = Path("k8s_aws/volumes/attach_limits.json")


def table() -> dict[str, object]:
    data = json.loads(gzip.decompress(
        files("moto.ec2").joinpath("resources/instance_types.json.gz").read_bytes()))
    types: dict[str, list[object]] = {}
    for name, info in sorted(data.items()):
        ebs = info.get("EbsInfo", {})
        maximum = ebs.get("MaximumEbsAttachments")
        if isinstance(maximum, int) and maximum > 0:
            kind = "dedicated" if ebs.get("AttachmentLimitType") == "dedicated" else "shared"
            types[name] = [maximum, kind]
    return {"source": f"moto {version('moto')} ec2/resources/instance_types.json.gz",
            "types": types}


def generate(source_root: Path) -> Path:
    target = source_root / TARGET
    text = json.dumps(table(), separators=(",", ":"), sort_keys=True) + "\n"
    if not target.is_file() or target.read_text() != text:
        target.write_text(text)
    return target


def main() -> None:
    root = Path(sys.argv[1]) if len(sys.argv) > 1 else Path("src")
    print(f"attach limits: {generate(root)}")


if __name__ == "__main__":
    main()
