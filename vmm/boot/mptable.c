/* SPDX-License-Identifier: Apache-2.0 */
/*
 * boot_mptable.c — Intel MP specification 1.4 tables at MPTABLE_ADDR (the
 * last KiB of base memory, which Linux scans): the floating pointer, then the
 * configuration table with one processor entry per vCPU, an ISA bus, one
 * IOAPIC, ISA IRQ 0..23 routed to the IOAPIC pin of the same number, and
 * LINT0 = ExtINT, LINT1 = NMI on every local APIC.
 */
#include <errno.h>
#include <string.h>

#include "boot.h"
#include "boot_structs.h"

#define MP_AREA_END       0xa0000ULL   /* end of base memory */
#define MP_LAPIC_VERSION  0x14         /* integrated APIC */
#define MP_IOAPIC_VERSION 0x11
#define MP_CPU_SIGNATURE  0x600        /* family 6, model 0, stepping 0 */
#define MP_CPU_FEATURES   0x201        /* CPUID.1:EDX FPU | APIC */

static uint8_t checksum(const uint8_t *p, size_t len)
{
	uint8_t sum = 0;

	for (size_t i = 0; i < len; i++)
		sum += p[i];
	return (uint8_t)(0 - sum);
}

static size_t mptable_size(unsigned nr_vcpus)
{
	return sizeof(struct mpf_intel) + sizeof(struct mpc_table) +
	       nr_vcpus * sizeof(struct mpc_cpu) + sizeof(struct mpc_bus) +
	       sizeof(struct mpc_ioapic) + (MP_NR_IOINTS + 2) * sizeof(struct mpc_intsrc);
}

/* The worst case the VMM allows must fit in the last KiB of base memory. */
_Static_assert(sizeof(struct mpf_intel) + sizeof(struct mpc_table) +
	       VM_MAX_VCPUS * sizeof(struct mpc_cpu) + sizeof(struct mpc_bus) +
	       sizeof(struct mpc_ioapic) + (MP_NR_IOINTS + 2) * sizeof(struct mpc_intsrc)
	       <= MP_AREA_END - MPTABLE_ADDR, "MP table for VM_MAX_VCPUS fits below 0xa0000");

int mptable_write(const struct guest_mem *mem, unsigned nr_vcpus)
{
	uint8_t buf[MP_AREA_END - MPTABLE_ADDR];
	struct mpf_intel mpf;
	struct mpc_table mpc;
	size_t size = mptable_size(nr_vcpus), off;
	const uint64_t table = MPTABLE_ADDR + sizeof(mpf);
	unsigned entries = 0;

	if (nr_vcpus == 0 || nr_vcpus >= 0xff) {
		log_error("MP table: %u vCPUs is out of range", nr_vcpus);
		return -EINVAL;
	}
	if (size > sizeof(buf)) {
		log_error("MP table for %u vCPUs needs %zu bytes, more than the %zu below 0xa0000",
			  nr_vcpus, size, sizeof(buf));
		return -E2BIG;
	}
	if (!guest_mem_ptr(mem, MPTABLE_ADDR, sizeof(buf))) {
		log_error("MP table area 0x%llx..0x%llx is outside guest RAM", MPTABLE_ADDR, MP_AREA_END);
		return -EFAULT;
	}
	memset(buf, 0, sizeof(buf));

	/* Configuration table entries, after its header. */
	off = sizeof(mpf) + sizeof(mpc);
	for (unsigned i = 0; i < nr_vcpus; i++) {
		struct mpc_cpu cpu = {
			.type = MP_ENTRY_PROCESSOR,
			.apicid = (uint8_t)i,
			.apicver = MP_LAPIC_VERSION,
			.cpuflag = MP_CPU_EN | (i == 0 ? MP_CPU_BP : 0),
			.cpufeature = MP_CPU_SIGNATURE,
			.featureflag = MP_CPU_FEATURES,
		};

		memcpy(buf + off, &cpu, sizeof(cpu));
		off += sizeof(cpu);
		entries++;
	}
	{
		struct mpc_bus bus = { .type = MP_ENTRY_BUS, .busid = 0 };

		memcpy(bus.bustype, "ISA   ", 6);
		memcpy(buf + off, &bus, sizeof(bus));
		off += sizeof(bus);
		entries++;
	}
	{
		struct mpc_ioapic io = {
			.type = MP_ENTRY_IOAPIC,
			.apicid = (uint8_t)nr_vcpus,
			.apicver = MP_IOAPIC_VERSION,
			.flags = MP_IOAPIC_EN,
			.apicaddr = (uint32_t)IOAPIC_ADDR,
		};

		memcpy(buf + off, &io, sizeof(io));
		off += sizeof(io);
		entries++;
	}
	for (unsigned irq = 0; irq < MP_NR_IOINTS; irq++) {
		struct mpc_intsrc is = {
			.type = MP_ENTRY_IOINTR,
			.irqtype = MP_INT_INT,
			.irqflag = MP_IRQFLAG_CONFORMS,
			.srcbus = 0,
			.srcbusirq = (uint8_t)irq,
			.dstapic = (uint8_t)nr_vcpus,
			.dstirq = (uint8_t)irq,
		};

		memcpy(buf + off, &is, sizeof(is));
		off += sizeof(is);
		entries++;
	}
	for (unsigned lint = 0; lint < 2; lint++) {
		struct mpc_intsrc li = {
			.type = MP_ENTRY_LOCALINTR,
			.irqtype = lint == 0 ? MP_INT_EXTINT : MP_INT_NMI,
			.irqflag = MP_IRQFLAG_CONFORMS,
			.srcbus = 0,
			.srcbusirq = 0,
			.dstapic = 0xff,         /* all local APICs */
			.dstirq = (uint8_t)lint,
		};

		memcpy(buf + off, &li, sizeof(li));
		off += sizeof(li);
		entries++;
	}

	/* Configuration table header: checksum over header and entries. */
	memset(&mpc, 0, sizeof(mpc));
	memcpy(mpc.signature, "PCMP", 4);
	mpc.length = (uint16_t)(off - sizeof(mpf));
	mpc.spec = MP_SPEC_REV;
	memcpy(mpc.oem, "WISP    ", 8);
	memcpy(mpc.product, "WISP-MICROVM", 12);
	mpc.oemcount = (uint16_t)entries;
	mpc.lapic = (uint32_t)LAPIC_ADDR;
	memcpy(buf + sizeof(mpf), &mpc, sizeof(mpc));
	buf[sizeof(mpf) + offsetof(struct mpc_table, checksum)] =
		checksum(buf + sizeof(mpf), mpc.length);

	/* Floating pointer in the first 16 bytes. */
	memset(&mpf, 0, sizeof(mpf));
	memcpy(mpf.signature, "_MP_", 4);
	mpf.physptr = (uint32_t)table;
	mpf.length = 1;
	mpf.specification = MP_SPEC_REV;
	memcpy(buf, &mpf, sizeof(mpf));
	buf[offsetof(struct mpf_intel, checksum)] = checksum(buf, sizeof(mpf));

	guest_mem_write(mem, MPTABLE_ADDR, buf, sizeof(buf));
	return 0;
}
