/*
 * A JSON text into jansson values, as json_loadb(..., 0) would read it
 * (an object or array at the top, UTF-8 checked, \u0000 refused, the
 * last of duplicate keys wins, integers outside int64 and reals beyond
 * DBL_MAX refused, at most JSON_PARSER_MAX_DEPTH nested values). jansson's
 * loader reads a byte at a time through callbacks, near 200 instructions
 * a byte; a `status` of 1000 processes is 235 KB. This one scans runs of
 * plain bytes and hands whole strings and keys to the _nocheck setters.
 * tests/unit/test_json_reader.c checks it against json_loadb.
 */
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "json_reader.h"
#include "utf8.h"

struct json_reader {
	const unsigned char *p;
	const unsigned char *end;
	int	 depth;
	const char *error;	/* static reason of the first failure */
};

#ifdef JSON_PARSER_MAX_DEPTH
#define JSON_READER_DEPTH	  JSON_PARSER_MAX_DEPTH
#else
#define JSON_READER_DEPTH	  2048
#endif

static json_t *json_reader_value(struct json_reader *);

static json_t *
json_reader_fail(struct json_reader *j, const char *why)
{
	if (j->error == NULL)
		j->error = why;
	return NULL;
}

static void
json_reader_ws(struct json_reader *j)
{
	while (j->p < j->end && (*j->p == ' ' || *j->p == '\t' ||
	    *j->p == '\n' || *j->p == '\r'))
		j->p++;
}

/*
 * jansson's lexer reads one byte past a number or a true/false/null and
 * puts it back, but a NUL byte put back is taken for an empty buffer and
 * lost: json_loadb accepts "[1\0]" and "[null\0,2]". Do the same, since
 * this reader must accept what json_loadb accepts (only one NUL goes).
 */
static void
json_reader_skip_nul(struct json_reader *j)
{
	if (j->p < j->end && *j->p == '\0')
		j->p++;
}

static int
json_reader_hex4(const unsigned char *s, unsigned int *out)
{
	unsigned int v = 0;
	int i;

	for (i = 0; i < 4; i++) {
		v <<= 4;
		if (s[i] >= '0' && s[i] <= '9')
			v |= s[i] - '0';
		else if (s[i] >= 'a' && s[i] <= 'f')
			v |= s[i] - 'a' + 10;
		else if (s[i] >= 'A' && s[i] <= 'F')
			v |= s[i] - 'A' + 10;
		else
			return -1;
	}
	*out = v;
	return 0;
}

/* Write code point cp as UTF-8 at d; the bytes written. */
static size_t
json_reader_utf8_put(unsigned char *d, unsigned int cp)
{
	if (cp < 0x80) {
		d[0] = (unsigned char)cp;
		return 1;
	}
	if (cp < 0x800) {
		d[0] = (unsigned char)(0xc0 | cp >> 6);
		d[1] = (unsigned char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		d[0] = (unsigned char)(0xe0 | cp >> 12);
		d[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
		d[2] = (unsigned char)(0x80 | (cp & 0x3f));
		return 3;
	}
	d[0] = (unsigned char)(0xf0 | cp >> 18);
	d[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3f));
	d[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
	d[3] = (unsigned char)(0x80 | (cp & 0x3f));
	return 4;
}

/*
 * The string from j->p (after the '"') up to end (its closing quote) with
 * its escapes decoded into *out, malloc'd: never longer than the text.
 */
static int
json_reader_unescape(struct json_reader *j, const unsigned char *end,
    unsigned char **out, size_t *len)
{
	const unsigned char *s = j->p;
	unsigned char *buf, *d, c;
	unsigned int cp, lo;
	size_t k;

	if ((buf = malloc((size_t)(end - s) + 1)) == NULL)
		return -1;
	for (d = buf; s < end; ) {
		c = *s;
		if (c < 0x20)
			goto bad;
		if (c >= 0x80) {
			k = utf8_seq(s, (size_t)(end - s));
			if (k == 0)
				goto bad;
			memcpy(d, s, k);
			d += k;
			s += k;
			continue;
		}
		if (c != '\\') {
			*d++ = c;
			s++;
			continue;
		}
		if (end - s < 2)
			goto bad;
		switch (s[1]) {
		case '"':
		case '\\':
		case '/':
			*d++ = s[1];
			break;
		case 'b':
			*d++ = '\b';
			break;
		case 'f':
			*d++ = '\f';
			break;
		case 'n':
			*d++ = '\n';
			break;
		case 'r':
			*d++ = '\r';
			break;
		case 't':
			*d++ = '\t';
			break;
		case 'u':
			if (end - s < 6 || json_reader_hex4(s + 2, &cp) == -1 ||
			    cp == 0)
				goto bad;
			if (cp >= 0xdc00 && cp <= 0xdfff)
				goto bad;
			if (cp >= 0xd800 && cp <= 0xdbff) {
				if (end - s < 12 || s[6] != '\\' ||
				    s[7] != 'u' ||
				    json_reader_hex4(s + 8, &lo) == -1 ||
				    lo < 0xdc00 || lo > 0xdfff)
					goto bad;
				cp = 0x10000 + ((cp - 0xd800) << 10) +
				    (lo - 0xdc00);
				s += 6;
			}
			d += json_reader_utf8_put(d, cp);
			s += 4;
			break;
		default:
			goto bad;
		}
		s += 2;
	}
	j->p = end + 1;
	*out = buf;
	*len = (size_t)(d - buf);
	return 0;
bad:
	free(buf);
	j->error = "invalid string";
	return -1;
}

/*
 * A string at j->p (on its '"'): *s points into the text when it holds
 * no escape (*owned NULL), else to *owned, malloc'd.
 */
static int
json_reader_string(struct json_reader *j, const char **s, size_t *len,
    unsigned char **owned)
{
	const unsigned char *q = ++j->p;
	size_t k;

	*owned = NULL;
	for (;;) {
		while (q < j->end && *q >= 0x20 && *q < 0x80 && *q != '"' &&
		    *q != '\\')
			q++;
		if (q >= j->end || *q < 0x20 || *q == '\\')
			break;
		if (*q == '"') {
			*s = (const char *)j->p;
			*len = (size_t)(q - j->p);
			j->p = q + 1;
			return 0;
		}
		if ((k = utf8_seq(q, (size_t)(j->end - q))) == 0)
			break;
		q += k;
	}
	if (q < j->end && *q == '\\') {
		/* Its closing quote: no escape can hide one but \". */
		while (q < j->end && *q != '"')
			q += *q == '\\' && j->end - q > 1 ? 2 : 1;
		if (q >= j->end || json_reader_unescape(j, q, owned,
		    len) == -1) {
			json_reader_fail(j, "invalid string");
			return -1;
		}
		*s = (const char *)*owned;
		return 0;
	}
	json_reader_fail(j, "invalid string");
	return -1;
}

static json_t *
json_reader_number(struct json_reader *j)
{
	const unsigned char *s = j->p, *q = s;
	char tmp[64], *copy, *endp;
	bool real = false;
	json_int_t v = 0;
	double d;
	size_t n;

	if (q < j->end && *q == '-')
		q++;
	if (q >= j->end || *q < '0' || *q > '9')
		return json_reader_fail(j, "invalid number");
	if (*q == '0')
		q++;
	else
		while (q < j->end && *q >= '0' && *q <= '9')
			q++;
	if (q < j->end && *q == '.') {
		real = true;
		if (++q >= j->end || *q < '0' || *q > '9')
			return json_reader_fail(j, "invalid number");
		while (q < j->end && *q >= '0' && *q <= '9')
			q++;
	}
	if (q < j->end && (*q == 'e' || *q == 'E')) {
		real = true;
		if (++q < j->end && (*q == '+' || *q == '-'))
			q++;
		if (q >= j->end || *q < '0' || *q > '9')
			return json_reader_fail(j, "invalid number");
		while (q < j->end && *q >= '0' && *q <= '9')
			q++;
	}
	j->p = q;
	if (!real) {
		const unsigned char *dig = s + (*s == '-');

		/* Accumulate negatively: JSON_INTEGER_MIN has no positive. */
		for (; dig < q; dig++) {
			if (v < (INT64_MIN + (*dig - '0')) / 10)
				return json_reader_fail(j, "too big integer");
			v = v * 10 - (*dig - '0');
		}
		if (*s != '-') {
			if (v == INT64_MIN)
				return json_reader_fail(j, "too big integer");
			v = -v;
		}
		json_reader_skip_nul(j);
		return json_integer(v);
	}
	n = (size_t)(q - s);
	copy = n < sizeof(tmp) ? tmp : malloc(n + 1);
	if (copy == NULL)
		return json_reader_fail(j, "out of memory");
	memcpy(copy, s, n);
	copy[n] = '\0';
	errno = 0;
	d = strtod(copy, &endp);
	if (copy != tmp)
		free(copy);
	/* An underflow (1e-400, 4.9e-324) is a real like any other. */
	if (errno == ERANGE && isinf(d))
		return json_reader_fail(j, "real number overflow");
	json_reader_skip_nul(j);
	return json_real(d);
}

static json_t *
json_reader_object(struct json_reader *j)
{
	unsigned char *owned;
	const char *key;
	json_t *obj, *v;
	size_t keylen;

	if ((obj = json_object()) == NULL)
		return json_reader_fail(j, "out of memory");
	j->p++;
	json_reader_ws(j);
	if (j->p < j->end && *j->p == '}') {
		j->p++;
		return obj;
	}
	for (;;) {
		if (j->p >= j->end || *j->p != '"' ||
		    json_reader_string(j, &key, &keylen, &owned) == -1)
			goto bad;
		if (memchr(key, '\0', keylen) != NULL) {
			free(owned);
			goto bad;
		}
		json_reader_ws(j);
		if (j->p >= j->end || *j->p != ':') {
			free(owned);
			goto bad;
		}
		j->p++;
		v = json_reader_value(j);
		if (v == NULL || json_object_setn_new_nocheck(obj, key, keylen,
		    v) == -1) {
			free(owned);
			goto bad;
		}
		free(owned);
		json_reader_ws(j);
		if (j->p < j->end && *j->p == ',') {
			j->p++;
			json_reader_ws(j);
			continue;
		}
		if (j->p < j->end && *j->p == '}') {
			j->p++;
			return obj;
		}
		goto bad;
	}
bad:
	json_decref(obj);
	return json_reader_fail(j, "invalid object");
}

static json_t *
json_reader_array(struct json_reader *j)
{
	json_t *arr, *v;

	if ((arr = json_array()) == NULL)
		return json_reader_fail(j, "out of memory");
	j->p++;
	json_reader_ws(j);
	if (j->p < j->end && *j->p == ']') {
		j->p++;
		return arr;
	}
	for (;;) {
		if ((v = json_reader_value(j)) == NULL ||
		    json_array_append_new(arr, v) == -1)
			break;
		json_reader_ws(j);
		if (j->p < j->end && *j->p == ',') {
			j->p++;
			continue;
		}
		if (j->p < j->end && *j->p == ']') {
			j->p++;
			return arr;
		}
		break;
	}
	json_decref(arr);
	return json_reader_fail(j, "invalid array");
}

static json_t *
json_reader_literal(struct json_reader *j, const char *word, json_t *v)
{
	size_t n = strlen(word);

	if ((size_t)(j->end - j->p) < n || memcmp(j->p, word, n) != 0)
		return json_reader_fail(j, "invalid token");
	j->p += n;
	json_reader_skip_nul(j);
	return v;
}

static json_t *
json_reader_value(struct json_reader *j)
{
	unsigned char *owned;
	const char *s;
	json_t *v;
	size_t len;

	json_reader_ws(j);
	if (j->p >= j->end)
		return json_reader_fail(j, "unexpected end of input");
	/* Like jansson, count every value, scalars too: "[1]" is 2 deep. */
	if (j->depth >= JSON_READER_DEPTH)
		return json_reader_fail(j, "too deeply nested");
	j->depth++;
	switch (*j->p) {
	case '{':
		v = json_reader_object(j);
		break;
	case '[':
		v = json_reader_array(j);
		break;
	case '"':
		if (json_reader_string(j, &s, &len, &owned) == -1) {
			v = NULL;
			break;
		}
		if (memchr(s, '\0', len) != NULL)
			v = json_reader_fail(j, "\\u0000 is not allowed");
		else if ((v = json_stringn_nocheck(s, len)) == NULL)
			json_reader_fail(j, "out of memory");
		free(owned);
		break;
	case 't':
		v = json_reader_literal(j, "true", json_true());
		break;
	case 'f':
		v = json_reader_literal(j, "false", json_false());
		break;
	case 'n':
		v = json_reader_literal(j, "null", json_null());
		break;
	default:
		v = json_reader_number(j);
		break;
	}
	j->depth--;
	return v;
}

/* One reply line into a new object or array; NULL with *why. */
json_t *
json_reader_load(const char *text, size_t len, const char **why)
{
	struct json_reader j;
	json_t *v;

	j.p = (const unsigned char *)text;
	j.end = j.p + len;
	j.depth = 0;
	j.error = NULL;
	json_reader_ws(&j);
	if (j.p < j.end && *j.p != '{' && *j.p != '[') {
		*why = "'[' or '{' expected";
		return NULL;
	}
	v = json_reader_value(&j);
	json_reader_ws(&j);
	if (v != NULL && j.p != j.end) {
		json_decref(v);
		v = json_reader_fail(&j, "end of file expected");
	}
	*why = j.error != NULL ? j.error : "parse error";
	return v;
}

