/* CVSS v3.x base score (cvss.h): the equations of the v3.1 specification,
 * section 7.1, with v3.0's plain round-up for "CVSS:3.0" vectors. */
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "cvss.h"

struct metric {
	const char *name;
	const char *values; /* accepted value letters */
	double weight[4];   /* by position in values */
};

/* AV, AC, PR (unchanged scope; changed scope handled below), UI, S, C, I, A */
static const struct metric metrics[] = {
	{ "AV", "NALP", { 0.85, 0.62, 0.55, 0.2 } },
	{ "AC", "LH", { 0.77, 0.44 } },
	{ "PR", "NLH", { 0.85, 0.62, 0.27 } },
	{ "UI", "NR", { 0.85, 0.62 } },
	{ "S", "UC", { 0, 0 } },
	{ "C", "HLN", { 0.56, 0.22, 0 } },
	{ "I", "HLN", { 0.56, 0.22, 0 } },
	{ "A", "HLN", { 0.56, 0.22, 0 } },
};
enum { M_AV, M_AC, M_PR, M_UI, M_S, M_C, M_I, M_A, M_COUNT };

/* v3.1 Roundup (appendix A): the smallest number of one decimal >= x,
 * computed on integers so that 4.000000000000001 is 4.0, not 4.1 */
static double roundup31(double x)
{
	int64_t i = (int64_t)llround(x * 100000.0);
	if (i % 10000 == 0)
		return (double)i / 100000.0;
	return (double)(i / 10000 + 1) / 10.0;
}

static double roundup30(double x)
{
	return ceil(x * 10.0) / 10.0;
}

err_t *cvss3_base_score(const char *vector, double *score)
{
	bool v30;
	if (!strncmp(vector, "CVSS:3.1/", 9))
		v30 = false;
	else if (!strncmp(vector, "CVSS:3.0/", 9))
		v30 = true;
	else
		return err_new(EXIT_USAGE, "invalid CVSS v3 vector '%s': does not start with CVSS:3.0/ or CVSS:3.1/",
			       vector);
	int val[M_COUNT];
	for (int m = 0; m < M_COUNT; m++)
		val[m] = -1;
	for (const char *p = vector + 9; *p;) {
		const char *end = p + strcspn(p, "/");
		const char *colon = memchr(p, ':', (size_t)(end - p));
		if (!colon || colon == p || end - colon != 2)
			return err_new(EXIT_USAGE, "invalid CVSS v3 vector '%s': bad metric '%.*s'", vector,
				       (int)(end - p), p);
		int m = 0;
		while (m < M_COUNT &&
		       (strlen(metrics[m].name) != (size_t)(colon - p) || strncmp(metrics[m].name, p, (size_t)(colon - p))))
			m++;
		if (m < M_COUNT) {
			const char *at = colon[1] ? strchr(metrics[m].values, colon[1]) : NULL;
			if (!at)
				return err_new(EXIT_USAGE, "invalid CVSS v3 vector '%s': bad value of %s", vector,
					       metrics[m].name);
			if (val[m] >= 0)
				return err_new(EXIT_USAGE, "invalid CVSS v3 vector '%s': %s given twice", vector,
					       metrics[m].name);
			val[m] = (int)(at - metrics[m].values);
		}
		/* other (temporal, environmental) metrics: not part of the base score */
		p = *end ? end + 1 : end;
	}
	for (int m = 0; m < M_COUNT; m++)
		if (val[m] < 0)
			return err_new(EXIT_USAGE, "invalid CVSS v3 vector '%s': base metric %s missing", vector,
				       metrics[m].name);
	bool changed = val[M_S] == 1;
	double pr = metrics[M_PR].weight[val[M_PR]];
	if (changed && val[M_PR] == 1)
		pr = 0.68;
	else if (changed && val[M_PR] == 2)
		pr = 0.5;
	double iss = 1.0 - (1.0 - metrics[M_C].weight[val[M_C]]) * (1.0 - metrics[M_I].weight[val[M_I]]) *
				   (1.0 - metrics[M_A].weight[val[M_A]]);
	double impact = changed ? 7.52 * (iss - 0.029) - 3.25 * pow(iss - 0.02, 15) : 6.42 * iss;
	double expl = 8.22 * metrics[M_AV].weight[val[M_AV]] * metrics[M_AC].weight[val[M_AC]] * pr *
		      metrics[M_UI].weight[val[M_UI]];
	double (*round_up)(double) = v30 ? roundup30 : roundup31;
	if (impact <= 0)
		*score = 0;
	else if (changed)
		*score = round_up(fmin(1.08 * (impact + expl), 10.0));
	else
		*score = round_up(fmin(impact + expl, 10.0));
	return NULL;
}

const char *cvss_rating(double score)
{
	if (score <= 0.0)
		return "NONE";
	if (score < 4.0)
		return "LOW";
	if (score < 7.0)
		return "MEDIUM";
	if (score < 9.0)
		return "HIGH";
	return "CRITICAL";
}
