"""The node's operating system boundary: block devices, filesystems and mounts (the only
package that runs mount, mkfs, blkid, losetup and friends)."""
