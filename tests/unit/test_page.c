/* cmocka tests for daemon/page.c: the status page's form and its token. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "page.h"

#define TOKEN "0123456789abcdef0123456789abcdef"

static int
test_page_post(const char *body, enum page_action *a, char **name)
{
	return page_parse_post(body, strlen(body), TOKEN, a, name);
}

static void
test_page_valid(void **state)
{
	enum page_action a = PAGE_START;
	char *name = NULL;

	(void)state;
	assert_int_equal(test_page_post("action=restart&name=web%3Aweb_00&"
	    "token=" TOKEN, &a, &name), 0);
	assert_int_equal(a, PAGE_RESTART);
	assert_string_equal(name, "web:web_00");
	free(name);
	assert_int_equal(test_page_post("token=" TOKEN "&name=w&action=stop",
	    &a, &name), 0);
	assert_int_equal(a, PAGE_STOP);
	free(name);
}

/* Every wrong token is 403, checked before anything else of the form. */
static void
test_page_token_refused(void **state)
{
	static const char *const bad[] = {
		"action=stop&name=web",				/* none */
		"action=stop&name=web&token=",			/* empty */
		"action=stop&name=web&token=0123456789abcdef",	/* prefix */
		"action=stop&name=web&token=" TOKEN "0",	/* longer */
		"action=stop&name=web&token=1123456789abcdef0123456789abcdef",
		"action=explode&token=x",			/* both bad */
	};
	enum page_action a;
	char *name = (char *)1;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(test_page_post(bad[i], &a, &name), 403);
		assert_null(name);
	}
	assert_int_equal(page_parse_post("token=" TOKEN, strlen("token="
	    TOKEN), NULL, &a, &name), 403);
}

static void
test_page_malformed(void **state)
{
	static const char *const bad[] = {
		"token=" TOKEN,					/* no action */
		"token=" TOKEN "&action=stop",			/* no name */
		"token=" TOKEN "&action=stop&name=",		/* empty name */
		"token=" TOKEN "&action=explode&name=web",	/* bad action */
		"token=" TOKEN "&action=STOP&name=web",
	};
	enum page_action a;
	char *name = NULL, *huge;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(test_page_post(bad[i], &a, &name), 400);
		assert_null(name);
	}
	/* A body far larger than any form the page sends. */
	huge = malloc(1 << 20);
	assert_non_null(huge);
	memset(huge, 'a', 1 << 20);
	assert_int_equal(page_parse_post(huge, 1 << 20, TOKEN, &a, &name),
	    400);
	free(huge);
	/* Bytes after a NUL are not a second form. */
	assert_int_equal(page_parse_post("action=stop\0&name=web&token=" TOKEN,
	    sizeof("action=stop\0&name=web&token=" TOKEN) - 1, TOKEN, &a,
	    &name), 403);
	assert_null(name);
}

static void
test_page_token_fresh(void **state)
{
	char a[33], b[33];
	size_t i;

	(void)state;
	memset(a, 0, sizeof(a));
	memset(b, 0, sizeof(b));
	page_token(a, sizeof(a));
	page_token(b, sizeof(b));
	assert_int_equal(strlen(a), 32);
	for (i = 0; i < 32; i++)
		assert_non_null(strchr("0123456789abcdef", a[i]));
	assert_string_not_equal(a, b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_page_valid),
		cmocka_unit_test(test_page_token_refused),
		cmocka_unit_test(test_page_malformed),
		cmocka_unit_test(test_page_token_fresh),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
