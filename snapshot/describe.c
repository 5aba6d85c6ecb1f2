/* SPDX-License-Identifier: Apache-2.0 */
/*
 * describe.c — a parsed snapshot state file described for a person.
 *
 * Works on any file snap_parse() accepted, including one whose machine or
 * device sections do not check out (it says what is wrong and goes on).
 * Strings from the file are printed with anything that is not printable
 * ASCII escaped, so a crafted file cannot send control sequences to a
 * terminal.
 */
#include <inttypes.h>
#include <string.h>
#include <time.h>

#include "snapshot.h"

/* A NUL-terminated (or n-byte) string from the file, escaped, in quotes. */
static void put_str(FILE *out, const char *s, size_t n)
{
	fputc('"', out);
	for (size_t i = 0; i < n && s[i]; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c < 0x20 || c >= 0x7f || c == '"' || c == '\\')
			fprintf(out, "\\x%02x", c);
		else
			fputc(c, out);
	}
	fputc('"', out);
}

static void put_time(FILE *out, uint64_t unix_ms)
{
	time_t t = (time_t)(unix_ms / 1000);
	char buf[64];
	struct tm tm;

	if (gmtime_r(&t, &tm) &&
	    strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm))
		fprintf(out, "%s.%03uZ (unix ms %" PRIu64 ")\n", buf, (unsigned)(unix_ms % 1000),
			unix_ms);
	else
		fprintf(out, "unix ms %" PRIu64 "\n", unix_ms);
}

static void describe_machine(const struct snap_file *f, FILE *out)
{
	struct snap_machine m;
	char err[256];

	if (snap_machine_get(f, &m, err, sizeof(err))) {
		fprintf(out, "machine:      INVALID: %s\n", err);
		return;
	}
	fprintf(out, "vCPUs:        %u\n", m.nr_vcpus);
	fprintf(out, "memory:       %" PRIu64 " bytes (%" PRIu64 " MiB%s)\n", m.mem_size,
		m.mem_size >> 20, m.mem_size & ((1u << 20) - 1) ? ", rounded down" : "");
	fprintf(out, "devices:      %u\n", m.nr_devices);
	fprintf(out, "written by:   wisp ");
	put_str(out, m.vmm_version, sizeof(m.vmm_version));
	fputc('\n', out);
	fprintf(out, "created:      ");
	put_time(out, m.created_unix_ms);
}

static void describe_device(const struct snap_section *s, FILE *out)
{
	struct snap_device_hdr h;
	const uint8_t *state;
	char err[256];
	size_t len;

	if (snap_device_split(s, &h, &state, &len, err, sizeof(err))) {
		fprintf(out, "  INVALID: %s", err);
		return;
	}
	fprintf(out, "  ");
	put_str(out, h.kind, sizeof(h.kind));
	if (h.id[0]) {
		fprintf(out, " id ");
		put_str(out, h.id, sizeof(h.id));
	}
	if (h.mmio_base)
		fprintf(out, " mmio 0x%" PRIx64, h.mmio_base);
	fprintf(out, " irq %u state %zu bytes", h.irq, len);
}

void snap_describe(const struct snap_file *f, FILE *out)
{
	if (!f || !out)
		return;
	fprintf(out, "wisp snapshot, format version %u.%u (x86_64)\n", f->major, f->minor);
	describe_machine(f, out);
	fprintf(out, "sections:     %u\n", f->nr);
	fprintf(out, "  %4s  %-9s %8s %10s %10s\n", "#", "type", "instance", "offset", "size");
	for (unsigned i = 0; i < f->nr; i++) {
		const struct snap_section *s = &f->secs[i];

		fprintf(out, "  %4u  %-9s %8u %10" PRIu64 " %10" PRIu64, i,
			snap_section_name(s->type), s->instance, s->offset, s->len);
		if (s->type == SNAP_SEC_DEVICE)
			describe_device(s, out);
		else if (!strcmp(snap_section_name(s->type), "unknown"))
			fprintf(out, "  (type %u)", s->type);
		fputc('\n', out);
	}
}
