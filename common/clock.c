/* Monotonic time (see clock.h). */
#include "clock.h"

#include <ctype.h>
#include <errno.h>
#include <string.h>
#include <time.h>

int64_t clock_monotonic_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int64_t clock_monotonic_ms(void)
{
	return clock_monotonic_us() / 1000;
}

void clock_sleep_ms(int64_t ms)
{
	if (ms <= 0)
		return;
	struct timespec ts = { (time_t)(ms / 1000), (long)(ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

err_t *clock_parse_duration_ms(const char *s, const char *what, int64_t *out)
{
	static const struct {
		const char *unit;
		int64_t ms;
	} units[] = { { "ms", 1 }, { "s", 1000 }, { "m", 60000 }, { "h", 3600000 } };
	const char *p = s;
	int64_t total = 0;
	if (!p || !*p)
		goto bad;
	do {
		if (!isdigit((unsigned char)*p))
			goto bad;
		int64_t n = 0;
		for (; isdigit((unsigned char)*p); p++) {
			n = n * 10 + (*p - '0');
			if (n > 100000000)
				goto bad;
		}
		size_t ul = 0;
		while (p[ul] && isalpha((unsigned char)p[ul]))
			ul++;
		int64_t mult = 0;
		if (!ul && p == s + strspn(s, "0123456789"))
			mult = 1000; /* plain seconds */
		for (size_t i = 0; ul && i < sizeof units / sizeof *units; i++)
			if (strlen(units[i].unit) == ul && !strncmp(p, units[i].unit, ul))
				mult = units[i].ms;
		if (!mult)
			goto bad;
		total += n * mult;
		p += ul;
	} while (*p);
	*out = total;
	return NULL;
bad:
	return err_new(EXIT_USAGE, "%s: \"%s\" is not a duration (seconds, or e.g. 500ms, 90s, 2m, 1h30m)", what,
		       s ? s : "");
}
