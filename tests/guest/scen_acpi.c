/* SPDX-License-Identifier: Apache-2.0 */
/*
 * scen_acpi.c — `acpi`: check the ACPI tables the VMM built, as a stock
 * kernel would read them, and (optionally) serve the VM generation ID over
 * the serial port for snapshot/restore tests.
 *
 * 1. RSDP: from the boot information (hvm_start_info.rsdp_paddr or
 *    boot_params.acpi_rsdp_addr), else the first 1 KiB of the EBDA and
 *    0xE0000-0xFFFFF on 16-byte boundaries ("RSD PTR "; wtest.scan=1: only
 *    there, ignoring the boot information). Checksum of the
 *    first 20 bytes; revision >= 2: length >= 36 and the extended checksum.
 * 2. XSDT (RSDT when the revision is 0 or the XSDT address is 0): every
 *    table's header, length and checksum; the FADT's DSDT (X_DSDT when
 *    set), hardware-reduced flag; the MADT: enabled local APICs / x2APICs
 *    (distinct ids, our own among them), an IOAPIC at 0xFEC00000 with GSI
 *    base 0, interrupt source overrides; the processor count must equal
 *    wtest.cpus=N when given and the MP table's when there is one.
 * 3. DSDT and SSDTs through a bounded AML walker (acpi_aml.c): every Device
 *    with its _HID/_CID and _CRS. virtio-mmio (_HID LNRO0005): one
 *    Memory32Fixed and one interrupt each, magic "virt" at the address.
 *    VMGenID (_HID or _CID VM_GEN_COUNTER / VMGENCTR): ADDR = Package{lo,
 *    hi}, the 16-byte ID read there. Generic Event Device (_HID ACPI0013):
 *    its interrupt.
 * 4. Cross-checks: virtio_mmio.device= words, when present, must name the
 *    same devices (address and IRQ) as the DSDT; wtest.virtio=N: the DSDT
 *    lists N virtio devices;
 *    wtest.vmgenid=1: a VMGenID device and a GED must exist.
 *
 * Output: one line per table / device (`ACPI: RSDP ...`, `ACPI: XSDT ...`,
 * `ACPI: FACP ...`, `ACPI: MADT cpus=N ioapic=0xfec00000 ...`, `ACPI:
 * DSDT ...`, `ACPI: virtio 0xADDR irq N ...`, `ACPI: vmgenid 0xADDR <32
 * hex>`, `ACPI: ged irq N edge|level high|low`, `ACPI: device NAME ...`
 * for the others), then `ACPI: summary ...` and PASS, or FAIL <reason>.
 *
 * Command mode (wtest.wait=1), for snapshot tests: after the checks, the
 * GED's interrupt (from the DSDT) is routed through the IOAPIC to vector
 * 0x40 and counted, COM1 RX is routed to vector 0x24, and the guest prints
 * `ACPI: waiting for commands` and halts between interrupts. Input bytes:
 *   G   prints `VMGENID <32 hex> irqs=<GED interrupts taken so far>` (the
 *       16 bytes as they lie in memory, byte 0 first; `VMGENID none` when
 *       there is no VMGenID device)
 *   Q   PASS (and reset)
 * others are ignored. Every GED interrupt also prints `ACPI: ged interrupt
 * <total>` (from the main loop; several close together may print once).
 */
#include "guest.h"
#include "acpi_aml.h"

#define TABLES_LIMIT   0xc0000000ULL  /* tables must lie below 3 GiB (no MMIO reads) */
#define MAX_TABLES     64
#define MAX_TABLE_LEN  (4u << 20)
#define VEC_GED        0x40
#define IOAPIC_ADDR    0xfec00000u

struct acpi_hdr {
	char sig[4];
	uint32_t length;
	uint8_t revision;
	uint8_t checksum;
	char oem_id[6];
	char oem_table_id[8];
	uint32_t oem_revision;
	uint32_t creator_id;
	uint32_t creator_revision;
} __attribute__((packed));

static struct aml_result aml;          /* large: static */
static unsigned ncpus_madt;
static bool ioapic_ok;
static uint32_t ioapic_pins = 24;      /* from the IOAPIC's version register */
static bool have_ged, have_vmgenid;
static struct aml_irq ged_irq;
static uint64_t vmgenid_addr;
static volatile uint32_t ged_count;
static volatile uint8_t rx_ring[64];
static volatile uint32_t rx_head, rx_tail;

static uint8_t sum8(const void *p, size_t n)
{
	const uint8_t *b = p;
	uint8_t s = 0;

	for (size_t i = 0; i < n; i++)
		s = (uint8_t)(s + b[i]);
	return s;
}

/* Printable copy of n bytes (n <= 8). */
static const char *txt(const char *s, size_t n, char *out)
{
	size_t i;

	for (i = 0; i < n; i++)
		out[i] = (s[i] >= 0x20 && s[i] < 0x7f) ? s[i] : '?';
	out[i] = '\0';
	return out;
}

static bool range_ok(uint64_t addr, uint64_t len)
{
	return addr && len <= TABLES_LIMIT && addr <= TABLES_LIMIT - len;
}

/* ---------------- RSDP ---------------- */
static const uint8_t *rsdp_scan(uint64_t a, uint64_t b)
{
	for (; a + 20 <= b; a += 16) {
		const uint8_t *p = phys_ptr(a);

		if (!memcmp(p, "RSD PTR ", 8) && sum8(p, 20) == 0)
			return p;
	}
	return NULL;
}

static const uint8_t *find_rsdp(const char **how)
{
	uint16_t ebda = *(const volatile uint16_t *)phys_ptr(0x40e);
	const uint8_t *p;

	if (g_boot.rsdp && !param_u64("scan", 0)) {
		*how = g_boot.kind == BOOT_KIND_PVH ? "hvm_start_info" : "boot_params";
		if (!range_ok(g_boot.rsdp, 36))
			wtest_fail("RSDP address 0x%lx from %s is out of range",
				   (unsigned long)g_boot.rsdp, *how);
		p = phys_ptr(g_boot.rsdp);
		if (memcmp(p, "RSD PTR ", 8))
			wtest_fail("no RSD PTR signature at 0x%lx (given by %s)",
				   (unsigned long)g_boot.rsdp, *how);
		return p;
	}
	*how = "scan";
	p = NULL;
	if (ebda >= 0x80 && ebda < 0xa000)
		p = rsdp_scan((uint64_t)ebda << 4, ((uint64_t)ebda << 4) + 1024);
	if (!p)
		p = rsdp_scan(0xe0000, 0x100000);
	return p;
}

/* ---------------- tables ---------------- */
/* Check a table at addr: header, length, checksum. Returns it or fails. */
static const struct acpi_hdr *table_at(uint64_t addr, const char *what)
{
	const struct acpi_hdr *h;
	char s[9];

	if (!range_ok(addr, sizeof(*h)))
		wtest_fail("%s: table address 0x%lx out of range", what, (unsigned long)addr);
	h = phys_ptr(addr);
	if (h->length < sizeof(*h) || h->length > MAX_TABLE_LEN || !range_ok(addr, h->length))
		wtest_fail("%s at 0x%lx (%s): bad length %u", what, (unsigned long)addr,
			   txt(h->sig, 4, s), h->length);
	if (sum8(h, h->length) != 0)
		wtest_fail("%s at 0x%lx (%s): checksum wrong (sum 0x%02x)", what, (unsigned long)addr,
			   txt(h->sig, 4, s), sum8(h, h->length));
	return h;
}

static void print_table(const struct acpi_hdr *h, const char *extra)
{
	char s[9], o[9], t[9];

	printk("ACPI: %s 0x%lx len %u rev %u oem '%s' '%s'%s\n", txt(h->sig, 4, s),
	       (unsigned long)(uintptr_t)h, h->length, h->revision, txt(h->oem_id, 6, o),
	       txt(h->oem_table_id, 8, t), extra);
}

static uint64_t rd(const void *base, size_t off, unsigned bytes)
{
	const uint8_t *p = (const uint8_t *)base + off;
	uint64_t v = 0;

	for (unsigned i = 0; i < bytes; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

/* FADT: the DSDT address (0 if none). */
static uint64_t check_fadt(const struct acpi_hdr *h)
{
	uint64_t dsdt32 = h->length >= 44 ? rd(h, 40, 4) : 0;
	uint64_t xdsdt = h->length >= 148 ? rd(h, 140, 8) : 0;
	uint32_t flags = h->length >= 116 ? (uint32_t)rd(h, 112, 4) : 0;
	char extra[96];

	if (dsdt32 && xdsdt && dsdt32 != xdsdt)
		wtest_fail("FADT: DSDT 0x%lx and X_DSDT 0x%lx differ", (unsigned long)dsdt32,
			   (unsigned long)xdsdt);
	/* The FACS, when there is one (hardware-reduced ACPI may have none):
	 * no checksum, but its signature and a length of at least 64. */
	{
		uint64_t facs = h->length >= 140 ? rd(h, 132, 8) : 0;

		if (!facs && h->length >= 40)
			facs = rd(h, 36, 4);
		if (facs) {
			const uint8_t *f;

			if (!range_ok(facs, 64))
				wtest_fail("FADT: FACS address 0x%lx out of range", (unsigned long)facs);
			f = phys_ptr(facs);
			if (memcmp(f, "FACS", 4) || rd(f, 4, 4) < 64)
				wtest_fail("FACS at 0x%lx: bad signature or length", (unsigned long)facs);
			printk("ACPI: FACS 0x%lx len %u\n", (unsigned long)facs, (unsigned)rd(f, 4, 4));
		}
	}
	snprintf(extra, sizeof(extra), " dsdt=0x%lx%s", (unsigned long)(xdsdt ? xdsdt : dsdt32),
		 flags & (1u << 20) ? " hw-reduced" : "");
	print_table(h, extra);
	return xdsdt ? xdsdt : dsdt32;
}

static uint32_t ioapic_read(uint32_t base, uint32_t reg)
{
	mmio_write32(base, reg);
	return mmio_read32((uint64_t)base + 0x10);
}

/* Enabled processors in the MP table (kept by VMMs for legacy guests), or
 * -1 when there is none. Walked by the table's length, as scen_smp.c does. */
static const uint8_t *mp_scan(uint64_t a, uint64_t b)
{
	for (; a + 16 <= b; a += 16) {
		const uint8_t *p = phys_ptr(a);

		if (!memcmp(p, "_MP_", 4) && p[8] == 1 && sum8(p, 16) == 0)
			return p;
	}
	return NULL;
}

static int mp_cpus(void)
{
	uint16_t ebda = *(const volatile uint16_t *)phys_ptr(0x40e);
	const uint8_t *fp = mp_scan(0x9fc00, 0xa0000), *ct;
	uint32_t ct_addr;
	uint16_t len;
	int n = 0;

	if (!fp && ebda >= 0x80 && ebda < 0xa000)
		fp = mp_scan((uint64_t)ebda << 4, ((uint64_t)ebda << 4) + 1024);
	if (!fp)
		fp = mp_scan(0xf0000, 0x100000);
	if (!fp)
		return -1;
	ct_addr = (uint32_t)rd(fp, 4, 4);
	if (!range_ok(ct_addr, 44))
		return -1;
	ct = phys_ptr(ct_addr);
	len = (uint16_t)rd(ct, 4, 2);
	if (memcmp(ct, "PCMP", 4) || len < 44 || !range_ok(ct_addr, len) || sum8(ct, len))
		return -1;
	for (uint32_t off = 44; off + 8 <= len;) {
		if (ct[off] == 0) {
			if (off + 20 <= len && (ct[off + 3] & 1))
				n++;
			off += 20;
		} else {
			off += 8;
		}
	}
	return n;
}

static void check_madt(const struct acpi_hdr *h)
{
	const uint8_t *t = (const uint8_t *)h;
	uint32_t n = h->length, off = 44;
	uint32_t ids[MAX_CPUS * 8];
	unsigned nids = 0, nioapic = 0, niso = 0, disabled = 0;
	uint32_t self = lapic_id();
	bool self_seen = false;
	char extra[160];
	uint64_t want = param_u64("cpus", 0);
	int mp;

	if (n < 44)
		wtest_fail("MADT: length %u < 44", n);
	while (off < n) {
		uint8_t type, len;

		if (n - off < 2)
			wtest_fail("MADT: truncated entry at offset %u", off);
		type = t[off];
		len = t[off + 1];
		if (len < 2 || len > n - off)
			wtest_fail("MADT: entry type %u at offset %u has length %u", type, off, len);
		if (type == 0 || type == 9) {            /* local APIC / x2APIC */
			uint32_t id, flags;

			if (len < (type ? 16 : 8))
				wtest_fail("MADT: short processor entry at offset %u", off);
			id = type ? (uint32_t)rd(t, off + 4, 4) : t[off + 3];
			flags = (uint32_t)rd(t, off + (type ? 8 : 4), 4);
			if (flags & 1) {
				for (unsigned i = 0; i < nids; i++)
					if (ids[i] == id)
						wtest_fail("MADT: APIC id %u listed twice", id);
				if (nids < ARRAY_SIZE(ids))
					ids[nids++] = id;
				if (id == self)
					self_seen = true;
			} else {
				disabled++;
			}
		} else if (type == 1) {                  /* IOAPIC */
			uint32_t addr, gsi;

			if (len < 12)
				wtest_fail("MADT: short IOAPIC entry at offset %u", off);
			addr = (uint32_t)rd(t, off + 4, 4);
			gsi = (uint32_t)rd(t, off + 8, 4);
			printk("ACPI: MADT ioapic id %u at 0x%x gsi base %u\n", t[off + 2], addr, gsi);
			if (addr == IOAPIC_ADDR && gsi == 0) {
				ioapic_ok = true;
				ioapic_pins = ((ioapic_read(addr, 1) >> 16) & 0xff) + 1;
			}
			nioapic++;
		} else if (type == 2) {                  /* interrupt source override */
			if (len < 10)
				wtest_fail("MADT: short override entry at offset %u", off);
			printk("ACPI: MADT override irq %u -> gsi %u flags 0x%x\n", t[off + 3],
			       (unsigned)rd(t, off + 4, 4), (unsigned)rd(t, off + 8, 2));
			niso++;
		}
		off += len;
	}
	ncpus_madt = nids;
	snprintf(extra, sizeof(extra), " lapic=0x%x", (unsigned)rd(t, 36, 4));
	print_table(h, extra);
	printk("ACPI: MADT cpus=%u ioapic=0x%x ioapics=%u pins=%u overrides=%u%s\n", nids,
	       ioapic_ok ? IOAPIC_ADDR : 0, nioapic, ioapic_pins, niso,
	       disabled ? " (and disabled entries)" : "");
	if (!nids)
		wtest_fail("MADT lists no enabled processor");
	if (!self_seen)
		wtest_fail("MADT does not list this CPU (APIC id %u)", self);
	if (!ioapic_ok)
		wtest_fail("MADT lists no IOAPIC at 0x%x with GSI base 0", IOAPIC_ADDR);
	if (want && want != nids)
		wtest_fail("MADT lists %u cpus, wtest.cpus=%lu", nids, (unsigned long)want);
	mp = mp_cpus();
	if (mp >= 0 && (unsigned)mp != nids)
		wtest_fail("MADT lists %u cpus, the MP table %d", nids, mp);
	printk("ACPI: MADT cpus: %s%s\n", want ? "as wtest.cpus says" : "wtest.cpus not given",
	       mp >= 0 ? ", as the MP table says" : ", no MP table");
}

/* ---------------- devices ---------------- */
static bool is(const char *a, const char *b)
{
	return !strcmp(a, b);
}

/* ACPI ids compare exactly; VM_GEN_COUNTER also in any case (Microsoft's
 * spec and QEMU write "VM_Gen_Counter"). */
static bool id_eq(const char *a, const char *b, bool any_case)
{
	for (; *a && *b; a++, b++) {
		char x = *a, y = *b;

		if (any_case) {
			x = (x >= 'a' && x <= 'z') ? (char)(x - 32) : x;
			y = (y >= 'a' && y <= 'z') ? (char)(y - 32) : y;
		}
		if (x != y)
			return false;
	}
	return *a == *b;
}

static bool dev_is(const struct aml_dev *d, const char *id)
{
	bool any = is(id, "VM_GEN_COUNTER");

	return id_eq(d->hid, id, any) || id_eq(d->cid, id, any);
}

static void crs_of(const struct aml_dev *d, struct aml_res *r, const char *what)
{
	const char *bad;

	memset(r, 0, sizeof(*r));
	if (!d->crs)
		wtest_fail("%s device %s has no _CRS buffer", what, d->name);
	bad = aml_parse_crs(d->crs, d->crs_len, r);
	if (bad)
		wtest_fail("%s device %s: _CRS: %s", what, d->name, bad);
}

static const char *trig(const struct aml_irq *q)
{
	return q->edge ? (q->low ? "edge low" : "edge high") : (q->low ? "level low" : "level high");
}

struct vdev_found {
	uint64_t base;
	uint32_t irq;
};

static unsigned check_virtio(void)
{
	static struct vdev_found found[AML_MAX_DEVS];
	unsigned n = 0;

	for (unsigned i = 0; i < aml.ndev; i++) {
		const struct aml_dev *d = &aml.dev[i];
		struct aml_res r;
		uint32_t magic, ver, id;

		if (!dev_is(d, "LNRO0005"))
			continue;
		crs_of(d, &r, "virtio");
		if (r.nmem != 1 || r.nirq != 1)
			wtest_fail("virtio device %s: _CRS has %u memory ranges and %u interrupts, "
				   "expected 1 and 1", d->name, r.nmem, r.nirq);
		if (r.mem_base[0] < TABLES_LIMIT || r.mem_base[0] >= IOAPIC_ADDR ||
		    r.mem_len[0] < 0x100 || r.mem_len[0] > 0x100000)
			wtest_fail("virtio device %s: window 0x%lx size 0x%lx is implausible", d->name,
				   (unsigned long)r.mem_base[0], (unsigned long)r.mem_len[0]);
		for (unsigned k = 0; k < n; k++)
			if (found[k].base == r.mem_base[0])
				wtest_fail("virtio window 0x%lx described twice", (unsigned long)found[k].base);
		magic = mmio_read32(r.mem_base[0]);
		ver = mmio_read32(r.mem_base[0] + 4);
		id = mmio_read32(r.mem_base[0] + 8);
		printk("ACPI: virtio 0x%lx irq %u size 0x%lx %s name %s id %u\n",
		       (unsigned long)r.mem_base[0], r.irq[0].gsi, (unsigned long)r.mem_len[0],
		       trig(&r.irq[0]), d->name, id);
		if (magic != 0x74726976)
			wtest_fail("virtio device %s at 0x%lx: magic 0x%x, not 'virt'", d->name,
				   (unsigned long)r.mem_base[0], magic);
		if (ver != 1 && ver != 2)
			wtest_fail("virtio device %s at 0x%lx: version %u", d->name,
				   (unsigned long)r.mem_base[0], ver);
		found[n].base = r.mem_base[0];
		found[n].irq = r.irq[0].gsi;
		n++;
	}
	/* The command line, when it names devices, must agree with the DSDT. */
	if (g_boot.nvirtio) {
		if (g_boot.nvirtio != n)
			wtest_fail("%u virtio_mmio.device words on the command line, %u virtio devices "
				   "in the DSDT", g_boot.nvirtio, n);
		for (unsigned i = 0; i < g_boot.nvirtio; i++) {
			bool ok = false;

			for (unsigned k = 0; k < n; k++)
				if (found[k].base == g_boot.virtio[i].addr &&
				    found[k].irq == g_boot.virtio[i].irq)
					ok = true;
			if (!ok)
				wtest_fail("virtio_mmio.device at 0x%lx irq %u is not in the DSDT",
					   (unsigned long)g_boot.virtio[i].addr, g_boot.virtio[i].irq);
		}
		printk("ACPI: the %u virtio_mmio.device words match the DSDT\n", g_boot.nvirtio);
	}
	return n;
}

static void read_vmgenid(char out[33])
{
	static const char hex[] = "0123456789abcdef";
	const volatile uint8_t *p = phys_ptr(vmgenid_addr);

	for (unsigned i = 0; i < 16; i++) {
		uint8_t b = p[i];

		out[2 * i] = hex[b >> 4];
		out[2 * i + 1] = hex[b & 15];
	}
	out[32] = '\0';
}

static void check_others(void)
{
	for (unsigned i = 0; i < aml.ndev; i++) {
		const struct aml_dev *d = &aml.dev[i];
		struct aml_res r;

		if (dev_is(d, "LNRO0005"))
			continue;
		if (dev_is(d, "VM_GEN_COUNTER") || dev_is(d, "VMGENCTR")) {
			char id[33];

			if (have_vmgenid)
				wtest_fail("two VMGenID devices (%s)", d->name);
			if (d->addr_n != 2)
				wtest_fail("VMGenID device %s: no ADDR Package{lo, hi} (%u integers)",
					   d->name, d->addr_n);
			vmgenid_addr = (d->addr[0] & 0xffffffffULL) | d->addr[1] << 32;
			if (!range_ok(vmgenid_addr, 16))
				wtest_fail("VMGenID device %s: ADDR 0x%lx out of range", d->name,
					   (unsigned long)vmgenid_addr);
			have_vmgenid = true;
			read_vmgenid(id);
			printk("ACPI: vmgenid 0x%lx %s name %s hid %s cid %s\n",
			       (unsigned long)vmgenid_addr, id, d->name, d->hid[0] ? d->hid : "-",
			       d->cid[0] ? d->cid : "-");
			if (!strcmp(id, "00000000000000000000000000000000"))
				wtest_fail("VMGenID is all zeros");
			continue;
		}
		if (dev_is(d, "ACPI0013")) {
			crs_of(d, &r, "GED");
			if (have_ged)
				wtest_fail("two Generic Event Devices (%s)", d->name);
			if (r.nirq < 1)
				wtest_fail("GED %s: no interrupt in its _CRS", d->name);
			have_ged = true;
			ged_irq = r.irq[0];
			printk("ACPI: ged irq %u %s name %s (%u interrupts)\n", ged_irq.gsi,
			       trig(&ged_irq), d->name, r.nirq);
			continue;
		}
		/* Any other device: name, ids and what its _CRS names. */
		{
			char line[200];
			size_t o;

			o = (size_t)snprintf(line, sizeof(line), "ACPI: device %s hid %s", d->name,
					     d->hid[0] ? d->hid : "-");
			if (d->cid[0] && o < sizeof(line))
				o += (size_t)snprintf(line + o, sizeof(line) - o, " cid %s", d->cid);
			if (d->crs && !aml_parse_crs(d->crs, d->crs_len, &r)) {
				for (unsigned k = 0; k < r.nio && o < sizeof(line); k++)
					o += (size_t)snprintf(line + o, sizeof(line) - o, " io 0x%x",
							      r.io_base[k]);
				for (unsigned k = 0; k < r.nmem && o < sizeof(line); k++)
					o += (size_t)snprintf(line + o, sizeof(line) - o, " mem 0x%lx",
							      (unsigned long)r.mem_base[k]);
				for (unsigned k = 0; k < r.nirq && o < sizeof(line); k++)
					o += (size_t)snprintf(line + o, sizeof(line) - o, " irq %u",
							      r.irq[k].gsi);
			}
			printk("%s\n", line);
		}
	}
}

/* ---------------- command mode ---------------- */
static void on_ged(struct intr_frame *f)
{
	(void)f;
	ged_count++;
}

static void on_serial(struct intr_frame *f)
{
	(void)f;
	for (unsigned i = 0; i < 64 && uart_rx_ready(); i++) {
		uint8_t b = uart_getc();

		if (rx_head - rx_tail < sizeof(rx_ring))
			rx_ring[rx_head++ % sizeof(rx_ring)] = b;
	}
}

static void ioapic_set(unsigned pin, unsigned vector, const struct aml_irq *q)
{
	uint32_t lo = (vector & 0xff) | (q->low ? 1u << 13 : 0) | (q->edge ? 0 : 1u << 15);

	mmio_write32(IOAPIC_ADDR, 0x11 + 2 * pin);
	mmio_write32(IOAPIC_ADDR + 0x10, lapic_id() << 24);
	mmio_write32(IOAPIC_ADDR, 0x10 + 2 * pin);
	mmio_write32(IOAPIC_ADDR + 0x10, lo);
}

static NORETURN void command_loop(void)
{
	static const struct aml_irq serial_irq = { 4, true, false };
	uint32_t ged_seen = 0;

	lapic_init();
	idt_set_handler(VEC_SERIAL, on_serial);
	ioapic_set(4, VEC_SERIAL, &serial_irq);
	uart_enable_rx_irq();
	if (have_ged) {
		if (ged_irq.gsi >= ioapic_pins || ged_irq.gsi == 4)
			wtest_fail("GED interrupt %u cannot be routed through the first IOAPIC (%u pins)",
				   ged_irq.gsi, ioapic_pins);
		idt_set_handler(VEC_GED, on_ged);
		ioapic_set(ged_irq.gsi, VEC_GED, &ged_irq);
		printk("ACPI: ged interrupt %u routed to vector 0x%x\n", ged_irq.gsi, VEC_GED);
	}
	on_serial(NULL);                       /* bytes that came before */
	printk("ACPI: waiting for commands (G: VMGENID, Q: quit)\n");
	for (;;) {
		uint32_t g;

		cli();
		g = ged_count;
		if (rx_tail == rx_head && g == ged_seen) {
			sti_hlt();
			continue;
		}
		sti();
		if (g != ged_seen) {
			ged_seen = g;
			printk("ACPI: ged interrupt %u\n", g);
		}
		while (rx_tail != rx_head) {
			uint8_t b = rx_ring[rx_tail++ % sizeof(rx_ring)];

			if (b == 'G') {
				char id[33];

				if (have_vmgenid)
					read_vmgenid(id);
				printk("VMGENID %s irqs=%u\n", have_vmgenid ? id : "none", ged_count);
			} else if (b == 'Q') {
				wtest_pass();
			}
		}
	}
}

/* ---------------- the scenario ---------------- */
void scen_acpi(void)
{
	const char *how;
	const uint8_t *rsdp = find_rsdp(&how);
	uint64_t sdt_addr, dsdt_addr = 0, want;
	const struct acpi_hdr *sdt, *dsdt = NULL;
	const struct acpi_hdr *tables[MAX_TABLES];
	unsigned ntables = 0, entry, nvirtio;
	bool xsdt, have_fadt = false, have_madt = false;
	char oem[8];

	if (!rsdp)
		wtest_fail("no RSDP (boot information gave none; none in the EBDA or 0xE0000-0xFFFFF)");
	if (sum8(rsdp, 20) != 0)
		wtest_fail("RSDP at 0x%lx: checksum of the first 20 bytes wrong",
			   (unsigned long)(uintptr_t)rsdp);
	if (rsdp[15] >= 2) {
		uint32_t len = (uint32_t)rd(rsdp, 20, 4);

		if (len < 36 || len > 4096 || !range_ok((uintptr_t)rsdp, len))
			wtest_fail("RSDP: length %u", len);
		if (sum8(rsdp, len) != 0)
			wtest_fail("RSDP: extended checksum wrong");
	}
	xsdt = rsdp[15] >= 2 && rd(rsdp, 24, 8) != 0;
	sdt_addr = xsdt ? rd(rsdp, 24, 8) : rd(rsdp, 16, 4);
	printk("ACPI: RSDP 0x%lx (%s) rev %u oem '%s' %s 0x%lx\n", (unsigned long)(uintptr_t)rsdp,
	       how, rsdp[15], txt((const char *)rsdp + 9, 6, oem), xsdt ? "xsdt" : "rsdt",
	       (unsigned long)sdt_addr);

	sdt = table_at(sdt_addr, xsdt ? "XSDT" : "RSDT");
	if (memcmp(sdt->sig, xsdt ? "XSDT" : "RSDT", 4))
		wtest_fail("%s signature wrong", xsdt ? "XSDT" : "RSDT");
	if ((sdt->length - 36) % (xsdt ? 8 : 4))
		wtest_fail("%s length %u is not a whole number of entries", sdt->sig, sdt->length);
	print_table(sdt, "");
	for (entry = 0; entry < (sdt->length - 36) / (xsdt ? 8 : 4); entry++) {
		uint64_t a = rd(sdt, 36 + entry * (xsdt ? 8 : 4), xsdt ? 8 : 4);
		const struct acpi_hdr *h = table_at(a, "table");

		if (ntables >= MAX_TABLES)
			wtest_fail("more than %u tables", MAX_TABLES);
		for (unsigned k = 0; k < ntables; k++)
			if (!memcmp(tables[k]->sig, h->sig, 4) && memcmp(h->sig, "SSDT", 4))
				wtest_fail("two %s tables", txt(h->sig, 4, oem));
		tables[ntables++] = h;
		if (!memcmp(h->sig, "FACP", 4)) {
			have_fadt = true;
			dsdt_addr = check_fadt(h);
		} else if (!memcmp(h->sig, "APIC", 4)) {
			have_madt = true;
			check_madt(h);
		} else if (!memcmp(h->sig, "DSDT", 4)) {
			wtest_fail("the DSDT is listed in the %s", sdt->sig);
		} else {
			print_table(h, "");
		}
	}
	if (!have_fadt)
		wtest_fail("no FADT (FACP)");
	if (!have_madt)
		wtest_fail("no MADT (APIC)");
	if (!dsdt_addr)
		wtest_fail("the FADT gives no DSDT");
	dsdt = table_at(dsdt_addr, "DSDT");
	if (memcmp(dsdt->sig, "DSDT", 4))
		wtest_fail("DSDT signature wrong at 0x%lx", (unsigned long)dsdt_addr);
	print_table(dsdt, "");

	aml_result_init(&aml);
	aml_walk((const uint8_t *)dsdt + 36, dsdt->length - 36, &aml);
	for (unsigned k = 0; k < ntables; k++)
		if (!memcmp(tables[k]->sig, "SSDT", 4))
			aml_walk((const uint8_t *)tables[k] + 36, tables[k]->length - 36, &aml);
	printk("ACPI: AML: %u devices%s\n", aml.ndev, aml.dropped ? " (more dropped)" : "");
	if (aml.cut)
		printk("ACPI: AML: %u bodies not fully walked; first at offset 0x%x (byte 0x%02x): %s\n",
		       aml.cut, aml.cut_off, aml.cut_op, aml.cut_why);

	nvirtio = check_virtio();
	check_others();
	want = param_u64("virtio", ~0ULL);
	if (want != ~0ULL && want != nvirtio)
		wtest_fail("%u virtio devices in the DSDT, wtest.virtio=%lu", nvirtio,
			   (unsigned long)want);
	if (param_u64("vmgenid", 0) && (!have_vmgenid || !have_ged))
		wtest_fail("wtest.vmgenid=1: %s", have_vmgenid ? "no GED" : "no VMGenID device");
	printk("ACPI: summary tables=%u cpus=%u virtio=%u vmgenid=%s ged=%s\n", ntables + 1,
	       ncpus_madt, nvirtio, have_vmgenid ? "yes" : "no", have_ged ? "yes" : "no");
	if (param_u64("wait", 0))
		command_loop();
	wtest_pass();
}
