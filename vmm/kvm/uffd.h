/* SPDX-License-Identifier: Apache-2.0 */
/*
 * uffd.h — private to vmm/: the Uffd memory backend of PUT /snapshot/load.
 *
 * Guest RAM is anonymous private memory registered with a userfaultfd; an
 * external page-fault handler (tools/uffd-handler/, or a platform's own)
 * fills it from the snapshot's memory file. The handshake is Firecracker's
 * (docs/uffd.md): wisp connects to the handler's Unix socket and sends, in
 * one message, the JSON array of regions with the userfaultfd attached as
 * SCM_RIGHTS.
 *
 * wisp keeps the userfaultfd (if every copy were closed, faults would be
 * served as zero pages: a silently corrupted guest) and its end of the
 * connection for the VM's life, and watches the connection on the VMM
 * thread's event loop: when the handler exits or closes it, the VM ends
 * with an error (exit status 1) instead of hanging on the next fault.
 */
#ifndef WISP_VMM_UFFD_H
#define WISP_VMM_UFFD_H

#include <stddef.h>
#include <stdint.h>

struct vm;
struct guest_mem;

/* The host mapping flags of guest RAM under the Uffd backend (Firecracker's). */
#define UFFD_GUEST_MAP_FLAGS (MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE)

/*
 * Serve vm->mem (already mapped with UFFD_GUEST_MAP_FLAGS, page-aligned
 * regions back to back in the memory file from offset 0) through the
 * handler listening at sock_path: create the userfaultfd (UFFDIO_API with
 * UFFD_FEATURE_EVENT_REMOVE), register every region for missing faults,
 * connect, send the handshake, and watch the connection on vm->loop.
 * On success vm->uffd is set; on error err names the path and the cause
 * and nothing is left behind.
 */
int uffd_attach(struct vm *vm, const char *sock_path, char *err, size_t errlen);

/*
 * A userfaultfd, non-blocking and close-on-exec like Firecracker's, able to
 * take kernel faults (KVM's): the userfaultfd(2) system call (needs
 * CAP_SYS_PTRACE or vm.unprivileged_userfaultfd=1), else /dev/userfaultfd
 * (Linux 6.1+; what a jail provides: docs/jailer.md). Returns the fd, or
 * -errno of userfaultfd(2) with /dev/userfaultfd's errno in *dev_errno.
 * Used by the Uffd backend and by working-set recording.
 */
int uffd_create(int *dev_errno);

/* Stop watching, close the connection and the userfaultfd (vm_destroy,
 * after guest memory is unmapped). A no-op when vm->uffd is NULL. */
void uffd_detach(struct vm *vm);

/* The handshake message for these regions (what uffd_attach sends), NUL-
 * terminated in buf: the JSON array Firecracker's handlers parse. Returns
 * its length, or -ENOSPC if buf is too small. Pure (unit-testable). */
int uffd_handshake_json(const struct guest_mem *mem, uint64_t page_size, char *buf,
			size_t len);

#endif
