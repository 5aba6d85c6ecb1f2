/* SPDX-License-Identifier: Apache-2.0 */
/*
 * os_error.c — the text of an errno as Firecracker's jailer prints it.
 *
 * Firecracker's jailer is a Rust program linked against musl: an io::Error
 * prints "<musl strerror> (os error <n>)", and Firecracker's tests match
 * those texts ("Resource busy (os error 16)", "No file descriptors available
 * (os error 24)"), which differ from glibc's ("Device or resource busy",
 * "Too many open files"). wisp-jailer is linked against glibc, so the
 * texts are kept here, as the jailer's interface: musl's message for each
 * Linux errno, glibc's strerror() only for a number musl has no text for.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "jailer.h"
#include "jailer_int.h"

struct errtext {
	int err;
	const char *text;
};

/* musl 1.2's messages (src/errno/__strerror.h), by Linux errno. */
static const struct errtext musl_texts[] = {
	{ EILSEQ, "Illegal byte sequence" },
	{ EDOM, "Domain error" },
	{ ERANGE, "Result not representable" },
	{ ENOTTY, "Not a tty" },
	{ EACCES, "Permission denied" },
	{ EPERM, "Operation not permitted" },
	{ ENOENT, "No such file or directory" },
	{ ESRCH, "No such process" },
	{ EEXIST, "File exists" },
	{ EOVERFLOW, "Value too large for data type" },
	{ ENOSPC, "No space left on device" },
	{ ENOMEM, "Out of memory" },
	{ EBUSY, "Resource busy" },
	{ EINTR, "Interrupted system call" },
	{ EAGAIN, "Resource temporarily unavailable" },
	{ ESPIPE, "Invalid seek" },
	{ EXDEV, "Cross-device link" },
	{ EROFS, "Read-only file system" },
	{ ENOTEMPTY, "Directory not empty" },
	{ ECONNRESET, "Connection reset by peer" },
	{ ETIMEDOUT, "Operation timed out" },
	{ ECONNREFUSED, "Connection refused" },
	{ EHOSTDOWN, "Host is down" },
	{ EHOSTUNREACH, "Host is unreachable" },
	{ EADDRINUSE, "Address in use" },
	{ EPIPE, "Broken pipe" },
	{ EIO, "I/O error" },
	{ ENXIO, "No such device or address" },
	{ ENOTBLK, "Block device required" },
	{ ENODEV, "No such device" },
	{ ENOTDIR, "Not a directory" },
	{ EISDIR, "Is a directory" },
	{ ETXTBSY, "Text file busy" },
	{ ENOEXEC, "Exec format error" },
	{ EINVAL, "Invalid argument" },
	{ E2BIG, "Argument list too long" },
	{ ELOOP, "Symbolic link loop" },
	{ ENAMETOOLONG, "Filename too long" },
	{ ENFILE, "Too many open files in system" },
	{ EMFILE, "No file descriptors available" },
	{ EBADF, "Bad file descriptor" },
	{ ECHILD, "No child process" },
	{ EFAULT, "Bad address" },
	{ EFBIG, "File too large" },
	{ EMLINK, "Too many links" },
	{ ENOLCK, "No locks available" },
	{ EDEADLK, "Resource deadlock would occur" },
	{ ENOTRECOVERABLE, "State not recoverable" },
	{ EOWNERDEAD, "Previous owner died" },
	{ ECANCELED, "Operation canceled" },
	{ ENOSYS, "Function not implemented" },
	{ ENOMSG, "No message of desired type" },
	{ EIDRM, "Identifier removed" },
	{ ENOSTR, "Device not a stream" },
	{ ENODATA, "No data available" },
	{ ETIME, "Device timeout" },
	{ ENOSR, "Out of streams resources" },
	{ ENOLINK, "Link has been severed" },
	{ EPROTO, "Protocol error" },
	{ EBADMSG, "Bad message" },
	{ EBADFD, "File descriptor in bad state" },
	{ ENOTSOCK, "Not a socket" },
	{ EDESTADDRREQ, "Destination address required" },
	{ EMSGSIZE, "Message too large" },
	{ EPROTOTYPE, "Protocol wrong type for socket" },
	{ ENOPROTOOPT, "Protocol not available" },
	{ EPROTONOSUPPORT, "Protocol not supported" },
	{ ESOCKTNOSUPPORT, "Socket type not supported" },
	{ EOPNOTSUPP, "Not supported" },
	{ EPFNOSUPPORT, "Protocol family not supported" },
	{ EAFNOSUPPORT, "Address family not supported by protocol" },
	{ EADDRNOTAVAIL, "Address not available" },
	{ ENETDOWN, "Network is down" },
	{ ENETUNREACH, "Network unreachable" },
	{ ENETRESET, "Connection reset by network" },
	{ ECONNABORTED, "Connection aborted" },
	{ ENOBUFS, "No buffer space available" },
	{ EISCONN, "Socket is connected" },
	{ ENOTCONN, "Socket not connected" },
	{ ESHUTDOWN, "Cannot send after socket shutdown" },
	{ EALREADY, "Operation already in progress" },
	{ EINPROGRESS, "Operation in progress" },
	{ ESTALE, "Stale file handle" },
	{ EUCLEAN, "Data consistency error" },
	{ ENAVAIL, "Resource not available" },
	{ EREMOTEIO, "Remote I/O error" },
	{ EDQUOT, "Quota exceeded" },
	{ ENOMEDIUM, "No medium found" },
	{ EMEDIUMTYPE, "Wrong medium type" },
	{ EMULTIHOP, "Multihop attempted" },
	{ ENOKEY, "Required key not available" },
	{ EKEYEXPIRED, "Key has expired" },
	{ EKEYREVOKED, "Key has been revoked" },
	{ EKEYREJECTED, "Key was rejected by service" },
};

const char *jailer_strerror(int err)
{
	if (err < 0)
		err = -err;
	for (size_t i = 0; i < sizeof(musl_texts) / sizeof(musl_texts[0]); i++) {
		if (musl_texts[i].err == err)
			return musl_texts[i].text;
	}
	return strerror(err);
}

const char *jailer_os_error(int err)
{
	static char buf[160];

	if (err < 0)
		err = -err;
	snprintf(buf, sizeof(buf), "%s (os error %d)", jailer_strerror(err), err);
	return buf;
}
