/* cmocka tests for daemon/methods.c: the method table and its role
 * flags, the UTF-8 repair of program output, and handlers run against a
 * fake peer (the reply interface): roles, the params' shapes, daemon.*
 * and daemon.tail's follow. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <fcntl.h>
#include <stdbool.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <event2/event.h>
#include <jansson.h>

#include "log.h"
#include "methods.h"
#include "rpc.h"

/* Every method of SPEC.md section 5, with the role it needs. */
static void
test_methods_table(void **state)
{
	static const struct {
		const char *name;
		int flags;
	} want[] = {
		{ "daemon.version", METHODS_READONLY },
		{ "daemon.info", METHODS_READONLY },
		{ "daemon.shutdown", METHODS_CONTROL },
		{ "daemon.reopen_logs", METHODS_CONTROL },
		{ "process.list", METHODS_READONLY },
		{ "process.start", METHODS_CONTROL },
		{ "process.stop", METHODS_CONTROL },
		{ "process.restart", METHODS_CONTROL },
		{ "process.signal", METHODS_CONTROL },
		{ "process.tail", METHODS_READONLY },
		{ "process.clear_log", METHODS_CONTROL },
		{ "process.stdin", METHODS_CONTROL },
		{ "config.reread", METHODS_CONTROL },
		{ "config.update", METHODS_CONTROL },
		{ "config.avail", METHODS_CONTROL },
		{ "events.subscribe", METHODS_READONLY },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		assert_int_equal(methods_flags(want[i].name), want[i].flags);
}

/* R03: exact match only. */
static void
test_methods_lookup_exact(void **state)
{
	static const char *const bad[] = { "", "process", "process.",
		"PROCESS.LIST", "Process.list", "process.list ",
		" process.list", "../process.list", "process.list\n",
		"process.list.x", "spawn_child", "reload_config",
		"method_process_start", "process_start", "daemon.version\t" };
	char *big;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(methods_flags(bad[i]), -1);
	assert_int_equal(methods_flags(NULL), -1);
	big = malloc(65537);
	assert_non_null(big);
	memset(big, 'a', 65536);
	big[65536] = '\0';
	assert_int_equal(methods_flags(big), -1);
	/* A valid name as a prefix of a long one. */
	memcpy(big, "process.list", 12);
	assert_int_equal(methods_flags(big), -1);
	free(big);
}

static void
test_methods_utf8_case(const char *in, size_t len, const char *want)
{
	json_t *s = methods_string_from_bytes(in, len);

	assert_non_null(s);
	assert_int_equal(json_string_length(s), strlen(want));
	assert_memory_equal(json_string_value(s), want, strlen(want));
	json_decref(s);
}

static void
test_methods_utf8(void **state)
{
	(void)state;
	test_methods_utf8_case("", 0, "");
	test_methods_utf8_case("plain\n", 6, "plain\n");
	test_methods_utf8_case("h\xc3\xa9llo", 6, "h\xc3\xa9llo");
	test_methods_utf8_case("\xf0\x9f\x98\x80", 4, "\xf0\x9f\x98\x80");
	/* Bad bytes become U+FFFD, one per byte, never an error. */
	test_methods_utf8_case("a\xff" "b", 3, "a\xef\xbf\xbd" "b");
	test_methods_utf8_case("\xc0\xaf", 2, "\xef\xbf\xbd\xef\xbf\xbd");
	test_methods_utf8_case("\xed\xa0\x80", 3,
	    "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
	test_methods_utf8_case("\xf4\x90\x80\x80", 4,
	    "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
	test_methods_utf8_case("x\xc3", 2, "x\xef\xbf\xbd");
	/* NUL would break C clients: replaced too. */
	test_methods_utf8_case("a\0b", 3, "a\xef\xbf\xbd" "b");
}

/* Whatever the bytes, the result dumps to JSON a strict parser takes. */
static void
test_methods_utf8_all_bytes(void **state)
{
	unsigned char buf[4096];
	json_t *s, *back;
	json_error_t err;
	char *text;
	size_t i;

	(void)state;
	srand(1);
	for (i = 0; i < sizeof(buf); i++)
		buf[i] = (unsigned char)(rand() & 0xff);
	s = methods_string_from_bytes((const char *)buf, sizeof(buf));
	assert_non_null(s);
	text = json_dumps(s, JSON_ENCODE_ANY);
	assert_non_null(text);
	back = json_loads(text, JSON_DECODE_ANY, &err);
	assert_non_null(back);
	json_decref(back);
	free(text);
	json_decref(s);
}

/* ---------------------------------------------------------------- */
/* A fake peer: keeps what methods sends, runs hooks when "closed". */

#define FAKE_HOOKS 8

struct fake_hook {
	void	(*fn)(void *);
	void	*arg;
	bool	 used;
};

struct fake_peer {
	struct methods_peer peer;	/* first: methods hands it back */
	json_t	*sent;			/* array of messages */
	bool	 alive;
	int	 refs;
	struct fake_hook hooks[FAKE_HOOKS];
};

static struct fake_peer *
fake_of(const struct methods_peer *p)
{
	return (struct fake_peer *)(uintptr_t)p;
}

static int
fake_send(struct methods_peer *p, const json_t *msg)
{
	struct fake_peer *f = fake_of(p);

	if (!f->alive)
		return -1;
	json_array_append_new(f->sent, json_deep_copy(msg));
	return 0;
}

static bool
fake_alive(const struct methods_peer *p)
{
	return fake_of(p)->alive;
}

static void
fake_ref(struct methods_peer *p)
{
	fake_of(p)->refs++;
}

static void
fake_unref(struct methods_peer *p)
{
	fake_of(p)->refs--;
}

static struct methods_hook *
fake_hook(struct methods_peer *p, void (*fn)(void *), void *arg)
{
	struct fake_peer *f = fake_of(p);
	int i;

	for (i = 0; i < FAKE_HOOKS; i++)
		if (!f->hooks[i].used) {
			f->hooks[i].fn = fn;
			f->hooks[i].arg = arg;
			f->hooks[i].used = true;
			return (struct methods_hook *)&f->hooks[i];
		}
	return NULL;
}

static void
fake_unhook(struct methods_peer *p, struct methods_hook *h)
{
	(void)p;
	if (h != NULL)
		((struct fake_hook *)(void *)h)->used = false;
}

static size_t
fake_nhooks(const struct methods_peer *p)
{
	size_t i, n = 0;

	for (i = 0; i < FAKE_HOOKS; i++)
		n += fake_of(p)->hooks[i].used;
	return n;
}

static const struct methods_peer_ops fake_ops = {
	fake_send, fake_alive, fake_ref, fake_unref, fake_hook, fake_unhook,
	fake_nhooks
};

static void
fake_init(struct fake_peer *f)
{
	memset(f, 0, sizeof(*f));
	f->peer.ops = &fake_ops;
	f->sent = json_array();
	f->alive = true;
}

static void
fake_close(struct fake_peer *f)
{
	int i;

	f->alive = false;
	for (i = 0; i < FAKE_HOOKS; i++)
		if (f->hooks[i].used) {
			f->hooks[i].used = false;
			f->hooks[i].fn(f->hooks[i].arg);
		}
	json_decref(f->sent);
	assert_int_equal(f->refs, 0);
}

static int shutdowns;

static void
fake_on_shutdown(void *arg)
{
	(void)arg;
	shutdowns++;
}

/* Run `line` as role; the last message the peer got (borrowed), or NULL. */
static json_t *
fake_call(const struct methods_env *env, struct fake_peer *f,
    enum methods_role role, const char *line)
{
	struct rpc_request req;
	const char *msg;
	int code;
	size_t n = json_array_size(f->sent);

	memset(&req, 0, sizeof(req));
	assert_int_equal(rpc_parse_request(line, strlen(line), &req, &code,
	    &msg), 0);
	methods_handle(env, &f->peer, role, &req);
	rpc_request_free(&req);
	if (json_array_size(f->sent) == n)
		return NULL;
	return json_array_get(f->sent, json_array_size(f->sent) - 1);
}

static int
fake_error(json_t *reply)
{
	assert_non_null(reply);
	return (int)json_integer_value(json_object_get(json_object_get(reply,
	    "error"), "code"));
}

static const char *
fake_error_message(json_t *reply)
{
	return json_string_value(json_object_get(json_object_get(reply,
	    "error"), "message"));
}

static void
fake_env(struct methods_env *env, struct event_base *base)
{
	memset(env, 0, sizeof(*env));
	env->base = base;
	env->socket = "/nonexistent.sock";
	env->config_path = "/nonexistent.conf";
	env->on_shutdown = fake_on_shutdown;
}

/* Roles, lookup and the params' shapes, all before any handler runs. */
static void
test_methods_fake_peer_checks(void **state)
{
	struct methods_env env;
	struct fake_peer f;
	json_t *r;

	(void)state;
	fake_env(&env, NULL);
	fake_init(&f);
	r = fake_call(&env, &f, METHODS_ROLE_READONLY,
	    "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"daemon.version\"}");
	assert_non_null(r);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(r,
	    "result"), "api")), RPC_API_VERSION);
	assert_int_equal(json_integer_value(json_object_get(r, "id")), 1);
	/* No role: 105 for everything. */
	r = fake_call(&env, &f, METHODS_ROLE_NONE,
	    "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"daemon.version\"}");
	assert_int_equal(fake_error(r), RPC_PERMISSION_DENIED);
	/* Read-only may not shut down; the control role may. */
	shutdowns = 0;
	r = fake_call(&env, &f, METHODS_ROLE_READONLY,
	    "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"daemon.shutdown\"}");
	assert_int_equal(fake_error(r), RPC_PERMISSION_DENIED);
	assert_int_equal(shutdowns, 0);
	r = fake_call(&env, &f, METHODS_ROLE_CONTROL,
	    "{\"jsonrpc\":\"2.0\",\"id\":4,\"method\":\"daemon.shutdown\"}");
	assert_non_null(json_object_get(r, "result"));
	assert_int_equal(shutdowns, 1);
	/* Unknown method. */
	r = fake_call(&env, &f, METHODS_ROLE_CONTROL,
	    "{\"jsonrpc\":\"2.0\",\"id\":5,\"method\":\"daemon.nope\"}");
	assert_int_equal(fake_error(r), RPC_METHOD_NOT_FOUND);
	/* The table's shapes: an unknown key, a wrong type, both named. */
	r = fake_call(&env, &f, METHODS_ROLE_READONLY,
	    "{\"jsonrpc\":\"2.0\",\"id\":6,\"method\":\"daemon.version\","
	    "\"params\":{\"pad\":1}}");
	assert_int_equal(fake_error(r), RPC_INVALID_PARAMS);
	assert_non_null(strstr(fake_error_message(r), "pad"));
	r = fake_call(&env, &f, METHODS_ROLE_READONLY,
	    "{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"daemon.tail\","
	    "\"params\":{\"bytes\":\"x\"}}");
	assert_int_equal(fake_error(r), RPC_INVALID_PARAMS);
	assert_true(strncmp(fake_error_message(r), "\"bytes\":", 8) == 0);
	r = fake_call(&env, &f, METHODS_ROLE_CONTROL,
	    "{\"jsonrpc\":\"2.0\",\"id\":8,\"method\":\"process.tail\","
	    "\"params\":{\"name\":\"a\",\"follow\":1}}");
	assert_int_equal(fake_error(r), RPC_INVALID_PARAMS);
	assert_non_null(strstr(fake_error_message(r), "follow"));
	/* Range checks stay with the handler. */
	r = fake_call(&env, &f, METHODS_ROLE_READONLY,
	    "{\"jsonrpc\":\"2.0\",\"id\":9,\"method\":\"daemon.tail\","
	    "\"params\":{\"bytes\":-1}}");
	assert_int_equal(fake_error(r), RPC_INVALID_PARAMS);
	/* A notification is never answered. */
	assert_null(fake_call(&env, &f, METHODS_ROLE_READONLY,
	    "{\"jsonrpc\":\"2.0\",\"method\":\"daemon.version\"}"));
	fake_close(&f);
}

/* daemon.tail: the ring, then with follow its new lines as log.data
 * notifications, until the peer leaves. */
static void
test_methods_fake_peer_daemon_tail(void **state)
{
	struct event_base *base;
	struct methods_env env;
	struct fake_peer f;
	json_t *r, *p;
	size_t n;
	int saved, devnull;

	(void)state;
	saved = dup(STDERR_FILENO);
	devnull = open("/dev/null", O_WRONLY);
	dup2(devnull, STDERR_FILENO);
	close(devnull);
	base = event_base_new();
	assert_non_null(base);
	fake_env(&env, base);
	fake_init(&f);
	log_ring_enable();
	log_info("before the tail");
	r = fake_call(&env, &f, METHODS_ROLE_READONLY,
	    "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"daemon.tail\","
	    "\"params\":{\"bytes\":100}}");
	assert_non_null(strstr(json_string_value(json_object_get(
	    json_object_get(r, "result"), "data")), "before the tail\n"));
	r = fake_call(&env, &f, METHODS_ROLE_READONLY,
	    "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"daemon.tail\","
	    "\"params\":{\"bytes\":0,\"follow\":true}}");
	assert_string_equal(json_string_value(json_object_get(
	    json_object_get(r, "result"), "data")), "");
	assert_int_equal(fake_nhooks(&f.peer), 1);
	n = json_array_size(f.sent);
	log_warn("followed line");
	/* Sent from the loop, not from inside the log call. */
	assert_int_equal(json_array_size(f.sent), n);
	event_base_loop(base, EVLOOP_NONBLOCK);
	assert_int_equal(json_array_size(f.sent), n + 1);
	r = json_array_get(f.sent, n);
	assert_string_equal(json_string_value(json_object_get(r, "method")),
	    "log.data");
	p = json_object_get(r, "params");
	assert_string_equal(json_string_value(json_object_get(p, "name")),
	    "superd");
	assert_string_equal(json_string_value(json_object_get(p, "stream")),
	    "main");
	assert_non_null(strstr(json_string_value(json_object_get(p, "data")),
	    "WARN followed line\n"));
	/* The peer leaves: the follower goes with it. */
	fake_close(&f);
	log_info("after the peer left");
	event_base_loop(base, EVLOOP_NONBLOCK);
	event_base_free(base);
	dup2(saved, STDERR_FILENO);
	close(saved);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_methods_table),
		cmocka_unit_test(test_methods_lookup_exact),
		cmocka_unit_test(test_methods_utf8),
		cmocka_unit_test(test_methods_utf8_all_bytes),
		cmocka_unit_test(test_methods_fake_peer_checks),
		cmocka_unit_test(test_methods_fake_peer_daemon_tail),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
