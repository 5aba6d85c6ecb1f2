/* SPDX-License-Identifier: Apache-2.0 */
/* config.c — defaults of the VM configuration (pure). */
#include <string.h>

#include "vmm.h"

void vm_config_init(struct vm_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->machine.vcpu_count = 1;
	cfg->machine.mem_size_mib = 128;
	cfg->logger.level = LOG_INFO;
}
