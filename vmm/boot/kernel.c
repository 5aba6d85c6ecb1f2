/* SPDX-License-Identifier: Apache-2.0 */
/* boot_kernel.c — pick the loader from the image's magic (ELF or bzImage). */
#include <elf.h>
#include <errno.h>
#include <string.h>

#include "boot.h"
#include "boot_structs.h"

int kernel_load(const struct guest_mem *mem, const uint8_t *image, size_t len,
		struct kernel_info *ki, char *err, size_t errlen)
{
	if (len >= SELFMAG && memcmp(image, ELFMAG, SELFMAG) == 0)
		return elf_load(mem, image, len, ki, err, errlen);
	if (len >= BZ_OFF_HEADER + 4 && memcmp(image + BZ_OFF_HEADER, "HdrS", 4) == 0)
		return bzimage_load(mem, image, len, ki, err, errlen);
	BOOT_ERR(err, errlen, "kernel image: neither an ELF vmlinux nor a bzImage "
		 "(no ELF magic, no \"HdrS\" at 0x202; %zu bytes)", len);
	return -EINVAL;
}
