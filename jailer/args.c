/* SPDX-License-Identifier: Apache-2.0 */
/*
 * args.c — wisp-jailer's command line, parsed the way Firecracker's
 * arg_parser does: long options only, each value in the next word (or after
 * '='), "--" ends the options and the rest goes to the exec file, --help and
 * --version win over everything else, and errors use Firecracker's texts.
 */
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "jailer.h"

#define PARSE_PREFIX "Failed to parse arguments: "

enum opt_kind { OPT_VALUE, OPT_FLAG, OPT_MULTI };

struct opt {
	const char *name;
	enum opt_kind kind;
	bool required;
};

/* Firecracker's jailer flags (its --help describes them; so does ours). */
static const struct opt opts[] = {
	{ "id", OPT_VALUE, true },
	{ "exec-file", OPT_VALUE, true },
	{ "uid", OPT_VALUE, true },
	{ "gid", OPT_VALUE, true },
	{ "chroot-base-dir", OPT_VALUE, false },
	{ "netns", OPT_VALUE, false },
	{ "daemonize", OPT_FLAG, false },
	{ "new-pid-ns", OPT_FLAG, false },
	{ "cgroup", OPT_MULTI, false },
	{ "resource-limit", OPT_MULTI, false },
	{ "cgroup-version", OPT_VALUE, false },
	{ "parent-cgroup", OPT_VALUE, false },
	{ "version", OPT_FLAG, false },
};
#define N_OPTS (sizeof(opts) / sizeof(opts[0]))

const char *jailer_usage(void)
{
	return
	"Required arguments:\n"
	"  --id <id>                    Jail ID: [a-zA-Z0-9-], 1 to 64 characters.\n"
	"  --exec-file <path>           File path to exec into (copied into the jail).\n"
	"  --uid <uid>                  The user identifier the jailer switches to after exec.\n"
	"  --gid <gid>                  The group identifier the jailer switches to after exec.\n"
	"\n"
	"Optional arguments:\n"
	"  --chroot-base-dir <dir>      The base folder where chroot jails are located.\n"
	"                               [default: \"/srv/jailer\"]\n"
	"  --netns <path>               Path to the network namespace this microVM should join.\n"
	"  --daemonize                  Daemonize the jailer before exec, by invoking setsid(),\n"
	"                               and redirecting the standard I/O file descriptors to\n"
	"                               /dev/null.\n"
	"  --new-pid-ns                 Exec into a new PID namespace.\n"
	"  --cgroup <file>=<value>      Cgroup and value to be set by the jailer (e.g\n"
	"                               cpu.shares=10). Can be used multiple times.\n"
	"  --cgroup-version <1|2>       Select the cgroup version used by the jailer.\n"
	"                               [default: \"1\"]\n"
	"  --parent-cgroup <path>       Parent cgroup in which the cgroup of this microvm will\n"
	"                               be placed. [default: the exec file's name]\n"
	"  --resource-limit <res>=<v>   Resource limit to be set by the jailer (e.g\n"
	"                               no-file=1024). Can be used multiple times. Resources:\n"
	"                                 fsize: the maximum size in bytes for files created\n"
	"                                 by the process.\n"
	"                                 no-file: one greater than the maximum file descriptor\n"
	"                                 number that can be opened by this process.\n"
	"                                 [default: no-file=2048]\n"
	"  --help, -h                   Show the help message.\n"
	"  --version                    Print the binary version number.\n";
}

static const struct opt *find_opt(const char *name, size_t len)
{
	for (size_t i = 0; i < N_OPTS; i++) {
		if (strlen(opts[i].name) == len && !strncmp(opts[i].name, name, len))
			return &opts[i];
	}
	return NULL;
}

static const char **value_slot(struct jailer_args *a, const char *name)
{
	if (!strcmp(name, "id")) return &a->id;
	if (!strcmp(name, "exec-file")) return &a->exec_file;
	if (!strcmp(name, "uid")) return &a->uid;
	if (!strcmp(name, "gid")) return &a->gid;
	if (!strcmp(name, "chroot-base-dir")) return &a->chroot_base;
	if (!strcmp(name, "netns")) return &a->netns;
	if (!strcmp(name, "cgroup-version")) return &a->cgroup_version;
	if (!strcmp(name, "parent-cgroup")) return &a->parent_cgroup;
	return NULL;
}

static bool *flag_slot(struct jailer_args *a, const char *name)
{
	if (!strcmp(name, "daemonize")) return &a->daemonize;
	if (!strcmp(name, "new-pid-ns")) return &a->new_pid_ns;
	if (!strcmp(name, "version")) return &a->version;
	return NULL;
}

int jailer_parse_args(int argc, char *const argv[], struct jailer_args *out)
{
	int end = argc;  /* index of "--", or argc */
	bool seen[N_OPTS] = { false };

	memset(out, 0, sizeof(*out));
	jailer_clear_error();

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--")) {
			end = i;
			break;
		}
	}
	out->extra = end < argc ? &argv[end + 1] : &argv[argc];
	out->n_extra = end < argc ? argc - end - 1 : 0;

	/* Firecracker: --help / -h, then --version, skip all other checks. */
	for (int i = 1; i < end; i++) {
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			out->help = true;
			return 0;
		}
	}
	for (int i = 1; i < end; i++) {
		if (!strcmp(argv[i], "--version")) {
			out->version = true;
			return 0;
		}
	}

	for (int i = 1; i < end; i++) {
		const char *arg = argv[i];
		const char *name, *eq, *val = NULL;
		const struct opt *o;
		size_t nlen;

		if (strncmp(arg, "--", 2) != 0)
			return jailer_set_error(EINVAL, PARSE_PREFIX "Found argument '%s' which "
						"wasn't expected, or isn't valid in this context.", arg);
		name = arg + 2;
		eq = strchr(name, '=');
		nlen = eq ? (size_t)(eq - name) : strlen(name);
		o = find_opt(name, nlen);
		if (!o)
			return jailer_set_error(EINVAL, PARSE_PREFIX "Found argument '%.*s' which "
						"wasn't expected, or isn't valid in this context.",
						(int)nlen, name);
		if (o->kind != OPT_MULTI && seen[o - opts])
			return jailer_set_error(EINVAL, PARSE_PREFIX "The argument '%s' was provided "
						"more than once.", o->name);
		seen[o - opts] = true;

		if (o->kind == OPT_FLAG) {
			if (eq)
				return jailer_set_error(EINVAL, PARSE_PREFIX "The argument '%s' does not "
							"take a value.", o->name);
			*flag_slot(out, o->name) = true;
			continue;
		}
		if (eq) {
			val = eq + 1;
		} else if (i + 1 < end && strncmp(argv[i + 1], "--", 2) != 0) {
			val = argv[++i];
		}
		if (!val)
			return jailer_set_error(EINVAL, PARSE_PREFIX "The argument '%s' requires a "
						"value, but none was supplied.", o->name);
		if (o->kind == OPT_MULTI) {
			bool cg = !strcmp(o->name, "cgroup");
			unsigned *n = cg ? &out->n_cgroups : &out->n_rlimits;

			if (*n >= JAILER_MAX_MULTI)
				return jailer_set_error(E2BIG, PARSE_PREFIX "The argument '%s' was "
							"provided more than %d times.", o->name,
							JAILER_MAX_MULTI);
			(cg ? out->cgroups : out->rlimits)[(*n)++] = val;
		} else {
			*value_slot(out, o->name) = val;
		}
	}

	for (size_t i = 0; i < N_OPTS; i++) {
		if (opts[i].required && !seen[i])
			return jailer_set_error(EINVAL, PARSE_PREFIX "Argument '%s' required, but "
						"not found.", opts[i].name);
	}
	if (!out->chroot_base)
		out->chroot_base = JAILER_DEFAULT_CHROOT_BASE;
	if (!out->cgroup_version)
		out->cgroup_version = JAILER_DEFAULT_CGROUP_VER;
	return 0;
}
