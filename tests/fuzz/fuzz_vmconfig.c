/* SPDX-License-Identifier: Apache-2.0 */
/* fuzz_vmconfig.c — libFuzzer target for the VM config document; an accepted
 * document must round-trip through vmconfig_to_json() unchanged. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct vm_config a, b;
	char err[512];
	vm_config_init(&a);
	if (vmconfig_parse((const char *)data, size, &a, err, sizeof(err)) != 0) {
		if (!memchr(err, '\0', sizeof(err)) || !err[0])
			abort();
		return 0;
	}
	char *json = vmconfig_to_json(&a);
	if (!json)
		abort();
	vm_config_init(&b);
	if (vmconfig_parse(json, strlen(json), &b, err, sizeof(err)) != 0)
		abort();
	if (memcmp(&a, &b, sizeof(a)) != 0)
		abort();
	free(json);
	return 0;
}
