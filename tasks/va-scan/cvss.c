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

/* The NAME:VALUE metrics after the version prefix into val[] (the index of
 * each value in its metric's letters); metrics not in the table (temporal,
 * threat, environmental, supplemental) are passed over: they are not part
 * of the base score. Every metric of the table must be there, once. */
static err_t *parse_metrics(const char *vector, const char *body, const char *label, const struct metric *table,
			    int count, int *val)
{
	for (int m = 0; m < count; m++)
		val[m] = -1;
	for (const char *p = body; *p;) {
		const char *end = p + strcspn(p, "/");
		const char *colon = memchr(p, ':', (size_t)(end - p));
		if (!colon || colon == p || end - colon != 2)
			return err_new(EXIT_USAGE, "invalid %s vector '%s': bad metric '%.*s'", label, vector,
				       (int)(end - p), p);
		int m = 0;
		while (m < count &&
		       (strlen(table[m].name) != (size_t)(colon - p) || strncmp(table[m].name, p, (size_t)(colon - p))))
			m++;
		if (m < count) {
			const char *at = colon[1] ? strchr(table[m].values, colon[1]) : NULL;
			if (!at)
				return err_new(EXIT_USAGE, "invalid %s vector '%s': bad value of %s", label, vector,
					       table[m].name);
			if (val[m] >= 0)
				return err_new(EXIT_USAGE, "invalid %s vector '%s': %s given twice", label, vector,
					       table[m].name);
			val[m] = (int)(at - table[m].values);
		}
		p = *end ? end + 1 : end;
	}
	for (int m = 0; m < count; m++)
		if (val[m] < 0)
			return err_new(EXIT_USAGE, "invalid %s vector '%s': base metric %s missing", label, vector,
				       table[m].name);
	return NULL;
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
	TRY(parse_metrics(vector, vector + 9, "CVSS v3", metrics, M_COUNT, val));
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

/* ---- CVSS v4.0 (specification section 8: MacroVectors, their scores,
 * and the interpolation by severity distance) ---- */

/* The base metrics; letters in order of falling severity, so a letter's
 * index is its level in 0.1 steps (severity distances are differences of
 * levels). SI and SA take S (safety) only as modified environmental
 * metrics, so a base vector never has it: levels are those of "SHLN". */
static const struct metric metrics4[] = {
	{ "AV", "NALP", { 0 } }, { "AC", "LH", { 0 } },  { "AT", "NP", { 0 } },  { "PR", "NLH", { 0 } },
	{ "UI", "NPA", { 0 } },  { "VC", "HLN", { 0 } }, { "VI", "HLN", { 0 } }, { "VA", "HLN", { 0 } },
	{ "SC", "HLN", { 0 } },  { "SI", "HLN", { 0 } }, { "SA", "HLN", { 0 } },
};
enum { V_AV, V_AC, V_AT, V_PR, V_UI, V_VC, V_VI, V_VA, V_SC, V_SI, V_SA, V_BASE, V_CR = V_BASE, V_IR, V_AR, V_COUNT };

/* The score of each MacroVector, in tenths: FIRST's CVSS v4.0 lookup
 * table (the specification's reference data, cvss_lookup.js of
 * github.com/FIRSTdotorg/cvss-v4-calculator, BSD-2-Clause, (c) FIRST.ORG,
 * Red Hat and contributors), indexed [EQ1][EQ2][EQ4][EQ5] and then by the
 * five EQ3/EQ6 pairs that exist: 00, 01, 10, 11, 21. */
static const unsigned char mv_score[3][2][3][3][5] = {
	{ { { { 100, 99, 98, 95, 92 }, { 98, 95, 95, 92, 82 }, { 95, 92, 90, 84, 72 } },
	    { { 100, 96, 93, 92, 79 }, { 93, 87, 89, 81, 69 }, { 91, 81, 81, 65, 50 } },
	    { { 93, 90, 88, 80, 69 }, { 89, 80, 78, 70, 55 }, { 81, 68, 69, 48, 27 } } },
	  { { { 99, 97, 95, 93, 86 }, { 95, 92, 92, 85, 75 }, { 92, 85, 85, 73, 52 } },
	    { { 95, 91, 92, 82, 71 }, { 90, 83, 80, 72, 52 }, { 84, 71, 70, 59, 29 } },
	    { { 92, 81, 84, 70, 63 }, { 82, 71, 71, 52, 29 }, { 72, 53, 50, 30, 17 } } } },
	{ { { { 98, 95, 94, 89, 83 }, { 94, 87, 88, 77, 70 }, { 91, 81, 76, 67, 54 } },
	    { { 94, 89, 86, 76, 65 }, { 86, 74, 74, 58, 58 }, { 77, 64, 59, 50, 26 } },
	    { { 87, 75, 72, 57, 53 }, { 74, 63, 57, 52, 21 }, { 63, 49, 52, 25, 13 } } },
	  { { { 95, 90, 89, 78, 71 }, { 88, 76, 76, 67, 59 }, { 76, 70, 62, 58, 30 } },
	    { { 90, 77, 74, 59, 58 }, { 75, 62, 57, 57, 26 }, { 61, 53, 47, 23, 15 } },
	    { { 77, 66, 61, 52, 23 }, { 68, 59, 57, 29, 13 }, { 52, 30, 24, 16, 6 } } } },
	{ { { { 93, 87, 85, 75, 64 }, { 86, 72, 74, 55, 51 }, { 75, 58, 62, 51, 20 } },
	    { { 86, 74, 72, 57, 47 }, { 74, 61, 55, 41, 21 }, { 56, 34, 46, 19, 11 } },
	    { { 70, 54, 53, 36, 24 }, { 52, 40, 34, 19, 9 }, { 40, 22, 19, 8, 4 } } },
	  { { { 88, 75, 75, 55, 53 }, { 73, 53, 58, 45, 24 }, { 60, 50, 40, 21, 14 } },
	    { { 73, 55, 61, 51, 24 }, { 59, 40, 48, 18, 12 }, { 41, 20, 20, 9, 5 } },
	    { { 54, 43, 46, 18, 10 }, { 45, 22, 17, 7, 3 }, { 20, 11, 8, 2, 1 } } } },
};

struct macro {
	int eq[7]; /* [1] .. [6] */
};

/* a MacroVector's score in tenths, or -1 when there is no such MacroVector */
static int macro_score(const struct macro *mv)
{
	static const signed char eq36[3][2] = { { 0, 1 }, { 2, 3 }, { -1, 4 } };
	const int *q = mv->eq;
	if (q[1] > 2 || q[2] > 1 || q[3] > 2 || q[4] > 2 || q[5] > 2 || q[6] > 1 || eq36[q[3]][q[6]] < 0)
		return -1;
	return mv_score[q[1]][q[2]][q[4]][q[5]][eq36[q[3]][q[6]]];
}

/* The highest-severity vectors of each EQ level (specification 8.2; the
 * calculator's max_composed.js), as letters of the EQ's metrics. */
static const int eq1_metrics[] = { V_AV, V_PR, V_UI }, eq2_metrics[] = { V_AC, V_AT },
		 eq36_metrics[] = { V_VC, V_VI, V_VA, V_CR, V_IR, V_AR }, eq4_metrics[] = { V_SC, V_SI, V_SA };
static const char *const eq1_max[3][4] = { { "NNN" }, { "ANN", "NLN", "NNP" }, { "PNN", "ALP" } };
static const char *const eq2_max[2][3] = { { "LN" }, { "HN", "LP" } };
static const char *const eq36_max[3][2][6] = {
	{ { "HHHHHH" }, { "HHLMMH", "HHHMMM" } },
	{ { "LHHHHH", "HLHHHH" }, { "LHLHMH", "LHHHMM", "HLHMHM", "HLLMHH", "LLHHHM" } },
	{ { NULL }, { "LLLHHH" } },
};
static const char *const eq4_max[3][2] = { { "HSS" }, { "HHH" }, { "LLL" } };
/* the depth of each EQ level in 0.1 steps (max_severity.js) */
static const int eq1_depth[3] = { 1, 4, 5 }, eq2_depth[2] = { 1, 2 }, eq36_depth[3][2] = { { 7, 6 }, { 8, 8 }, { 0, 10 } },
		 eq4_depth[3] = { 6, 5, 4 };

/* a metric's letter -> its severity level */
static int level(int m, char letter)
{
	const char *order = m >= V_CR ? "HML" : m >= V_SC ? "SHLN" : metrics4[m].values;
	return (int)(strchr(order, letter) - order);
}

/* the distances (levels) of the vector from one highest-severity vector;
 * false when the vector is more severe than it in some metric */
static bool distances_from(const char *vec, const char *const parts[4], const int *const mets[4], const int nmets[4],
			   int *dist)
{
	bool ok = true;
	for (int k = 0; k < 4; k++)
		for (int j = 0; j < nmets[k]; j++) {
			int m = mets[k][j];
			dist[m] = level(m, vec[m]) - level(m, parts[k][j]);
			ok = ok && dist[m] >= 0;
		}
	return ok;
}

err_t *cvss4_base_score(const char *vector, double *score)
{
	if (strncmp(vector, "CVSS:4.0/", 9))
		return err_new(EXIT_USAGE, "invalid CVSS v4 vector '%s': does not start with CVSS:4.0/", vector);
	int val[V_BASE];
	TRY(parse_metrics(vector, vector + 9, "CVSS v4", metrics4, V_BASE, val));
	/* the base score (CVSS-B): threat and environmental metrics as not
	 * given, i.e. E:A and CR/IR/AR:H, the worst case */
	char v[V_COUNT + 1];
	for (int m = 0; m < V_BASE; m++)
		v[m] = metrics4[m].values[val[m]];
	v[V_CR] = v[V_IR] = v[V_AR] = 'H';
	v[V_COUNT] = '\0';
	if (v[V_VC] == 'N' && v[V_VI] == 'N' && v[V_VA] == 'N' && v[V_SC] == 'N' && v[V_SI] == 'N' && v[V_SA] == 'N') {
		*score = 0.0; /* no impact at all */
		return NULL;
	}
	/* the equivalence classes (specification table 24) */
	struct macro mv = { { 0 } };
	bool av_n = v[V_AV] == 'N', pr_n = v[V_PR] == 'N', ui_n = v[V_UI] == 'N';
	mv.eq[1] = av_n && pr_n && ui_n ? 0 : (av_n || pr_n || ui_n) && v[V_AV] != 'P' ? 1 : 2;
	mv.eq[2] = v[V_AC] == 'L' && v[V_AT] == 'N' ? 0 : 1;
	mv.eq[3] = v[V_VC] == 'H' && v[V_VI] == 'H'				  ? 0
		   : v[V_VC] == 'H' || v[V_VI] == 'H' || v[V_VA] == 'H' ? 1
									  : 2;
	mv.eq[4] = v[V_SI] == 'S' || v[V_SA] == 'S'				  ? 0
		   : v[V_SC] == 'H' || v[V_SI] == 'H' || v[V_SA] == 'H' ? 1
									  : 2;
	mv.eq[5] = 0; /* E:A */
	mv.eq[6] = (v[V_CR] == 'H' && v[V_VC] == 'H') || (v[V_IR] == 'H' && v[V_VI] == 'H') ||
				   (v[V_AR] == 'H' && v[V_VA] == 'H')
			   ? 0
			   : 1;
	int value = macro_score(&mv);
	if (value < 0)
		return err_new(EXIT_USAGE, "invalid CVSS v4 vector '%s': no MacroVector", vector); /* cannot happen */

	/* the severity distance from the first highest-severity vector of the
	 * MacroVector that the vector does not exceed in any metric (if none,
	 * the last one's, as FIRST's calculator does) */
	const int *mets[4] = { eq1_metrics, eq2_metrics, eq36_metrics, eq4_metrics };
	const int nmets[4] = { 3, 2, 6, 3 };
	int dist[V_COUNT] = { 0 };
	const char *const *l1 = eq1_max[mv.eq[1]], *const *l2 = eq2_max[mv.eq[2]],
			  *const *l36 = eq36_max[mv.eq[3]][mv.eq[6]], *const *l4 = eq4_max[mv.eq[4]];
	bool found = false;
	for (int a = 0; !found && a < 4 && l1[a]; a++)
		for (int b = 0; !found && b < 3 && l2[b]; b++)
			for (int c = 0; !found && c < 6 && l36[c]; c++)
				for (int d = 0; !found && d < 2 && l4[d]; d++) {
					const char *parts[4] = { l1[a], l2[b], l36[c], l4[d] };
					found = distances_from(v, parts, mets, nmets, dist);
				}
	int sd[5] = {
		dist[V_AV] + dist[V_PR] + dist[V_UI],
		dist[V_AC] + dist[V_AT],
		dist[V_VC] + dist[V_VI] + dist[V_VA] + dist[V_CR] + dist[V_IR] + dist[V_AR],
		dist[V_SC] + dist[V_SI] + dist[V_SA],
		0, /* EQ5: E only */
	};
	int depth[5] = { eq1_depth[mv.eq[1]], eq2_depth[mv.eq[2]], eq36_depth[mv.eq[3]][mv.eq[6]],
			 eq4_depth[mv.eq[4]], 1 };

	/* each EQ's next lower MacroVector; EQ3 and EQ6 move together
	 * (00 -> the higher of 01 and 10, 01 -> 11, 10 -> 11, 11 -> 21) */
	int lower[5];
	for (int k = 0; k < 5; k++) {
		struct macro lo = mv;
		if (k != 2) { /* EQ1, EQ2, EQ4, EQ5 */
			lo.eq[k + 1]++;
			lower[k] = macro_score(&lo);
			continue;
		}
		if (mv.eq[3] == 0 && mv.eq[6] == 0) {
			struct macro left = mv, right = mv;
			left.eq[6]++, right.eq[3]++;
			int l = macro_score(&left), r = macro_score(&right);
			lower[k] = l > r ? l : r;
		} else if (mv.eq[3] == 1 && mv.eq[6] == 0) {
			lo.eq[6]++;
			lower[k] = macro_score(&lo);
		} else if (mv.eq[6] == 1 && mv.eq[3] < 2) {
			lo.eq[3]++;
			lower[k] = macro_score(&lo);
		} else {
			lower[k] = -1; /* 21: nothing below */
		}
	}
	/* the mean over the EQs that have a lower MacroVector of (score
	 * difference to it) x (severity distance / depth), in tenths */
	double sum = 0;
	int n = 0;
	for (int k = 0; k < 5; k++) {
		if (lower[k] < 0)
			continue;
		n++;
		sum += (double)(value - lower[k]) * sd[k] / depth[k];
	}
	double tenths = value - (n ? sum / n : 0);
	if (tenths < 0)
		tenths = 0;
	if (tenths > 100)
		tenths = 100;
	/* rounded to one decimal, halves up (the calculator's Math.round on
	 * the value plus 1e-6, which keeps 8.95 from rounding as 8.9499...) */
	*score = floor(tenths + 0.5 + 1e-5) / 10.0;
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
