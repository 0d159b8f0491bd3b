#!/bin/bash
# The image's base layer: a minimal Debian bookworm root file system made by mmdebstrap from
# Debian's packages (no base image is pulled), written as one uncompressed layer tarball.
#
#   base.sh OUT.tar DEB_CACHE_DIR
#
# build.sh keys its cache on this file's hash: edit it and the next build makes a new base.
# Debian's downloads are kept in DEB_CACHE_DIR, so a rebuild fetches only the package lists.
set -euo pipefail

out=$1
deb_cache=$2
suite=bookworm
mirror=http://deb.debian.org/debian
security=http://deb.debian.org/debian-security
# What the product runs besides Python: mount/umount and losetup (util-linux, mount), blkid,
# mkfs.ext4 / resize2fs (e2fsprogs), mkfs.xfs / xfs_growfs (xfsprogs), CA certificates for
# AWS endpoints. python3 is 3.11 in bookworm, the version the product is tested with.
packages=python3,mount,util-linux,e2fsprogs,xfsprogs,ca-certificates
# The unprivileged default user (distroless's numeric id). The CSI node service runs as root
# through its DaemonSet's securityContext.
uid=65532

work=$(mktemp -d "${out}.work.XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir -p "$deb_cache"

# Docs, man pages and locales are never unpacked; the copyright files stay, as Debian's
# licenses ask of a redistributed binary. ICU (36 MB, xfsprogs depends on it) serves only
# xfs_scrub, which the product never runs: both are left out (mkfs.xfs, xfs_growfs, xfs_db
# and xfs_io do not link it). The merged-usr hook installs usr-is-merged instead of usrmerge,
# which would pull in the whole of perl.
mmdebstrap --variant=essential --include="$packages" --format=directory \
    --hook-dir=/usr/share/mmdebstrap/hooks/merged-usr \
    --skip=essential/unlink \
    --dpkgopt='path-exclude=/usr/lib/x86_64-linux-gnu/libicu*' \
    --dpkgopt='path-exclude=/sbin/xfs_scrub*' \
    --dpkgopt='path-exclude=/usr/sbin/xfs_scrub*' \
    --dpkgopt='path-exclude=/usr/share/doc/*' \
    --dpkgopt='path-include=/usr/share/doc/*/copyright' \
    --dpkgopt='path-exclude=/usr/share/man/*' \
    --dpkgopt='path-exclude=/usr/share/info/*' \
    --dpkgopt='path-exclude=/usr/share/locale/*' \
    --dpkgopt='path-exclude=/usr/share/lintian/*' \
    --setup-hook='mkdir -p "$1/var/cache/apt/archives"' \
    --setup-hook="sync-in $deb_cache /var/cache/apt/archives/" \
    --customize-hook="sync-out /var/cache/apt/archives $deb_cache" \
    --customize-hook="echo 'nonroot:x:$uid:$uid:nonroot:/home/nonroot:/usr/sbin/nologin' >> \"\$1/etc/passwd\"" \
    --customize-hook="echo 'nonroot:x:$uid:' >> \"\$1/etc/group\"" \
    --customize-hook="install -d -m 0700 -o $uid -g $uid \"\$1/home/nonroot\"" \
    "$suite" "$work/rootfs" \
    "deb $mirror $suite main" "deb $mirror $suite-updates main" \
    "deb $security $suite-security main"

root=$work/rootfs
# Left by the install and useless at run time: logs, dpkg's and debconf's backups, the
# ldconfig cache of the build, the sources list of a system with no apt.
rm -rf "$root"/var/log/* "$root"/var/cache/debconf/*-old "$root"/var/lib/dpkg/*-old \
    "$root"/var/cache/ldconfig/aux-cache "$root"/var/lib/apt "$root"/var/cache/apt \
    "$root"/etc/apt "$root"/dev/* "$root"/usr/share/info/dir
# Of the docs, only /usr/share/doc/PACKAGE/copyright: dpkg's filter keeps the symlinks and
# the directories the excluded files would have filled.
find "$root/usr/share/doc" -mindepth 2 \( -path "$root/usr/share/doc/*/*/*" -o ! -name copyright \) \
    -delete
find "$root"/usr/share/{man,info,locale} -mindepth 1 -type d -empty -delete
: > "$root/etc/resolv.conf"
: > "$root/etc/hostname"

# One layer: sorted, numeric owners. Modification times stay: Python checks its .pyc files
# against them, and a mismatch would recompile (unwritably, as the default user) at every start.
tar --create --file="$out.partial" --directory="$root" --sort=name --numeric-owner \
    --pax-option=exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime .
mv "$out.partial" "$out"
