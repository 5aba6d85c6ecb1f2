/* SPDX-License-Identifier: Apache-2.0 */
/*
 * boot_cmdline.c — build the kernel command line: space-separated words,
 * virtio-mmio device announcements and the root device, as Firecracker does.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "boot.h"

void cmdline_init(struct cmdline *c)
{
	c->buf[0] = '\0';
	c->len = 0;
}

int cmdline_append(struct cmdline *c, const char *word)
{
	size_t wlen = strlen(word);
	size_t sep = c->len ? 1 : 0;

	if (wlen == 0)
		return 0;
	/* room for separator, word and the terminating NUL (no wrap-around:
	 * c->len <= sizeof(c->buf) - 1 always holds) */
	if (wlen >= sizeof(c->buf) || c->len + sep + wlen > sizeof(c->buf) - 1) {
		log_error("kernel command line: appending \"%.40s\" would exceed %zu bytes",
			  word, sizeof(c->buf) - 1);
		return -E2BIG;
	}
	if (sep)
		c->buf[c->len++] = ' ';
	memcpy(c->buf + c->len, word, wlen);
	c->len += wlen;
	c->buf[c->len] = '\0';
	return 0;
}

/* Sizes as Linux's memparse reads them: 4K, 1M, or plain bytes. */
static void format_size(char *out, size_t outlen, uint64_t size)
{
	if (size != 0 && size % (1ULL << 30) == 0)
		snprintf(out, outlen, "%" PRIu64 "G", size >> 30);
	else if (size != 0 && size % (1ULL << 20) == 0)
		snprintf(out, outlen, "%" PRIu64 "M", size >> 20);
	else if (size != 0 && size % (1ULL << 10) == 0)
		snprintf(out, outlen, "%" PRIu64 "K", size >> 10);
	else
		snprintf(out, outlen, "%" PRIu64, size);
}

int cmdline_add_virtio_mmio(struct cmdline *c, uint64_t addr, uint64_t size, unsigned irq)
{
	char sz[32], word[96];

	if (size == 0) {
		log_error("virtio-mmio device at 0x%" PRIx64 ": size is 0", addr);
		return -EINVAL;
	}
	format_size(sz, sizeof(sz), size);
	snprintf(word, sizeof(word), "virtio_mmio.device=%s@0x%" PRIx64 ":%u", sz, addr, irq);
	return cmdline_append(c, word);
}

/* Linux virtio_blk names: vda..vdz, vdaa..vdzz, ... */
static void vd_name(char *out, size_t outlen, unsigned index)
{
	char rev[8];
	unsigned n = 0;
	unsigned long v = (unsigned long)index + 1;

	while (v && n < sizeof(rev)) {
		v--;
		rev[n++] = (char)('a' + v % 26);
		v /= 26;
	}
	snprintf(out, outlen, "/dev/vd");
	for (size_t o = strlen(out); n && o + 1 < outlen; o++) {
		out[o] = rev[--n];
		out[o + 1] = '\0';
	}
}

int cmdline_add_root(struct cmdline *c, unsigned index, const char *partuuid, bool read_only)
{
	char word[VM_ID_MAX + 32];
	size_t saved_len;
	int ret;

	if (partuuid && partuuid[0]) {
		if (strlen(partuuid) > VM_ID_MAX || strpbrk(partuuid, " \t\r\n")) {
			log_error("drive partuuid \"%.70s\": too long or contains whitespace", partuuid);
			return -EINVAL;
		}
		snprintf(word, sizeof(word), "root=PARTUUID=%s", partuuid);
	} else {
		char dev[24];

		vd_name(dev, sizeof(dev), index);
		snprintf(word, sizeof(word), "root=%s", dev);
	}
	/* All or nothing: undo the first word if the second does not fit. */
	saved_len = c->len;
	ret = cmdline_append(c, word);
	if (!ret)
		ret = cmdline_append(c, read_only ? "ro" : "rw");
	if (ret) {
		c->len = saved_len;
		c->buf[saved_len] = '\0';
	}
	return ret;
}
