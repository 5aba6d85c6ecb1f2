/* SPDX-License-Identifier: Apache-2.0 */
/*
 * main.c — the wisp binary: command line (Firecracker's flags), logger,
 * configuration, then the VMM thread's event loop.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "api.h"
#include "snapshot.h"
#include "vm.h"
#include "vmm_ctl.h"

/* --version and --help: Firecracker's first line (its test framework matches
 * "^Firecracker v(.+)" on it, Kata's Go runtime takes its second word as the
 * version), a blank line, then what the binary really is (docs/api.md,
 * "Versions and names"). */
#define WISP_BANNER                                                                \
	"Firecracker v" WISP_FC_VERSION "\n\n"                                      \
	"wisp v" WISP_VERSION ", implementing the Firecracker v" WISP_FC_VERSION " API\n"

/* --snapshot-version: the state-file format version wisp writes, in
 * Firecracker's shape (v<semver>); --describe-snapshot prints a file's. */
#define WISP_SNAPSHOT_VERSION_FMT "v%u.%u.0"

static const char usage_text[] =
	WISP_BANNER
	"\n"
	"Usage: wisp [OPTIONS]\n"
	"\n"
	"wisp is a minimal micro-VM monitor for Linux/KVM, compatible with the\n"
	"Firecracker API, command line and configuration file.\n"
	"\n"
	"Options:\n"
	"  --api-sock PATH          Unix socket of the REST API (default " WISP_DEFAULT_API_SOCK ",\n"
	"                           whatever the binary is called; a path that\n"
	"                           already exists is refused)\n"
	"  --config-file PATH       boot a VM from this JSON document (the shape\n"
	"                           GET /vm/config returns)\n"
	"  --no-api                 no API socket; needs --config-file; wisp exits when\n"
	"                           the guest resets or stops\n"
	"  --id ID                  instance id shown in logs and GET / (default\n"
	"                           anonymous-instance)\n"
	"  --boot-timer             log Guest-boot-time when the guest writes 123 to\n"
	"                           the first MMIO page (0xc0000000)\n"
	"  --level LEVEL            log level: Error, Warning, Info, Debug, Trace, Off\n"
	"                           (default Info)\n"
	"  --log-path PATH          write logs to this file or named pipe (default stderr)\n"
	"  --show-level             print the level in each log line\n"
	"  --show-log-origin        print dir/file:line in each log line\n"
	"  --module PREFIX          log only lines whose origin starts with PREFIX\n"
	"                           (a source path such as virtio/; \"::\" reads as \"/\")\n"
	"  --metrics-path PATH      write metrics (JSON lines) to this file or named pipe\n"
	"  --no-seccomp             do not install seccomp filters (unsafe)\n"
	"  --seccomp-filter PATH    load seccomp filters: Firecracker's compiled file\n"
	"                           (seccompiler-bin output) or seccompiler JSON\n"
	"  --start-time-us US       process start time (CLOCK_MONOTONIC, set by the jailer)\n"
	"  --start-time-cpu-us US   CPU time used before exec (set by the jailer)\n"
	"  --parent-cpu-time-us US  CPU time of the jailer (accepted for compatibility)\n"
	"  --http-api-max-payload-size BYTES\n"
	"                           largest API request body (default 51200)\n"
	"  --describe-snapshot PATH print a snapshot state file's format version\n"
	"                           (v<semver>, first line) and what it holds (vCPUs,\n"
	"                           memory, devices, sections), and exit\n"
	"  --snapshot-version       print the snapshot format version this wisp\n"
	"                           writes (v<semver>) and exit\n"
	"  --version                print the version and exit\n"
	"  --help                   print this help and exit\n"
	"\n"
	"Exit status: 0 when the guest resets or shuts down (or on SIGTERM/SIGINT),\n"
	"1 on a runtime error, a guest crash (triple fault, emulation failure) or a\n"
	"refused --config-file, 152 for a malformed --seccomp-filter file, 153 for\n"
	"bad command-line arguments;\n"
	"as Firecracker after intercepting a signal: 148 a system call trapped by\n"
	"seccomp (SIGSYS), 149 SIGBUS, 150 SIGSEGV, 151 SIGXFSZ, 154 SIGXCPU,\n"
	"156 SIGHUP, 157 SIGILL.\n";

enum {
	OPT_API_SOCK = 256, OPT_CONFIG_FILE, OPT_NO_API, OPT_ID, OPT_BOOT_TIMER, OPT_LEVEL,
	OPT_LOG_PATH, OPT_SHOW_LEVEL, OPT_SHOW_ORIGIN, OPT_METRICS_PATH, OPT_NO_SECCOMP,
	OPT_SECCOMP_FILTER, OPT_START_US, OPT_START_CPU_US, OPT_PARENT_CPU_US,
	OPT_MAX_PAYLOAD, OPT_DESCRIBE_SNAPSHOT, OPT_VERSION, OPT_HELP, OPT_SNAPSHOT_VERSION,
	OPT_MODULE,
};

static const struct option long_opts[] = {
	{ "api-sock", required_argument, NULL, OPT_API_SOCK },
	{ "config-file", required_argument, NULL, OPT_CONFIG_FILE },
	{ "no-api", no_argument, NULL, OPT_NO_API },
	{ "id", required_argument, NULL, OPT_ID },
	{ "boot-timer", no_argument, NULL, OPT_BOOT_TIMER },
	{ "level", required_argument, NULL, OPT_LEVEL },
	{ "log-path", required_argument, NULL, OPT_LOG_PATH },
	{ "show-level", no_argument, NULL, OPT_SHOW_LEVEL },
	{ "show-log-origin", no_argument, NULL, OPT_SHOW_ORIGIN },
	{ "module", required_argument, NULL, OPT_MODULE },
	{ "metrics-path", required_argument, NULL, OPT_METRICS_PATH },
	{ "no-seccomp", no_argument, NULL, OPT_NO_SECCOMP },
	{ "seccomp-filter", required_argument, NULL, OPT_SECCOMP_FILTER },
	{ "start-time-us", required_argument, NULL, OPT_START_US },
	{ "start-time-cpu-us", required_argument, NULL, OPT_START_CPU_US },
	{ "parent-cpu-time-us", required_argument, NULL, OPT_PARENT_CPU_US },
	{ "http-api-max-payload-size", required_argument, NULL, OPT_MAX_PAYLOAD },
	{ "describe-snapshot", required_argument, NULL, OPT_DESCRIBE_SNAPSHOT },
	{ "version", no_argument, NULL, OPT_VERSION },
	{ "help", no_argument, NULL, OPT_HELP },
	{ "snapshot-version", no_argument, NULL, OPT_SNAPSHOT_VERSION },
	{ NULL, 0, NULL, 0 },
};

static uint64_t clock_us(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000000ULL + (uint64_t)ts.tv_nsec / 1000;
}

static int parse_u64(const char *flag, const char *s, uint64_t *out)
{
	char *end;

	errno = 0;
	*out = strtoull(s, &end, 10);
	if (errno || end == s || *end || s[0] == '-') {
		fprintf(stderr, "wisp: %s: '%s' is not a non-negative integer\n", flag, s);
		return -EINVAL;
	}
	return 0;
}

static int parse_args(int argc, char **argv, struct wisp_args *a)
{
	enum log_level lvl;
	int c;

	memset(a, 0, sizeof(*a));
	snprintf(a->api_sock, sizeof(a->api_sock), "%s", WISP_DEFAULT_API_SOCK);
	snprintf(a->id, sizeof(a->id), "anonymous-instance");
	a->level = LOG_INFO;
	a->max_payload = 51200;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "", long_opts, NULL)) != -1) {
		switch (c) {
		case OPT_API_SOCK:
			if (strlen(optarg) >= sizeof(a->api_sock)) {
				fprintf(stderr, "wisp: --api-sock: path too long\n");
				return -EINVAL;
			}
			snprintf(a->api_sock, sizeof(a->api_sock), "%s", optarg);
			a->api_sock_given = true;
			break;
		case OPT_CONFIG_FILE:
			a->config_file = optarg;
			break;
		case OPT_NO_API:
			a->no_api = true;
			break;
		case OPT_ID: {
			size_t n = strlen(optarg);

			if (n == 0 || n > VM_ID_MAX || strspn(optarg,
			    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-") != n) {
				fprintf(stderr, "wisp: --id: '%s' must be 1 to %d characters of "
					"[a-zA-Z0-9-]\n", optarg, VM_ID_MAX);
				return -EINVAL;
			}
			snprintf(a->id, sizeof(a->id), "%s", optarg);
			break;
		}
		case OPT_BOOT_TIMER:
			a->boot_timer = true;
			break;
		case OPT_LEVEL:
			if (log_level_parse(optarg, &lvl) < 0) {
				fprintf(stderr, "wisp: --level: '%s' is not one of Error, Warning, "
					"Info, Debug, Trace, Off\n", optarg);
				return -EINVAL;
			}
			a->level = lvl;
			break;
		case OPT_LOG_PATH:
			a->log_path = optarg;
			break;
		case OPT_SHOW_LEVEL:
			a->show_level = true;
			break;
		case OPT_SHOW_ORIGIN:
			a->show_origin = true;
			break;
		case OPT_MODULE:   /* Firecracker's logger module filter */
			log_set_module(optarg);
			break;
		case OPT_METRICS_PATH:
			a->metrics_path = optarg;
			break;
		case OPT_NO_SECCOMP:
			a->no_seccomp = true;
			break;
		case OPT_SECCOMP_FILTER:
			a->seccomp_filter = optarg;
			break;
		case OPT_START_US:
			if (parse_u64("--start-time-us", optarg, &a->start_us) < 0)
				return -EINVAL;
			a->start_us_given = true;
			break;
		case OPT_START_CPU_US:
			if (parse_u64("--start-time-cpu-us", optarg, &a->start_cpu_us) < 0)
				return -EINVAL;
			a->start_cpu_us_given = true;
			break;
		case OPT_PARENT_CPU_US: {
			uint64_t ignored;

			if (parse_u64("--parent-cpu-time-us", optarg, &ignored) < 0)
				return -EINVAL;
			break;
		}
		case OPT_MAX_PAYLOAD:
			if (parse_u64("--http-api-max-payload-size", optarg, &a->max_payload) < 0)
				return -EINVAL;
			if (a->max_payload == 0 || a->max_payload > (16u << 20)) {
				fprintf(stderr, "wisp: --http-api-max-payload-size: must be 1..16777216\n");
				return -EINVAL;
			}
			break;
		case OPT_DESCRIBE_SNAPSHOT:
			a->describe_snapshot = optarg;
			break;
		case OPT_VERSION:
			a->version = true;
			break;
		case OPT_HELP:
			a->help = true;
			break;
		case OPT_SNAPSHOT_VERSION:
			a->snapshot_version = true;
			break;
		case '?':
		default:
			if (optopt)
				fprintf(stderr, "wisp: option needs a value or is unknown: %s\n",
					argv[optind - 1]);
			else
				fprintf(stderr, "wisp: unknown option: %s\n", argv[optind - 1]);
			fprintf(stderr, "Try 'wisp --help'.\n");
			return -EINVAL;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "wisp: unexpected argument: %s\nTry 'wisp --help'.\n", argv[optind]);
		return -EINVAL;
	}
	if (a->no_api && !a->config_file) {
		fprintf(stderr, "wisp: --no-api needs --config-file\n");
		return -EINVAL;
	}
	if (a->no_api && a->api_sock_given) {
		fprintf(stderr, "wisp: --no-api and --api-sock exclude each other\n");
		return -EINVAL;
	}
	if (a->no_seccomp && a->seccomp_filter) {
		fprintf(stderr, "wisp: --no-seccomp and --seccomp-filter exclude each other\n");
		return -EINVAL;
	}
	return 0;
}

/* --describe-snapshot: 0 when the file is a valid state file, else 1 with
 * the reason on stderr. */
static int describe_snapshot(const char *path)
{
	struct snap_file f;
	uint8_t *buf;
	size_t len;
	char err[600];

	if (snap_read_file(path, &buf, &len, err, sizeof(err)) < 0 ||
	    snap_parse(buf, len, &f, err, sizeof(err)) < 0) {
		fprintf(stderr, "wisp: --describe-snapshot: %s\n", err);
		if (buf)
			free(buf);
		return WISP_EXIT_ERROR;
	}
	/* Firecracker prints only "v<version>"; wisp adds what the file holds. */
	printf(WISP_SNAPSHOT_VERSION_FMT "\n\n%s\n", f.major, f.minor, path);
	snap_describe(&f, stdout);
	snap_file_free(&f);
	free(buf);
	return 0;
}

/* ---------------- terminal ---------------- */
static struct termios saved_tio;
static bool tio_saved;

static void restore_terminal(void)
{
	if (tio_saved)
		tcsetattr(STDIN_FILENO, TCSANOW, &saved_tio);
	tio_saved = false;
}

/* Raw input for the guest console; ISIG stays on so Ctrl-C stops wisp. */
static void setup_terminal(void)
{
	struct termios tio;

	if (!isatty(STDIN_FILENO) || tcgetattr(STDIN_FILENO, &saved_tio) < 0)
		return;
	tio = saved_tio;
	tio.c_lflag &= ~(tcflag_t)(ICANON | ECHO | ECHONL | IEXTEN);
	tio.c_iflag &= ~(tcflag_t)(ICRNL | INLCR | IGNCR | IXON);
	tio.c_cc[VMIN] = 1;
	tio.c_cc[VTIME] = 0;
	if (tcsetattr(STDIN_FILENO, TCSANOW, &tio) == 0) {
		tio_saved = true;
		atexit(restore_terminal);
	}
}

int main(int argc, char **argv)
{
	struct wisp_args args;
	uint64_t start_us = clock_us(CLOCK_MONOTONIC);
	uint64_t start_cpu_us = clock_us(CLOCK_PROCESS_CPUTIME_ID);
	int code;

	if (parse_args(argc, argv, &args) < 0) {
		log_error("Firecracker exiting with error. exit_code=%d", WISP_EXIT_ARG_PARSING);
		return WISP_EXIT_ARG_PARSING;
	}
	/* Firecracker's order: --help, --version, --snapshot-version,
	 * --describe-snapshot. */
	if (args.help) {
		fputs(usage_text, stdout);
		return 0;
	}
	if (args.version) {
		fputs(WISP_BANNER, stdout);
		return 0;
	}
	if (args.snapshot_version) {
		printf(WISP_SNAPSHOT_VERSION_FMT "\n", SNAP_VERSION_MAJOR, SNAP_VERSION_MINOR);
		return 0;
	}
	if (args.describe_snapshot)
		return describe_snapshot(args.describe_snapshot);
	if (!args.start_us_given)
		args.start_us = start_us;
	if (!args.start_cpu_us_given)
		args.start_cpu_us = start_cpu_us;

	log_set_id(args.id);
	log_set_level(args.level);
	log_set_format(args.show_level, args.show_origin);
	if (args.log_path && log_set_path(args.log_path) < 0) {
		fprintf(stderr, "wisp: --log-path: cannot open %s: %s\n", args.log_path,
			strerror(errno));
		return WISP_EXIT_ARG_PARSING;
	}
	/* Firecracker's first line (info level, never rate-limited), which its
	 * test framework waits for with --no-api. */
	log_info("Running Firecracker v" WISP_FC_VERSION " (wisp v" WISP_VERSION ")");
	setup_terminal();
	code = vmm_run(&args);
	restore_terminal();
	/* Firecracker's last line; its framework reads the exit code from it. */
	if (code == 0)
		log_info("Firecracker exiting successfully. exit_code=0");
	else
		log_error("Firecracker exiting with error. exit_code=%d", code);
	return code;
}
