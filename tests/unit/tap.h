/*
 * tap.h: a few macros for C unit tests that speak TAP, the protocol bats speaks too, so
 * tests/run.sh can add both up.  Each check prints one `ok N - ...` or `not ok N - ...`.
 */
#ifndef VGG_TAP_H
#define VGG_TAP_H

#include <math.h>
#include <stdio.h>
#include <string.h>

static int tap_count, tap_failed;

static void tap_result(int ok, const char *file, int line, const char *what)
{
	tap_count++;
	printf("%sok %d - %s\n", ok ? "" : "not ", tap_count, what);
	if (!ok) {
		tap_failed++;
		printf("#   failed at %s:%d\n", file, line);
	}
}

#define CHECK(cond, ...) do {                                              \
		char tap_what_[256];                                       \
		snprintf(tap_what_, sizeof tap_what_, __VA_ARGS__);        \
		tap_result((cond) != 0, __FILE__, __LINE__, tap_what_);    \
	} while (0)

#define CHECK_EQ_INT(got, want, ...) do {                                  \
		long long g_ = (long long)(got), w_ = (long long)(want);   \
		CHECK(g_ == w_, __VA_ARGS__);                              \
		if (g_ != w_)                                              \
			printf("#   got %lld, want %lld\n", g_, w_);       \
	} while (0)

#define CHECK_EQ_DBL(got, want, ...) do {                                  \
		double g_ = (got), w_ = (want);                            \
		CHECK(fabs(g_ - w_) <= 1e-9, __VA_ARGS__);                 \
		if (fabs(g_ - w_) > 1e-9)                                  \
			printf("#   got %.17g, want %.17g\n", g_, w_);     \
	} while (0)

#define CHECK_STR(got, want, ...) do {                                     \
		const char *g_ = (got), *w_ = (want);                      \
		int same_ = g_ && w_ && strcmp(g_, w_) == 0;               \
		CHECK(same_, __VA_ARGS__);                                 \
		if (!same_)                                                \
			printf("#   got '%s', want '%s'\n", g_ ? g_ : "(null)", w_); \
	} while (0)

static int tap_done(void)
{
	printf("1..%d\n", tap_count);
	return tap_failed != 0;
}

#endif
