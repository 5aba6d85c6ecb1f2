/* SPDX-License-Identifier: Apache-2.0 */
/*
 * harness.h — integration-test helpers: spawn build/wisp (or any program)
 * with pipes, wait for output lines with a timeout, send input and signals,
 * collect the exit status. Used by the Check programs in this directory.
 */
#ifndef WISP_TEST_HARNESS_H
#define WISP_TEST_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/resource.h>
#include <sys/types.h>

struct strbuf {
	char *data;
	size_t len, cap;
};

struct proc {
	pid_t pid;
	int in_fd, out_fd, err_fd;   /* -1 once closed */
	struct strbuf out, err;      /* everything read so far */
	bool exited;
	int status;                  /* exit code, or 128+signal */
	struct rusage ru;            /* resources used, once exited */
};

/* Path of a file in the build directory (WISP_BUILD_DIR, set by ctest). */
const char *build_path(const char *name);
/* A fresh temporary directory for this test, removed by tmpdir_cleanup(). */
const char *tmpdir_make(void);
void tmpdir_cleanup(void);
/* Write `text` to <tmpdir>/<name>; returns the path (static storage per call
 * is not kept: copy it). */
char *write_tmp_file(const char *name, const char *text);
/* The same with len bytes of data (any content). */
char *write_tmp_data(const char *name, const void *data, size_t len);
/* The whole file at path in a malloc'd buffer, its size in *len; NULL if
 * it cannot be read. */
/* The file's bytes (*len of them) followed by a NUL; NULL if unreadable. */
void *read_whole_file(const char *path, size_t *len);

int proc_spawn(struct proc *p, char *const argv[]);
/* Read output until `needle` appears in stdout or stderr (returns true) or
 * the process exits / timeout_ms passes (false). */
bool proc_wait_for(struct proc *p, const char *needle, int timeout_ms);
int proc_send(struct proc *p, const void *data, size_t len);
void proc_close_stdin(struct proc *p);
void proc_signal(struct proc *p, int sig);
/* Wait for exit (reading output meanwhile); on timeout kill -9 and return
 * false. p->status holds the result. */
bool proc_finish(struct proc *p, int timeout_ms);
void proc_free(struct proc *p);

/* Run to completion with stdin closed. */
bool proc_run(struct proc *p, char *const argv[], int timeout_ms);

/* Run build/wisp --no-api --config-file cfg [flag] (flag may be NULL) to
 * completion with stdin closed; false if it did not exit within timeout_ms
 * (it was killed). p holds the result either way. */
bool wisp_run_config(struct proc *p, const char *cfg, const char *flag, int timeout_ms);
/* Write doc to <tmpdir>/<name>, then wisp_run_config() with that file. */
bool wisp_run_doc(struct proc *p, const char *name, const char *doc, const char *flag,
		  int timeout_ms);
/* Start build/wisp --no-api --config-file cfg; its stdin stays open.
 * 0 or -errno. */
int wisp_spawn_config(struct proc *p, const char *cfg);

/* Boot the test guest with `boot_args` through --config-file (1 vCPU unless
 * json_machine gives a machine-config object), with extra wisp arguments. */
char *guest_config(const char *boot_args, const char *machine_json, const char *extra_json);

/* Count occurrences of a substring. */
int count_substr(const char *hay, const char *needle);

/* Check assertions on a finished struct proc *p (the test includes
 * <check.h> and <string.h>; name is a string literal). */

/* No sanitizer report (ASan, LSan, UBSan) in stderr. */
#define ASSERT_CLEAN(p)                                                                        \
	ck_assert_msg(!strstr((p)->err.data, "AddressSanitizer") &&                               \
		      !strstr((p)->err.data, "LeakSanitizer") &&                                  \
		      !strstr((p)->err.data, "runtime error"),                                    \
		      "sanitizer report:\n%s", (p)->err.data)

/* The guest's scenario `name` reported PASS and wisp exited 0. */
#define ASSERT_SCENARIO_PASSED(p, name)                                                        \
	ck_assert_msg(strstr((p)->out.data, "WTEST " name " PASS") && (p)->status == 0,           \
		      "scenario " name ": status %d\nstdout:\n%s\nstderr:\n%s", (p)->status,     \
		      (p)->out.data, (p)->err.data)

/* That, with exactly one result line of the scenario and no sanitizer report. */
#define ASSERT_PASS(p, name)                                                                   \
	do {                                                                                   \
		ASSERT_SCENARIO_PASSED(p, name);                                               \
		ck_assert_int_eq(count_substr((p)->out.data, "WTEST " name " "), 1);             \
		ASSERT_CLEAN(p);                                                               \
	} while (0)

#endif
