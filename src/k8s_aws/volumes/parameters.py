"""StorageClass parameters of the EBS CSI driver, parsed once into frozen typed values.

Keys are matched case-insensitively, as the reference driver does; an unknown key or a bad
value is a ParameterError naming the key and what is allowed. Nothing below this module reads
the raw parameter map.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from k8s_aws.volumes.errors import ParameterError

VOLUME_TYPES = ("gp2", "gp3", "io1", "io2", "sc1", "st1", "standard")
FS_TYPES = ("ext4", "xfs", "ext3")
IOPS_TYPES = ("gp3", "io1", "io2")
DEFAULT_TYPE = "gp3"
DEFAULT_FS_TYPE = "ext4"

# Keys the external-provisioner adds (with --extra-create-metadata) and the fstype key.
PVC_NAME = "csi.storage.k8s.io/pvc/name"
PVC_NAMESPACE = "csi.storage.k8s.io/pvc/namespace"
PV_NAME = "csi.storage.k8s.io/pv/name"
FS_TYPE = "csi.storage.k8s.io/fstype"

_KNOWN = {
    k.lower(): k
    for k in (
        "type", "iops", "iopsPerGB", "allowAutoIOPSPerGBIncrease", "throughput", "encrypted",
        "kmsKeyId", FS_TYPE, "fsType", "blockSize", "inodeSize", "bytesPerInode",
        "numberOfInodes", PVC_NAME, PVC_NAMESPACE, PV_NAME,
    )
}
_TAG_KEY = re.compile(r"^tagspecification_\d+$")
_TEMPLATE = re.compile(r"\{\{\s*\.(\w+)\s*\}\}")
TEMPLATE_FIELDS = ("PVCName", "PVCNamespace", "PVName")


@dataclass(frozen=True)
class MkfsOptions:
    block_size: int | None = None
    inode_size: int | None = None
    bytes_per_inode: int | None = None
    number_of_inodes: int | None = None


@dataclass(frozen=True)
class VolumeParameters:
    volume_type: str = DEFAULT_TYPE
    iops: int | None = None
    iops_per_gb: int | None = None
    allow_auto_iops_per_gb_increase: bool = False
    throughput: int | None = None
    encrypted: bool = False
    kms_key_id: str = ""
    fs_type: str = DEFAULT_FS_TYPE
    mkfs: MkfsOptions = field(default_factory=MkfsOptions)
    # (key, value template) in the order of their tagSpecification_N index.
    tag_templates: tuple[tuple[str, str], ...] = ()
    pvc_name: str = ""
    pvc_namespace: str = ""
    pv_name: str = ""
    raw: dict[str, str] = field(default_factory=dict, compare=False, hash=False)


def _int(key: str, value: str, minimum: int = 1) -> int:
    try:
        number = int(value.strip())
    except ValueError:
        raise ParameterError(key, f"{value!r} is not an integer") from None
    if number < minimum:
        raise ParameterError(key, f"{number} is below the minimum {minimum}")
    return number


def _bool(key: str, value: str) -> bool:
    lowered = value.strip().lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    raise ParameterError(key, f"{value!r} is not one of true, false")


def _choice(key: str, value: str, allowed: tuple[str, ...]) -> str:
    lowered = value.strip().lower()
    if lowered not in allowed:
        raise ParameterError(key, f"{value!r} is not one of {', '.join(allowed)}")
    return lowered


def _tag(key: str, value: str) -> tuple[str, str]:
    tag_key, sep, tag_value = value.partition("=")
    if not sep or not tag_key.strip():
        raise ParameterError(key, f"{value!r} is not of the form key=value")
    for name in _TEMPLATE.findall(tag_value):
        if name not in TEMPLATE_FIELDS:
            raise ParameterError(
                key, f"unknown template field .{name}; allowed: "
                + ", ".join(f"{{{{ .{f} }}}}" for f in TEMPLATE_FIELDS)
            )
    return tag_key.strip(), tag_value


def _by_name(raw: Mapping[str, str]) -> tuple[dict[str, str], list[tuple[str, str]]]:
    """Known keys under their canonical spelling, and the tagSpecification_N tags in index
    order; an unknown key, or one spelling contradicting another, is refused by name."""
    values: dict[str, str] = {}
    tags: list[tuple[int, tuple[str, str]]] = []
    for key, value in raw.items():
        lowered = key.lower()
        if _TAG_KEY.match(lowered):
            tags.append((int(lowered.rsplit("_", 1)[1]), _tag(key, value)))
        elif lowered in _KNOWN:
            name = _KNOWN[lowered]
            if name in values and values[name] != value:  # e.g. `type` and `Type`
                raise ParameterError(key, f"given twice with different values ({name} is "
                                     "matched case-insensitively)")
            values[name] = value
        else:
            allowed = sorted({*_KNOWN.values(), "tagSpecification_N"} - {"fsType"})
            raise ParameterError(key, f"unknown parameter; allowed: {', '.join(allowed)}")
    if FS_TYPE in values and "fsType" in values and \
            values[FS_TYPE].strip().lower() != values["fsType"].strip().lower():
        raise ParameterError("fsType", f"{values['fsType']!r} contradicts {FS_TYPE} "
                             f"{values[FS_TYPE]!r}; set only {FS_TYPE}")
    return values, [tag for _, tag in sorted(tags)]


def parse_parameters(raw: Mapping[str, str]) -> VolumeParameters:
    """Every key validated; the first problem found raises ParameterError."""
    values, tags = _by_name(raw)
    volume_type = _choice("type", values.get("type", DEFAULT_TYPE), VOLUME_TYPES)
    iops = _int("iops", values["iops"]) if "iops" in values else None
    per_gb = _int("iopsPerGB", values["iopsPerGB"]) if "iopsPerGB" in values else None
    if iops is not None and per_gb is not None:
        raise ParameterError("iops", "set either iops or iopsPerGB, not both")
    if (iops is not None or per_gb is not None) and volume_type not in IOPS_TYPES:
        key = "iops" if iops is not None else "iopsPerGB"
        raise ParameterError(
            key, f"not supported for type {volume_type}; only for {', '.join(IOPS_TYPES)}"
        )
    throughput = _int("throughput", values["throughput"]) if "throughput" in values else None
    if throughput is not None and volume_type != "gp3":
        raise ParameterError("throughput", f"only for type gp3, not {volume_type}")
    kms_key_id = values.get("kmsKeyId", "").strip()
    encrypted = _bool("encrypted", values["encrypted"]) if "encrypted" in values else False
    if kms_key_id and "encrypted" in values and not encrypted:
        raise ParameterError("kmsKeyId", "a KMS key needs encrypted: \"true\"")
    fs_key = FS_TYPE if FS_TYPE in values else "fsType"
    fs_type = _choice(fs_key, values.get(fs_key, DEFAULT_FS_TYPE), FS_TYPES)
    mkfs = MkfsOptions(
        **{
            attr: _int(key, values[key])
            for attr, key in (("block_size", "blockSize"), ("inode_size", "inodeSize"),
                              ("bytes_per_inode", "bytesPerInode"),
                              ("number_of_inodes", "numberOfInodes"))
            if key in values
        }
    )
    if fs_type == "xfs" and (mkfs.bytes_per_inode or mkfs.number_of_inodes):
        key = "bytesPerInode" if mkfs.bytes_per_inode else "numberOfInodes"
        raise ParameterError(key, "not supported for fstype xfs (ext3/ext4 only)")
    return VolumeParameters(
        volume_type=volume_type,
        iops=iops,
        iops_per_gb=per_gb,
        allow_auto_iops_per_gb_increase=(
            _bool("allowAutoIOPSPerGBIncrease", values["allowAutoIOPSPerGBIncrease"])
            if "allowAutoIOPSPerGBIncrease" in values else False
        ),
        throughput=throughput,
        encrypted=encrypted or bool(kms_key_id),
        kms_key_id=kms_key_id,
        fs_type=fs_type,
        mkfs=mkfs,
        tag_templates=tuple(tags),
        pvc_name=values.get(PVC_NAME, ""),
        pvc_namespace=values.get(PVC_NAMESPACE, ""),
        pv_name=values.get(PV_NAME, ""),
        raw=dict(raw),
    )


def render_template(template: str, fields: Mapping[str, str]) -> str:
    """`{{ .PVCName }}` and friends replaced; validated names only (see _tag)."""
    return _TEMPLATE.sub(lambda m: fields.get(m.group(1), ""), template)
