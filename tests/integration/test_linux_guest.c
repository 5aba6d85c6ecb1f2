/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_linux_guest.c — a real Linux kernel (tools/linux-guest/build.sh) on
 * wisp, through both boot protocols: the vmlinux's PVH entry, and the Linux
 * 64-bit entry (the same vmlinux with its PVH note disabled).
 *
 * Everywhere: the kernel's own early log must show the command line wisp
 * built and the e820 map wisp configured (checked against the layout wisp
 * documents, for a 256 MiB and a 4 GiB guest), and wisp's ACPI tables: the
 * kernel lists RSDP, XSDT, FACP, APIC and DSDT with no checksum warning and
 * takes its CPUs from the MADT (1 and 2 vCPUs); with acpi=off in boot_args it
 * sees no ACPI and boots from the MP table. With hardware virtualization
 * the guest must also reach its init (the initramfs prints a marker, writes
 * the boot-complete value and reboots: wisp exits 0). On a PVM host the full
 * boot is skipped and the test says so: a stock kernel runs there only
 * under instruction emulation, and its init dies at its first system call
 * (docs/linux-guest.md).
 */
#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../check_main.h"
#include "harness.h"

static char linux_dir[4096];

static bool have_hw_virt(void)
{
	FILE *f = fopen("/proc/cpuinfo", "r");
	char line[4096];
	bool found = false;

	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f))
		if (!strncmp(line, "flags", 5) && (strstr(line, " vmx") || strstr(line, " svm")))
			found = true;
	fclose(f);
	return found && access("/sys/module/kvm_pvm", F_OK) != 0;
}

/* The artifacts: $WISP_LINUX_DIR, or what tools/linux-guest/build.sh prints
 * (the cache hit is immediate; scripts/test.sh builds it before ctest). */
static bool find_artifacts(void)
{
	const char *env = getenv("WISP_LINUX_DIR");
	char cmd[4200];
	FILE *p;

	if (env && *env) {
		snprintf(linux_dir, sizeof(linux_dir), "%s", env);
	} else {
		snprintf(cmd, sizeof(cmd), "%s/tools/linux-guest/build.sh 2>/dev/null | tail -n 1",
			 getenv("WISP_SOURCE_DIR") ? getenv("WISP_SOURCE_DIR") : ".");
		p = popen(cmd, "r");
		if (!p || !fgets(linux_dir, sizeof(linux_dir), p)) {
			if (p)
				pclose(p);
			return false;
		}
		pclose(p);
		linux_dir[strcspn(linux_dir, "\n")] = 0;
	}
	snprintf(cmd, sizeof(cmd), "%s/vmlinux", linux_dir);
	return access(cmd, R_OK) == 0;
}

static char *artifact(const char *name)
{
	char *path;

	if (asprintf(&path, "%s/%s", linux_dir, name) < 0)
		abort();
	return path;
}

/* Copy of vmlinux whose XEN_ELFNOTE_PHYS32_ENTRY note type is changed, so
 * wisp uses the Linux 64-bit entry (startup_64) instead of PVH. */
static char *vmlinux_without_pvh(void)
{
	static const unsigned char note[] = { 4, 0, 0, 0, 0, 0, 0, 0, 18, 0, 0, 0, 'X', 'e', 'n', 0 };
	char *src = artifact("vmlinux"), *dst;
	FILE *f = fopen(src, "rb");
	unsigned char *img;
	long len;
	int patched = 0;

	ck_assert_ptr_nonnull(f);
	fseek(f, 0, SEEK_END);
	len = ftell(f);
	rewind(f);
	img = malloc((size_t)len);
	ck_assert_int_eq(fread(img, 1, (size_t)len, f), (size_t)len);
	fclose(f);
	/* namesz 4, descsz 4 or 8, type 18, "Xen" */
	for (long i = 0; i + 16 <= len; i++) {
		if (!memcmp(img + i, note, 4) && (img[i + 4] == 4 || img[i + 4] == 8) &&
		    !memcmp(img + i + 5, note + 5, 3) && !memcmp(img + i + 8, note + 8, 8)) {
			img[i + 8] = 0x7f;
			patched++;
		}
	}
	ck_assert_msg(patched == 1, "expected one PVH note in %s, found %d", src, patched);
	if (asprintf(&dst, "%s/vmlinux-nopvh", tmpdir_make()) < 0)
		abort();
	f = fopen(dst, "wb");
	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(fwrite(img, 1, (size_t)len, f), (size_t)len);
	fclose(f);
	free(img);
	free(src);
	return dst;
}

#define PVM_ARGS "noxsave nopti nofsgsbase clearcpuid=smap,smep,umip,popcnt,cx16,serialize," \
	"rdpid,pcid,invpcid,rdrand,rdseed,clflushopt,clwb,xsave,avx,avx2,avx512f,movbe,sha_ni," \
	"aes,pclmulqdq,erms,fsrm"
#define BOOT_ARGS "console=ttyS0 earlyprintk=ttyS0 reboot=k panic=1 pci=off " PVM_ARGS

struct expect {
	unsigned mem_mib;
	const char *e820[3];
	unsigned vcpus;
	bool acpi_off;     /* boot_args end with " acpi=off" */
	/* Wait for the CPU count (after the MADT or MP table is parsed). Not at
	 * 4 GiB: under PVM the memory map setup before it takes minutes there,
	 * so that case checks the table list only. */
	bool cpus;
};

static const struct expect layouts[] = {
	{ 256, { "BIOS-e820: [mem 0x0000000000000000-0x000000000009fbff] usable",
		 "BIOS-e820: [mem 0x0000000000100000-0x000000000fffffff] usable", NULL }, 1, false, true },
	{ 4096, { "BIOS-e820: [mem 0x0000000000000000-0x000000000009fbff] usable",
		  "BIOS-e820: [mem 0x0000000000100000-0x00000000bfffffff] usable",
		  "BIOS-e820: [mem 0x0000000100000000-0x000000013fffffff] usable" }, 1, false, false },
	{ 256, { "BIOS-e820: [mem 0x0000000000000000-0x000000000009fbff] usable",
		 "BIOS-e820: [mem 0x0000000000100000-0x000000000fffffff] usable", NULL }, 1, true, true },
	{ 256, { "BIOS-e820: [mem 0x0000000000000000-0x000000000009fbff] usable",
		 "BIOS-e820: [mem 0x0000000000100000-0x000000000fffffff] usable", NULL }, 2, false, true },
};

/* What the kernel logs from wisp's ACPI tables (acpi_tb_print_table_header,
 * acpi_process_madt), or, with acpi=off, from the MP table. The early part
 * of a boot that runs under PVM too. */
static void check_acpi(const char *out, const char *err, const struct expect *ex, const char *entry)
{
	static const char *const tables[] = {
		"ACPI: RSDP 0x00000000000E0000 000024 (v02 WISP  )",
		"ACPI: XSDT 0x00000000000A0000 000034 (v01 WISP   WISPXSDT 00000001 WISP 00000001)",
		"ACPI: FACP 0x", "ACPI: APIC 0x", "ACPI: DSDT 0x",
	};

	if (ex->acpi_off) {
		ck_assert_msg(!strstr(out, "ACPI: RSDP") && !strstr(out, "ACPI: XSDT"),
			      "%s entry, acpi=off: the kernel found ACPI tables:\n%s", entry, out);
		ck_assert_msg(strstr(out, "Intel MultiProcessor Specification v1.4"),
			      "%s entry, acpi=off: no MP table seen:\n%s", entry, out);
		ck_assert_msg(strstr(err, "ACPI: off (acpi=off"), "stderr:\n%s", err);
		return;
	}
	for (size_t i = 0; i < sizeof(tables) / sizeof(tables[0]); i++)
		ck_assert_msg(strstr(out, tables[i]), "%s entry: missing '%s' in:\n%s", entry,
			      tables[i], out);
	ck_assert_msg(!strstr(out, "Incorrect checksum") && !strstr(out, "Invalid checksum"),
		      "%s entry: a checksum warning:\n%s", entry, out);
	ck_assert_msg(strstr(err, "ACPI: RSDP at 0xe0000"), "stderr:\n%s", err);
	if (!ex->cpus)
		return;
	ck_assert_msg(strstr(out, "ACPI: Using ACPI (MADT) for SMP configuration information"),
		      "%s entry: CPUs not from the MADT:\n%s", entry, out);
	ck_assert_msg(!strstr(out, "Intel MultiProcessor Specification"),
		      "%s entry: the kernel used the MP table despite ACPI:\n%s", entry, out);
}

static void boot_linux(const char *kernel, const struct expect *ex, const char *entry)
{
	bool pvh = !strcmp(entry, "PVH");
	/* A bzImage first decompresses itself, instruction by instruction
	 * under PVM's emulator (seconds under wisp, ~75 s under QEMU here):
	 * allow for a loaded machine. */
	int wait_ms = strstr(kernel, "bzImage") ? 280000 : 90000;
	char *initrd = artifact("initramfs.cpio.gz");
	char *doc, *cfg, *cmdline_line;
	struct proc p;
	bool full = have_hw_virt();
	const char *args = ex->acpi_off ? BOOT_ARGS " acpi=off" : BOOT_ARGS;
	char *wait_for, *cpus_line;

	/* prefill_possible_map(), after the ACPI/MP table parsing in setup_arch(). */
	if (asprintf(&cpus_line, "smpboot: Allowing %u CPUs, 0 hotplug CPUs", ex->vcpus) < 0)
		abort();
	/* The last table the kernel lists, or the CPU count. */
	wait_for = full ? "WISP-LINUX-INIT-OK" : ex->cpus ? cpus_line : "ACPI: Reserving APIC table memory";
	if (asprintf(&doc, "{\"boot-source\": {\"kernel_image_path\": \"%s\", \"initrd_path\": \"%s\", "
		     "\"boot_args\": \"%s\"}, \"machine-config\": {\"vcpu_count\": %u, "
		     "\"mem_size_mib\": %u}}", kernel, initrd, args, ex->vcpus, ex->mem_mib) < 0)
		abort();
	cfg = write_tmp_file("linux.json", doc);
	{
		char *argv[] = { (char *)build_path("wisp"), "--no-api", "--config-file", cfg, NULL };

		ck_assert_int_eq(proc_spawn(&p, argv), 0);
	}
	proc_close_stdin(&p);
	ck_assert_msg(proc_wait_for(&p, wait_for, full ? 120000 + wait_ms : wait_ms),
		      "%s entry, %u MiB: '%s' not seen\nstdout:\n%s\nstderr:\n%s", entry, ex->mem_mib,
		      wait_for, p.out.data, p.err.data);
	/* What the kernel read from wisp's boot structures. */
	if (asprintf(&cmdline_line, "Command line: %s", args) < 0)
		abort();
	ck_assert_msg(strstr(p.out.data, cmdline_line), "%s entry: kernel command line differs:\n%s",
		      entry, p.out.data);
	ck_assert_msg(strstr(p.err.data, "kernel command line: ") &&
		      strstr(strstr(p.err.data, "kernel command line: "), args), "stderr:\n%s", p.err.data);
	if (ex->cpus || full)
		ck_assert_msg(strstr(p.out.data, cpus_line), "%s entry: missing '%s' in:\n%s", entry,
			      cpus_line, p.out.data);
	check_acpi(p.out.data, p.err.data, ex, entry);
	for (int i = 0; i < 3 && ex->e820[i]; i++)
		ck_assert_msg(strstr(p.out.data, ex->e820[i]), "%s entry, %u MiB: missing '%s' in:\n%s",
			      entry, ex->mem_mib, ex->e820[i], p.out.data);
	if (!strcmp(entry, "bzImage"))
		ck_assert_msg(strstr(p.out.data, "Decompressing Linux"), "no decompressor output:\n%s",
			      p.out.data);
	/* Linux's PVH code adds the ISA hole [0xa0000, 1 MiB) as reserved
	 * itself; the 64-bit protocol shows exactly wisp's map. */
	if (pvh)
		ck_assert_msg(strstr(p.out.data, "BIOS-e820: [mem 0x00000000000a0000-0x00000000000fffff] reserved"),
			      "PVH: no ISA hole line:\n%s", p.out.data);
	ck_assert_int_eq(count_substr(p.out.data, "BIOS-e820: "), (ex->e820[2] ? 3 : 2) + (pvh ? 1 : 0));
	if (full) {
		/* The whole boot interpreted the DSDT without complaint. */
		ck_assert_msg(!strstr(p.out.data, "ACPI Error") && !strstr(p.out.data, "ACPI BIOS Error"),
			      "%s entry: ACPI errors:\n%s", entry, p.out.data);
		ck_assert(proc_finish(&p, 60000));
		ck_assert_int_eq(p.status, 0);
	} else {
		printf("linux guest (%s entry, %u MiB): command line and e820 map verified; "
		       "SKIPPED the rest of the boot: /dev/kvm is PVM (no VMX/SVM), where a stock "
		       "kernel crawls under instruction emulation and its init dies at the first "
		       "system call (docs/linux-guest.md)\n",
		       entry, ex->mem_mib);
		proc_signal(&p, SIGTERM);
		ck_assert(proc_finish(&p, 20000));
		ck_assert_int_eq(p.status, 0);
	}
	free(cmdline_line);
	free(cpus_line);
	free(doc);
	free(cfg);
	free(initrd);
	proc_free(&p);
}

START_TEST(linux_pvh_entry)
{
	char *vmlinux = artifact("vmlinux");

	boot_linux(vmlinux, &layouts[_i], "PVH");
	free(vmlinux);
	tmpdir_cleanup();
}
END_TEST

/* The bzImage (LZ4) through wisp's bzImage loader and the 64-bit entry:
 * the decompressor runs, then the kernel reads the same structures. */
START_TEST(linux_bzimage)
{
	char *bz = artifact("bzImage");

	boot_linux(bz, &layouts[0], "bzImage");
	free(bz);
	tmpdir_cleanup();
}
END_TEST

START_TEST(linux_64bit_entry)
{
	char *vmlinux = vmlinux_without_pvh();

	boot_linux(vmlinux, &layouts[_i], "Linux 64-bit");
	free(vmlinux);
	tmpdir_cleanup();
}
END_TEST

int main(void)
{
	Suite *s = suite_create("linux_guest");
	TCase *tc = tcase_create("linux");

	if (!find_artifacts()) {
		printf("SKIPPED: no Linux guest artifacts (run tools/linux-guest/build.sh)\n");
		return 77;
	}
	printf("Linux guest artifacts: %s\n", linux_dir);
	tcase_set_timeout(tc, 300);
	tcase_add_loop_test(tc, linux_pvh_entry, 0, 4);
	tcase_add_loop_test(tc, linux_64bit_entry, 0, 2);
	tcase_add_test(tc, linux_bzimage);
	suite_add_tcase(s, tc);
	return check_run_suite(s);
}
