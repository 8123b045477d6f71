/* Time for deadlines and measurements: the monotonic clock, which wall
 * clock changes never move. */
#ifndef COMMON_CLOCK_H
#define COMMON_CLOCK_H

#include <stdint.h>

#include "error.h"

/* Milliseconds (and microseconds) since an arbitrary fixed point. */
int64_t clock_monotonic_ms(void);
int64_t clock_monotonic_us(void);
/* Sleep ms milliseconds (signals do not shorten it). */
void clock_sleep_ms(int64_t ms);

/* A duration: plain seconds ("90") or Go-style units summed ("500ms",
 * "90s", "2m", "1h30m"); what names it in the EXIT_USAGE error. */
err_t *clock_parse_duration_ms(const char *s, const char *what, int64_t *out);

#endif
