#!/bin/bash
# Build the k8s-aws OCI image archive without Docker and without pulling a base image:
# a Debian bookworm base made from Debian's packages (base.sh), the product wheel and its
# pinned dependencies in a venv at /opt/k8s-aws, assembled by umoci and written by skopeo.
#
#   build.sh dist/k8s_aws-VERSION-py3-none-any.whl [OUT_DIR]   -> OUT_DIR/k8s-aws-VERSION.oci.tar
#
# Every stage is cached under ${K8S_AWS_CACHE_DIR:-~/.cache/k8s-aws}/image, keyed on its
# inputs: the base on base.sh, the venv layer on the base, the wheel's contents,
# requirements.lock and this file. A rerun with nothing changed only compares keys.
# K8S_AWS_IMAGE_REFRESH=1 rebuilds the base (to pick up Debian's security updates).
set -euo pipefail

# The pip that installs the wheels inside the image's own Python (run from its wheel, so no
# pip is left in the image).
PIP_VERSION=24.3.1
UID_GID=65532:65532
PREFIX=/opt/k8s-aws
ENTRYPOINT=$PREFIX/bin/k8s-aws
SOURCE_URL=https://github.com/k8s-aws/k8s-aws

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
wheel=$(realpath "$1")
out_dir=$(realpath -m "${2:-$repo/dist}")
python=${PYTHON:-$repo/.venv/bin/python}
lock=$repo/requirements.lock
cache=${K8S_AWS_CACHE_DIR:-$HOME/.cache/k8s-aws}/image

say() { echo "[image] $*" >&2; }
die() { say "$*"; exit 1; }
sha() { sha256sum "$@" | cut -c1-16; }
mib() { echo "$(( ($1 + 524288) / 1048576 )) MiB"; }

name=$(basename "$wheel")
[[ $name =~ ^k8s_aws-([^-]+)-py3-none-any\.whl$ ]] \
    || die "not the product wheel (k8s_aws-VERSION-py3-none-any.whl): $name"
version=${BASH_REMATCH[1]}
revision=$(git -C "$repo" rev-parse HEAD)
created=$(git -C "$repo" log -1 --format=%cI HEAD)
archive=$out_dir/k8s-aws-$version.oci.tar
mkdir -p "$cache" "$out_dir"
# One build at a time per cache: worktrees share it.
exec 9> "$cache/.lock"
flock 9

# The wheel's contents, not its bytes: a rebuilt wheel of the same sources has new zip dates.
wheel_key=$("$python" - "$wheel" <<'EOF'
import hashlib, sys, zipfile
digest = hashlib.sha256()
with zipfile.ZipFile(sys.argv[1]) as wheel:
    for info in sorted(wheel.infolist(), key=lambda i: i.filename):
        digest.update(info.filename.encode() + b"\0" + wheel.read(info) + b"\0")
print(digest.hexdigest()[:16])
EOF
)
base_key=$(sha "$here/base.sh")
app_key=$(cat <(echo "$base_key $wheel_key $PIP_VERSION") "$lock" "$0" | sha)
final_key=$(echo "$app_key $version $revision $created" | sha)
stamp=$cache/built-$(echo "$archive" | sha)
if [[ -f $archive && -f $stamp && $(cat "$stamp") == "$final_key $(stat -c %s.%Y "$archive")" ]]
then
    say "$archive is up to date"
    exit 0
fi

work=$(mktemp -d "$cache/work.XXXXXX")
trap 'rm -rf "$work"' EXIT

# 1. The base layer and an OCI layout holding it (compressed once).
base_tar=$cache/base-$base_key.tar
base_oci=$cache/oci-base-$base_key
if [[ ${K8S_AWS_IMAGE_REFRESH:-} == 1 ]]; then rm -rf "$base_tar" "$base_oci"; fi
if [[ ! -f $base_tar ]]; then
    say "building the Debian bookworm base (mmdebstrap)"
    "$here/base.sh" "$base_tar" "$cache/debs"
fi
if [[ ! -d $base_oci ]]; then
    say "compressing the base layer"
    umoci init --layout "$work/oci-base"
    umoci new --image "$work/oci-base:base"
    umoci raw add-layer --image "$work/oci-base:base" \
        --history.created_by "packaging/image/base.sh (mmdebstrap bookworm)" "$base_tar"
    mv "$work/oci-base" "$base_oci"
fi

# 2. The venv layer: the product wheel and its pinned dependencies, installed by the image's
# own Python (the wheels are the ones that Python accepts, nothing is compiled).
app_tar=$cache/app-$app_key.tar
if [[ ! -f $app_tar ]]; then
    wheels=$cache/wheels
    mkdir -p "$wheels"
    download=(download --quiet --disable-pip-version-check --only-binary=:all: --dest "$wheels"
              -c "$lock" "$wheel" "pip==$PIP_VERSION")
    if ! "$python" -m pip "${download[@]}" --no-index --find-links "$wheels" 2>/dev/null; then
        say "downloading the pinned dependencies"
        "$python" -m pip "${download[@]}"
    fi
    rm -f "$wheels/$name"  # pip download copies a local wheel: never let a stale one linger

    say "installing $name into $PREFIX"
    root=$work/rootfs
    mkdir -p "$root"
    tar -xf "$base_tar" -C "$root"
    mkdir -p "$root/tmp/build"
    cp -l "$wheels"/*.whl "$root/tmp/build/" 2>/dev/null || cp "$wheels"/*.whl "$root/tmp/build/"
    cp "$wheel" "$lock" "$root/tmp/build/"
    in_root() { chroot "$root" /usr/bin/env -i PATH=/usr/bin:/bin HOME=/root LANG=C.UTF-8 "$@"; }
    in_root /usr/bin/python3 -m venv --without-pip "$PREFIX"
    in_root "$PREFIX/bin/python" "/tmp/build/pip-$PIP_VERSION-py3-none-any.whl/pip" install \
        --quiet --no-index --find-links /tmp/build --no-cache-dir --disable-pip-version-check \
        --only-binary=:all: -c /tmp/build/requirements.lock "/tmp/build/$name"
    mkdir -p "$root/usr/local/bin"
    ln -sfn "$ENTRYPOINT" "$root/usr/local/bin/k8s-aws"
    got=$(in_root "$ENTRYPOINT" --version)
    [[ $got == *"$version"* ]] || die "k8s-aws --version in the image printed: $got"
    tar --create --file="$app_tar.partial" --directory="$root" --sort=name \
        --owner=0 --group=0 --numeric-owner \
        --pax-option=exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime \
        "${PREFIX#/}" usr/local/bin/k8s-aws
    mv "$app_tar.partial" "$app_tar"
fi

# 3. The image: base + venv layers, the config, written as one OCI archive.
say "assembling k8s-aws:$version"
layout=$work/oci
cp -a "$base_oci" "$layout"
umoci raw add-layer --image "$layout:base" --tag build \
    --history.created_by "pip install $name -c requirements.lock into $PREFIX" "$app_tar"
labels=(
    "org.opencontainers.image.title=k8s-aws"
    "org.opencontainers.image.description=AWS integration for self-managed Kubernetes: cloud controller manager, EBS CSI driver, operator tools"
    "org.opencontainers.image.version=$version"
    "org.opencontainers.image.revision=$revision"
    "org.opencontainers.image.created=$created"
    "org.opencontainers.image.licenses=Apache-2.0"
    "org.opencontainers.image.source=$SOURCE_URL"
)
config=(--image "$layout:build" --tag "$version" --created "$created"
        --config.user "$UID_GID" --config.entrypoint "$ENTRYPOINT" --config.workingdir /
        --config.env "PATH=$PREFIX/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
        --config.env LANG=C.UTF-8 --config.env PYTHONUNBUFFERED=1
        --config.env PYTHONDONTWRITEBYTECODE=1
        --history.created_by "umoci config (entrypoint, user, labels)")
for label in "${labels[@]}"; do
    config+=(--config.label "$label" --manifest.annotation "$label")
done
umoci config "${config[@]}"
umoci gc --layout "$layout"
rm -f "$archive"
skopeo copy --quiet "oci:$layout:$version" "oci-archive:$archive.partial:k8s-aws:$version"
mv "$archive.partial" "$archive"
echo "$final_key $(stat -c %s.%Y "$archive")" > "$stamp"
# Only the current stages stay cached (each is a few hundred MB).
find "$cache" -maxdepth 1 \( -name 'base-*.tar' ! -name "base-$base_key.tar" \
    -o -name 'oci-base-*' ! -name "oci-base-$base_key" \
    -o -name 'app-*.tar' ! -name "app-$app_key.tar" \) -exec rm -rf {} +

base_size=$(stat -c %s "$base_tar")
app_size=$(stat -c %s "$app_tar")
say "wrote $archive ($(mib "$(stat -c %s "$archive")"); root file system $(mib $((base_size + app_size))):" \
    "Debian base $(mib "$base_size"), $PREFIX $(mib "$app_size"))"
