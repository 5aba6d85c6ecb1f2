/* SPDX-License-Identifier: Apache-2.0 */
/*
 * jailer.h — the public interface of wisp-jailer.
 *
 * wisp-jailer follows Firecracker's jailer: same flags, same defaults, same
 * order of operations and (where a platform may match on them) the same
 * error texts. See docs/jailer.md.
 *
 * The pure parts (argument parsing and validation, path building, cgroup and
 * rlimit parsing, the coarse seccomp filter) live in the wisp_jailer_core
 * library and are unit-tested; the steps that change the system (jail tree,
 * cgroups, mount namespace, privileges, exec) live in the wisp-jailer binary.
 *
 * Conventions: functions return 0 (or a count) on success and a negative
 * errno on failure; the cause is recorded once with jailer_set_error() and
 * read back with jailer_last_error() (the binary prints it and exits 1).
 */
#ifndef WISP_JAILER_H
#define WISP_JAILER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <seccomp.h>

#define JAILER_DEFAULT_CHROOT_BASE  "/srv/jailer"
/* Firecracker's binary name: a second pid file "firecracker.pid" is written
 * when the exec file has another name (Kata's Go runtime reads that one). */
#define JAILER_FC_EXEC_NAME         "firecracker"
#define JAILER_DEFAULT_CGROUP_VER   "1"
#define JAILER_DEFAULT_NO_FILE      2048
#define JAILER_PROC_MOUNTS          "/proc/mounts"
#define JAILER_ID_MIN               1
#define JAILER_ID_MAX               64
#define JAILER_MAX_MULTI            64   /* --cgroup / --resource-limit occurrences */
#define JAILER_PATH_MAX             4096
#define JAILER_ERR_MAX              1024

/* ------------------------------------------------------------------ */
/* Errors                                                              */
/* ------------------------------------------------------------------ */
/* Record the cause of a failure (printf-style) and return -err (err > 0). */
int jailer_set_error(int err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The last recorded cause ("" if none). */
const char *jailer_last_error(void);
void jailer_clear_error(void);

/* ------------------------------------------------------------------ */
/* Command line (args.c): raw, pure parsing                            */
/* ------------------------------------------------------------------ */
struct jailer_args {
	const char *id;
	const char *exec_file;
	const char *uid;
	const char *gid;
	const char *chroot_base;     /* default JAILER_DEFAULT_CHROOT_BASE */
	const char *netns;           /* NULL if absent */
	const char *cgroup_version;  /* default "1" */
	const char *parent_cgroup;   /* NULL: the exec file's name */
	bool daemonize;
	bool new_pid_ns;
	bool help;
	bool version;
	const char *cgroups[JAILER_MAX_MULTI];
	unsigned n_cgroups;
	const char *rlimits[JAILER_MAX_MULTI];
	unsigned n_rlimits;
	char *const *extra;          /* arguments after "--", for the exec file */
	int n_extra;
};

/* Parse argv (argv[0] is the program name). Accepts "--flag value" and
 * "--flag=value". --help / -h / --version short-circuit the rest, as in
 * Firecracker. Errors (Firecracker's texts, prefixed "Failed to parse
 * arguments: "): unexpected argument, missing value, duplicate argument,
 * missing required argument. */
int jailer_parse_args(int argc, char *const argv[], struct jailer_args *out);
/* The --help text (without the "Jailer v..." banner). */
const char *jailer_usage(void);

/* ------------------------------------------------------------------ */
/* Field validation (validate.c): pure                                 */
/* ------------------------------------------------------------------ */
/* [a-zA-Z0-9-], length 1..64. "Invalid instance ID: Invalid len (0);  the
 * length must be between 1 and 64" / "Invalid instance ID: Invalid char (_)
 * at position 2". */
int jailer_validate_id(const char *id);
/* Decimal u32, not 4294967295 (that value means "unchanged" to setresuid).
 * what is "uid" or "gid": "Invalid uid: abc". */
int jailer_parse_id_number(const char *what, const char *s, uint32_t *out);
/* "1" or "2": "<v> is an invalid cgroup version specifier". */
int jailer_parse_cgroup_version(const char *s, int *out);
/* Relative, no "." / ".." components, no empty components. */
int jailer_validate_parent_cgroup(const char *path);

/* ------------------------------------------------------------------ */
/* Paths (paths.c): pure                                               */
/* ------------------------------------------------------------------ */
/* Last component of a canonical path ("/usr/bin/wisp" -> "wisp"). */
int jailer_exec_name(const char *canon_path, char *out, size_t len);
/* "<base>/<exec_name>/<id>/root" (base without trailing '/'). */
int jailer_chroot_path(const char *base, const char *exec_name, const char *id,
		       char *out, size_t len);
/* "<dir>/<a>" checked for length; used for every path the jailer builds. */
int jailer_path_join(char *out, size_t len, const char *dir, const char *name);

/* ------------------------------------------------------------------ */
/* cgroups (cgroup_parse.c): pure                                      */
/* ------------------------------------------------------------------ */
#define JAILER_CG_FILE_MAX   128
#define JAILER_CG_VALUE_MAX  512
#define JAILER_CG_MOUNTS_MAX 64

struct jailer_cgroup_prop {
	char file[JAILER_CG_FILE_MAX];        /* "cpu.shares" */
	char controller[JAILER_CG_FILE_MAX];  /* "cpu" */
	char value[JAILER_CG_VALUE_MAX];      /* "2" */
};

/* "<file>=<value>": exactly one '=', non-empty value ("Invalid format for
 * cgroups: X"); file is "<controller>.<property>" made of [A-Za-z0-9._-],
 * no "/" ("Cgroup invalid file: X"). */
int jailer_parse_cgroup_arg(const char *arg, struct jailer_cgroup_prop *out);

struct jailer_cgroup_mount {
	char dir[JAILER_PATH_MAX];
	char options[1024];      /* mount options; v1 controllers are among them */
	int version;             /* 1 (fstype cgroup) or 2 (cgroup2) */
};

struct jailer_cgroup_mounts {
	unsigned n;
	struct jailer_cgroup_mount m[JAILER_CG_MOUNTS_MAX];
};

/* Parse the text of /proc/mounts (octal escapes such as \040 decoded),
 * keeping cgroup and cgroup2 mounts. Returns the number kept. */
int jailer_cgroup_mounts_parse(const char *text, struct jailer_cgroup_mounts *out);
/* Mount dir of the v1 hierarchy carrying controller, or NULL. */
const char *jailer_cgroup_v1_dir(const struct jailer_cgroup_mounts *m, const char *controller);
/* The (first) cgroup2 mount dir, or NULL. */
const char *jailer_cgroup_v2_dir(const struct jailer_cgroup_mounts *m);
/* Is name one of the space-separated words of list (cgroup.controllers)? */
bool jailer_word_in_list(const char *list, const char *name);
/* The cgroup the process is in, from the text of /proc/self/cgroup: for
 * version 2 the "0::<path>" line, for version 1 the line whose controller
 * list (comma-separated, e.g. "cpu,cpuacct" or "name=systemd") holds
 * controller. out gets the path ("/" or "/a/b"), relative to the hierarchy's
 * root. -ENOENT if no such line, -EINVAL if malformed or too long. Used to
 * move a failed jailer back before it removes the cgroups it made. */
int jailer_cgroup_self_path(const char *text, int version, const char *controller,
			    char *out, size_t len);

/* ------------------------------------------------------------------ */
/* Resource limits (rlimit.c): pure parsing                            */
/* ------------------------------------------------------------------ */
struct jailer_rlimits {
	bool has_fsize;
	uint64_t fsize;     /* RLIMIT_FSIZE, bytes */
	uint64_t no_file;   /* RLIMIT_NOFILE, default 2048 */
};

void jailer_rlimits_init(struct jailer_rlimits *rl);
/* "fsize=<u64>" or "no-file=<u64>". Errors: "Invalid format for resources
 * limits: X", "Invalid resource argument: X", "Invalid limit value for
 * resource: V: invalid digit found in string". */
int jailer_parse_rlimit(const char *arg, struct jailer_rlimits *rl);

/* ------------------------------------------------------------------ */
/* Coarse seccomp filter (seccomp_filter.c)                            */
/* ------------------------------------------------------------------ */
struct jailer_denied_syscall {
	const char *name;
	const char *why;
};
/* One allow rule of the jailer's filter: the system call is allowed when
 * all of its (at most two) argument comparisons hold; several rules for the
 * same call are alternatives. docs/jailer.md lists the same table. */
struct jailer_allowed_syscall {
	const char *name;
	const char *cond;       /* the comparisons in words; NULL: any arguments */
	const char *why;
	const char *phase;      /* "start" (exec .. wisp's own filters), "run", or both */
	unsigned ncmp;
	struct scmp_arg_cmp cmp[2];
};
/* An ioctl request number the filter lets through (ioctl's only rules). */
struct jailer_allowed_ioctl {
	unsigned long req;
	const char *name;
	const char *phase;
};
/* The allow-list: what wisp needs from exec until its per-thread filters
 * are in place, plus the union of those filters (vmm/seccomp/seccomp.c). */
extern const struct jailer_allowed_syscall jailer_allowed_syscalls[];
extern const size_t jailer_n_allowed_syscalls;
extern const struct jailer_allowed_ioctl jailer_allowed_ioctls[];
extern const size_t jailer_n_allowed_ioctls;
/* Calls that must never be in the allow-list (escape, other processes,
 * kernel code, host-wide state): not allowed, so killed by the default
 * action. Kept as a list so a test can prove it. */
extern const struct jailer_denied_syscall jailer_denied_syscalls[];
extern const size_t jailer_n_denied_syscalls;
/* Signals: allowed only with the calling process's own pid (getpid() when
 * the filter is built) as first argument, else kill-process. */
extern const struct jailer_denied_syscall jailer_self_only_syscalls[];
extern const size_t jailer_n_self_only_syscalls;

/* Build (not load) the jailer's filter: default action kill-process; allow
 * rules for jailer_allowed_syscalls, jailer_allowed_ioctls and the
 * self-only signal calls (towards getpid() only); clone only for threads
 * (CLONE_VM|CLONE_THREAD, no CLONE_NEW* flag); clone3 fails with ENOSYS
 * (its flags are behind a pointer; libc falls back to clone); other
 * architectures are killed. On success *out owns the context
 * (seccomp_release it). */
int jailer_seccomp_build(scmp_filter_ctx *out);

/* ------------------------------------------------------------------ */
/* Validated configuration (config.c): reads the filesystem, changes   */
/* nothing                                                             */
/* ------------------------------------------------------------------ */
struct jailer_cgroup_dir {
	char path[JAILER_PATH_MAX];   /* <mount>/<parent>/<id> */
	char mount[JAILER_PATH_MAX];  /* hierarchy root it lives in */
};

struct jailer_config {
	char id[JAILER_ID_MAX + 1];
	char exec_path[JAILER_PATH_MAX];   /* canonical */
	char exec_name[256];
	char chroot_base[JAILER_PATH_MAX]; /* canonical */
	char chroot_dir[JAILER_PATH_MAX];  /* <base>/<exec_name>/<id>/root */
	uid_t uid;
	gid_t gid;
	char netns[JAILER_PATH_MAX];       /* "" if none */
	int netns_fd;                      /* open O_RDONLY|O_CLOEXEC, or -1 */
	bool daemonize;
	bool new_pid_ns;
	int cgroup_version;
	char parent_cgroup[JAILER_PATH_MAX];
	unsigned n_props;
	struct jailer_cgroup_prop props[JAILER_MAX_MULTI];
	/* Per property: index into cg_dirs of the directory it is written in. */
	unsigned prop_dir[JAILER_MAX_MULTI];
	unsigned n_cg_dirs;                /* distinct cgroup directories */
	struct jailer_cgroup_dir cg_dirs[JAILER_MAX_MULTI];
	/* v2 without --cgroup: the existing <unified>/<parent> to move into
	 * ("" if none), as Firecracker does. */
	char cg_move_to[JAILER_PATH_MAX];
	char cg_move_mount[JAILER_PATH_MAX];  /* the cgroup2 mount cg_move_to is in */
	struct jailer_rlimits rlimits;
	char *const *extra;
	int n_extra;
	uint64_t start_time_us;            /* CLOCK_MONOTONIC at start */
	uint64_t start_time_cpu_us;        /* process CPU time at start */
};

/* Validate every argument and resolve paths, in Firecracker's order: id,
 * exec file (canonical, a regular file), chroot base (canonical, a
 * directory), uid, gid, netns (opened, so it exists), parent cgroup, cgroup
 * version, cgroups (hierarchies found in proc_mounts, controllers available),
 * resource limits. Nothing is created. cfg->netns_fd must be closed by the
 * caller (jailer_config_release). */
int jailer_config_build(const struct jailer_args *args, const char *proc_mounts,
			struct jailer_config *cfg);
void jailer_config_release(struct jailer_config *cfg);

/* ------------------------------------------------------------------ */
/* End-to-end hook                                                     */
/* ------------------------------------------------------------------ */
/* The jailed binary's argv as the jailer builds it:
 *   /<exec_name> --id <id> --start-time-us <t> --start-time-cpu-us <c>
 *                --parent-cpu-time-us <p> <extra...>
 * out must hold 10 + n_extra pointers; strings live in buf. Returns argc. */
int jailer_exec_argv(const struct jailer_config *cfg, uint64_t start_cpu_us,
		     uint64_t parent_cpu_us, char *buf, size_t buflen,
		     char **out, size_t out_len);

#endif /* WISP_JAILER_H */
