/* SPDX-License-Identifier: Apache-2.0 */
/*
 * scen_flood.c — `flood`: a guest that makes the VMM log as fast as it can
 * (the security review's case: 100,000 invalid virtio Status writes gave
 * 100,000 host log lines). On device 0 (any virtio device): ACKNOWLEDGE |
 * DRIVER, then wtest.n (default 100000) Status writes that would clear
 * DRIVER (each one a "would clear bits ... ignored" warning in wisp), then
 * the same number of QueueReady writes before FEATURES_OK (another warning
 * site). The device must still work afterwards: reset, full set-up, and
 * its Status reads back DRIVER_OK. Prints `flood: <n> writes in <ms> ms`;
 * the host test counts the log lines.
 */
#include "vio.h"

#define ST_ACK       1
#define ST_DRIVER    2
#define ST_DRIVER_OK 4

static struct vdev dev;

NORETURN void scen_flood(void)
{
	uint64_t n = param_u64("wtest.n", 100000), t0, t1;

	if (vio_probe(&dev, 0) < 0 || dev.device_id == 0)
		wtest_fail("no virtio device 0: %s", dev.err);
	vio_reset(&dev);
	vio_write(&dev, VIO_STATUS, ST_ACK);
	vio_write(&dev, VIO_STATUS, ST_ACK | ST_DRIVER);
	t0 = now_us();
	for (uint64_t i = 0; i < n; i++)
		vio_write(&dev, VIO_STATUS, ST_ACK);        /* clears DRIVER: refused */
	for (uint64_t i = 0; i < n; i++)
		vio_write(&dev, VIO_QUEUE_READY, 1);        /* before FEATURES_OK: refused */
	t1 = now_us();
	printk("flood: %llu writes in %llu ms\n", (unsigned long long)(2 * n),
	       (unsigned long long)((t1 - t0) / 1000));
	/* The device is still usable. */
	if (vio_setup(&dev, 0, 1, 8) < 0)
		wtest_fail("device 0 unusable after the flood: %s", dev.err);
	if (!(vio_status(&dev) & ST_DRIVER_OK))
		wtest_fail("device 0 status 0x%x after set-up", vio_status(&dev));
	wtest_pass();
}
