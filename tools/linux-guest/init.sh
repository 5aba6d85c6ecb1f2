#!/bin/sh
# wisp Linux guest init: /init in initramfs.cpio.gz and /sbin/init in rootfs.ext4.
# Mounts the pseudo filesystems, prints the marker the tests look for, writes
# the boot-complete value 123 to the first MMIO page (the VMM's boot timer),
# then resets (with reboot=k the kernel resets through the i8042, which the
# VMM turns into a clean exit).
export PATH=/sbin:/bin:/usr/sbin:/usr/bin

mount -t proc proc /proc
mount -t sysfs sysfs /sys
# In the ext4 rootfs CONFIG_DEVTMPFS_MOUNT has already mounted /dev.
grep -q '^devtmpfs /dev ' /proc/mounts || mount -t devtmpfs devtmpfs /dev

echo WISP-LINUX-INIT-OK

busybox devmem 0xc0000000 8 123 || echo "WISP-LINUX-INIT: devmem write failed"

reboot -f
# reboot -f only returns on failure; PID 1 must not exit.
echo "WISP-LINUX-INIT: reboot failed"
while :; do sleep 3600; done
