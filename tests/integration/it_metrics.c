/* SPDX-License-Identifier: Apache-2.0 */
/* it_metrics.c — see it_metrics.h. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "it_metrics.h"

static void add_group(json_t *sum, const char *name, json_t *grp)
{
	json_t *into = json_object_get(sum, name), *v;
	const char *f;

	if (!into) {
		into = json_object();
		json_object_set_new(sum, name, into);
	}
	json_object_foreach(grp, f, v) {
		json_t *have = json_object_get(into, f);

		if (json_is_integer(v))
			json_object_set_new(into, f,
					    json_integer(json_integer_value(v) +
							 (have ? json_integer_value(have) : 0)));
	}
}

json_t *it_metrics_summed(const char *path, int *nlines)
{
	size_t len = 0;
	char *raw = read_whole_file(path, &len), *text, *save = NULL;
	json_t *sum = json_object();
	int n = 0;

	ck_assert_msg(raw != NULL, "cannot read the metrics file %s", path);
	text = strndup(raw, len);
	free(raw);
	for (char *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		json_error_t e;
		json_t *k = json_loads(l, 0, &e), *grp;
		const char *g;

		ck_assert_msg(k != NULL, "metrics line is not JSON: %.300s (%s)", l, e.text);
		json_object_foreach(k, g, grp)
			if (json_is_object(grp))
				add_group(sum, g, grp);
		json_decref(k);
		n++;
	}
	free(text);
	if (nlines)
		*nlines = n;
	return sum;
}
