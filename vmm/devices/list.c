/* SPDX-License-Identifier: Apache-2.0 */
/* device.c — the VM's device list (pure): add, find, destroy in reverse. */
#include <errno.h>
#include <string.h>

#include "vmm.h"

int device_list_add(struct device_list *l, const struct device *d)
{
	if (l->nr >= DEVICE_MAX)
		return -ENOSPC;
	l->devs[l->nr++] = *d;
	return 0;
}

struct device *device_list_find(struct device_list *l, const char *kind, const char *id)
{
	for (unsigned i = 0; i < l->nr; i++) {
		struct device *d = &l->devs[i];

		if (strcmp(d->ops->kind, kind) == 0 && (!id || strcmp(d->id, id) == 0))
			return d;
	}
	return NULL;
}

void device_list_destroy(struct device_list *l)
{
	while (l->nr) {
		struct device *d = &l->devs[--l->nr];

		if (d->ops->destroy)
			d->ops->destroy(d->dev);
		memset(d, 0, sizeof(*d));
	}
}
