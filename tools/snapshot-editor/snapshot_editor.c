/* SPDX-License-Identifier: Apache-2.0 */
/*
 * snapshot_editor.c — wisp-snapshot-editor: offline edits of snapshot
 * files, with the command line of Firecracker's snapshot-editor:
 *
 *   wisp-snapshot-editor edit-memory rebase --memory-path BASE --diff-path DIFF
 *       apply a Diff snapshot's memory file onto the memory file it was
 *       taken after (in place), so that BASE becomes a full memory file of
 *       the Diff's moment;
 *   wisp-snapshot-editor info-vmstate version --vmstate-path STATE
 *       print the state file's format version.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "snapshot.h"

static const char usage[] =
	"Usage:\n"
	"  wisp-snapshot-editor edit-memory rebase --memory-path BASE --diff-path DIFF\n"
	"      apply the Diff snapshot memory file DIFF onto BASE, in place\n"
	"  wisp-snapshot-editor info-vmstate version --vmstate-path STATE\n"
	"      print the format version of the snapshot state file STATE\n"
	"  wisp-snapshot-editor --help\n";

/* The value of --name in argv[from..], or NULL. */
static const char *opt(int argc, char **argv, int from, const char *name)
{
	for (int i = from; i + 1 < argc; i++)
		if (strcmp(argv[i], name) == 0)
			return argv[i + 1];
	return NULL;
}

static int rebase(int argc, char **argv)
{
	const char *base = opt(argc, argv, 3, "--memory-path");
	const char *diff = opt(argc, argv, 3, "--diff-path");
	char err[600];

	if (!base || !diff || argc != 7) {
		fputs(usage, stderr);
		return 2;
	}
	if (snap_mem_rebase(base, diff, err, sizeof(err)) < 0) {
		fprintf(stderr, "wisp-snapshot-editor: %s\n", err);
		return 1;
	}
	return 0;
}

static int version(int argc, char **argv)
{
	const char *path = opt(argc, argv, 3, "--vmstate-path");
	struct snap_file f;
	uint8_t *buf = NULL;
	size_t len;
	char err[600];

	if (!path || argc != 5) {
		fputs(usage, stderr);
		return 2;
	}
	if (snap_read_file(path, &buf, &len, err, sizeof(err)) < 0 ||
	    snap_parse(buf, len, &f, err, sizeof(err)) < 0) {
		fprintf(stderr, "wisp-snapshot-editor: %s\n", err);
		free(buf);
		return 1;
	}
	printf("v%u.%u\n", f.major, f.minor);
	snap_file_free(&f);
	free(buf);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		fputs(usage, stdout);
		return 0;
	}
	if (argc >= 3 && strcmp(argv[1], "edit-memory") == 0 && strcmp(argv[2], "rebase") == 0)
		return rebase(argc, argv);
	if (argc >= 3 && strcmp(argv[1], "info-vmstate") == 0 && strcmp(argv[2], "version") == 0)
		return version(argc, argv);
	fputs(usage, stderr);
	return 2;
}
