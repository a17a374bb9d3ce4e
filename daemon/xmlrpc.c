/*
 * XML-RPC decode (expat) and encode. The decoder keeps a stack of open
 * containers; each </value> attaches the value just finished to the
 * container on top (an array, a struct member, or the params list), so
 * one pending slot is enough however deep the nesting.
 */
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <expat.h>
#include <jansson.h>

#include "xmlrpc.h"

#define XMLRPC_MAX_TEXT	  (1024 * 1024)	/* bytes in one scalar */

enum xmlrpc_frame_kind {
	XMLRPC_FRAME_PARAMS = 0,
	XMLRPC_FRAME_ARRAY,
	XMLRPC_FRAME_STRUCT,
	XMLRPC_FRAME_MEMBER
};

struct xmlrpc_frame {
	enum xmlrpc_frame_kind kind;
	json_t	*container;	/* array, object; NULL: a member */
	char	*name;		/* member name */
	json_t	*value;		/* member value */
};

struct xmlrpc_dec {
	XML_Parser parser;
	struct xmlrpc_frame stack[XMLRPC_MAX_DEPTH + 1];
	int	 nframes;
	int	 depth;
	char	*text;
	size_t	 ntext;
	size_t	 captext;
	json_t	*pending;	/* the value about to be attached */
	char	*method;
	bool	 in_call;
	bool	 in_params;
	const char *err;
};

static const struct {
	int	 code;
	const char *name;
} xmlrpc_faults[] = {
	{ XMLRPC_UNKNOWN_METHOD, "UNKNOWN_METHOD" },
	{ XMLRPC_INCORRECT_PARAMETERS, "INCORRECT_PARAMETERS" },
	{ XMLRPC_BAD_ARGUMENTS, "BAD_ARGUMENTS" },
	{ XMLRPC_SIGNATURE_UNSUPPORTED, "SIGNATURE_UNSUPPORTED" },
	{ XMLRPC_SHUTDOWN_STATE, "SHUTDOWN_STATE" },
	{ XMLRPC_BAD_NAME, "BAD_NAME" },
	{ XMLRPC_BAD_SIGNAL, "BAD_SIGNAL" },
	{ XMLRPC_NO_FILE, "NO_FILE" },
	{ XMLRPC_NOT_EXECUTABLE, "NOT_EXECUTABLE" },
	{ XMLRPC_FAILED, "FAILED" },
	{ XMLRPC_ABNORMAL_TERMINATION, "ABNORMAL_TERMINATION" },
	{ XMLRPC_SPAWN_ERROR, "SPAWN_ERROR" },
	{ XMLRPC_ALREADY_STARTED, "ALREADY_STARTED" },
	{ XMLRPC_NOT_RUNNING, "NOT_RUNNING" },
	{ XMLRPC_SUCCESS, "SUCCESS" },
	{ XMLRPC_ALREADY_ADDED, "ALREADY_ADDED" },
	{ XMLRPC_STILL_RUNNING, "STILL_RUNNING" },
	{ XMLRPC_CANT_REREAD, "CANT_REREAD" },
};

const char *
xmlrpc_fault_name(int code)
{
	size_t i;

	for (i = 0; i < sizeof(xmlrpc_faults) / sizeof(xmlrpc_faults[0]); i++)
		if (xmlrpc_faults[i].code == code)
			return xmlrpc_faults[i].name;
	return "FAILED";
}

/* ---------------------------------------------------------------- */
/* Decoding. */

static void
xmlrpc_dec_fail(struct xmlrpc_dec *d, const char *err)
{
	if (d->err == NULL)
		d->err = err;
	XML_StopParser(d->parser, XML_FALSE);
}

static int
xmlrpc_b64_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

char *
xmlrpc_base64_decode(const char *in, size_t len, size_t *outlen)
{
	unsigned long acc = 0;
	size_t i, n = 0;
	int bits = 0, v, pad = 0;
	char *out;

	if ((out = malloc(len / 4 * 3 + 4)) == NULL)
		return NULL;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)in[i];

		if (c == ' ' || c == '\t' || c == '\r' || c == '\n')
			continue;
		if (c == '=') {
			pad++;
			continue;
		}
		if (pad > 0 || (v = xmlrpc_b64_value(c)) < 0)
			goto bad;
		acc = (acc << 6) | (unsigned long)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[n++] = (char)((acc >> bits) & 0xff);
		}
	}
	if (pad > 2 || bits >= 6)
		goto bad;
	out[n] = '\0';
	*outlen = n;
	return out;
bad:
	free(out);
	return NULL;
}

/* The scalar text as a value of element `el`; NULL (and failed) when
 * it does not convert. */
static json_t *
xmlrpc_scalar(struct xmlrpc_dec *d, const char *el)
{
	const char *t = d->text != NULL ? d->text : "";
	char *end;
	long long ll;
	double dbl;
	size_t n;
	char *raw;
	json_t *v;

	if (strcmp(el, "string") == 0 || strcmp(el, "dateTime.iso8601") == 0)
		return json_stringn(t, d->ntext);
	if (strcmp(el, "int") == 0 || strcmp(el, "i4") == 0 ||
	    strcmp(el, "i8") == 0) {
		errno = 0;
		while (*t == ' ' || *t == '\t' || *t == '\n' || *t == '\r')
			t++;
		ll = strtoll(t, &end, 10);
		while (*end == ' ' || *end == '\t' || *end == '\n' ||
		    *end == '\r')
			end++;
		if (errno != 0 || end == t || *end != '\0' ||
		    (el[1] != '8' && (ll < INT32_MIN || ll > INT32_MAX)))
			return NULL;
		return json_integer((json_int_t)ll);
	}
	if (strcmp(el, "boolean") == 0) {
		if (strcmp(t, "1") == 0)
			return json_true();
		if (strcmp(t, "0") == 0)
			return json_false();
		return NULL;
	}
	if (strcmp(el, "double") == 0) {
		errno = 0;
		dbl = strtod(t, &end);
		if (errno != 0 || end == t || *end != '\0')
			return NULL;
		return json_real(dbl);
	}
	if (strcmp(el, "base64") == 0) {
		if ((raw = xmlrpc_base64_decode(t, d->ntext, &n)) == NULL)
			return NULL;
		v = json_stringn(raw, n);
		free(raw);
		return v;
	}
	if (strcmp(el, "nil") == 0)
		return json_null();
	return NULL;
}

static bool
xmlrpc_is_scalar(const char *el)
{
	static const char *const names[] = { "string", "int", "i4", "i8",
		"boolean", "double", "base64", "nil", "dateTime.iso8601",
		NULL };
	size_t i;

	for (i = 0; names[i] != NULL; i++)
		if (strcmp(el, names[i]) == 0)
			return true;
	return false;
}

static struct xmlrpc_frame *
xmlrpc_top(struct xmlrpc_dec *d)
{
	return d->nframes > 0 ? &d->stack[d->nframes - 1] : NULL;
}

static void
xmlrpc_push(struct xmlrpc_dec *d, enum xmlrpc_frame_kind kind,
    json_t *container)
{
	struct xmlrpc_frame *f;

	if (d->nframes > XMLRPC_MAX_DEPTH || (kind != XMLRPC_FRAME_MEMBER &&
	    container == NULL)) {
		json_decref(container);
		xmlrpc_dec_fail(d, "out of memory");
		return;
	}
	f = &d->stack[d->nframes++];
	memset(f, 0, sizeof(*f));
	f->kind = kind;
	f->container = container;
}

static void
xmlrpc_frame_clear(struct xmlrpc_frame *f)
{
	json_decref(f->container);
	json_decref(f->value);
	free(f->name);
	memset(f, 0, sizeof(*f));
}

static void XMLCALL
xmlrpc_on_start(void *arg, const XML_Char *el, const XML_Char **attrs)
{
	struct xmlrpc_dec *d = arg;

	(void)attrs;
	if (d->err != NULL)
		return;
	if (++d->depth > XMLRPC_MAX_DEPTH) {
		xmlrpc_dec_fail(d, "nested too deeply");
		return;
	}
	d->ntext = 0;
	if (d->text != NULL)
		d->text[0] = '\0';
	if (d->depth == 1) {
		if (strcmp(el, "methodCall") != 0)
			xmlrpc_dec_fail(d, "not a methodCall");
		d->in_call = true;
		return;
	}
	if (strcmp(el, "params") == 0) {
		if (d->depth != 2 || d->in_params)
			xmlrpc_dec_fail(d, "misplaced params");
		d->in_params = true;
		return;
	}
	if (strcmp(el, "value") == 0) {
		json_decref(d->pending);
		d->pending = NULL;
		if (xmlrpc_top(d) == NULL)
			xmlrpc_dec_fail(d, "value outside params");
		return;
	}
	if (strcmp(el, "array") == 0)
		xmlrpc_push(d, XMLRPC_FRAME_ARRAY, json_array());
	else if (strcmp(el, "struct") == 0)
		xmlrpc_push(d, XMLRPC_FRAME_STRUCT, json_object());
	else if (strcmp(el, "member") == 0) {
		if (xmlrpc_top(d) == NULL ||
		    xmlrpc_top(d)->kind != XMLRPC_FRAME_STRUCT)
			xmlrpc_dec_fail(d, "member outside struct");
		else
			xmlrpc_push(d, XMLRPC_FRAME_MEMBER, NULL);
	}
}

/* Attach the finished value to the container on top. */
static void
xmlrpc_attach(struct xmlrpc_dec *d, json_t *v)
{
	struct xmlrpc_frame *f = xmlrpc_top(d);

	if (v == NULL) {
		xmlrpc_dec_fail(d, "bad value");
		return;
	}
	if (f == NULL) {
		json_decref(v);
		xmlrpc_dec_fail(d, "value outside params");
		return;
	}
	switch (f->kind) {
	case XMLRPC_FRAME_PARAMS:
	case XMLRPC_FRAME_ARRAY:
		if (json_array_append_new(f->container, v) == -1)
			xmlrpc_dec_fail(d, "out of memory");
		break;
	case XMLRPC_FRAME_MEMBER:
		json_decref(f->value);
		f->value = v;
		break;
	case XMLRPC_FRAME_STRUCT:
		json_decref(v);
		xmlrpc_dec_fail(d, "value outside member");
		break;
	}
}

static void XMLCALL
xmlrpc_on_end(void *arg, const XML_Char *el)
{
	struct xmlrpc_dec *d = arg;
	struct xmlrpc_frame *f;

	if (d->err != NULL)
		return;
	d->depth--;
	if (xmlrpc_is_scalar(el)) {
		json_decref(d->pending);
		if ((d->pending = xmlrpc_scalar(d, el)) == NULL)
			xmlrpc_dec_fail(d, "bad scalar");
	} else if (strcmp(el, "value") == 0) {
		if (d->pending == NULL)	/* untyped: a string */
			d->pending = json_stringn(d->text != NULL ? d->text :
			    "", d->ntext);
		xmlrpc_attach(d, d->pending);
		d->pending = NULL;
	} else if (strcmp(el, "array") == 0 || strcmp(el, "struct") == 0) {
		f = xmlrpc_top(d);
		if (f == NULL || f->kind != (el[0] == 'a' ?
		    XMLRPC_FRAME_ARRAY : XMLRPC_FRAME_STRUCT)) {
			xmlrpc_dec_fail(d, "unbalanced container");
			return;
		}
		json_decref(d->pending);
		d->pending = f->container;
		f->container = NULL;
		d->nframes--;
	} else if (strcmp(el, "name") == 0) {
		f = xmlrpc_top(d);
		if (f == NULL || f->kind != XMLRPC_FRAME_MEMBER) {
			xmlrpc_dec_fail(d, "name outside member");
			return;
		}
		free(f->name);
		f->name = strdup(d->text != NULL ? d->text : "");
		if (f->name == NULL)
			xmlrpc_dec_fail(d, "out of memory");
	} else if (strcmp(el, "member") == 0) {
		f = xmlrpc_top(d);
		if (f == NULL || f->kind != XMLRPC_FRAME_MEMBER ||
		    f->name == NULL || f->value == NULL || d->nframes < 2) {
			xmlrpc_dec_fail(d, "incomplete member");
			return;
		}
		if (json_object_set_new(d->stack[d->nframes - 2].container,
		    f->name, f->value) == -1)
			xmlrpc_dec_fail(d, "bad member");
		f->value = NULL;
		xmlrpc_frame_clear(f);
		d->nframes--;
	} else if (strcmp(el, "methodName") == 0) {
		if (d->depth != 1 || d->method != NULL) {
			xmlrpc_dec_fail(d, "misplaced methodName");
			return;
		}
		if (d->ntext == 0 || d->ntext > XMLRPC_MAX_NAME ||
		    strlen(d->text) != d->ntext) {
			xmlrpc_dec_fail(d, "bad methodName");
			return;
		}
		if ((d->method = strdup(d->text)) == NULL)
			xmlrpc_dec_fail(d, "out of memory");
	}
}

static void XMLCALL
xmlrpc_on_text(void *arg, const XML_Char *s, int len)
{
	struct xmlrpc_dec *d = arg;
	size_t cap;
	char *p;

	if (d->err != NULL || len <= 0)
		return;
	if ((size_t)len > XMLRPC_MAX_TEXT - d->ntext) {
		xmlrpc_dec_fail(d, "text too long");
		return;
	}
	if (d->ntext + (size_t)len + 1 > d->captext) {
		cap = d->captext > 0 ? d->captext : 256;
		while (cap < d->ntext + (size_t)len + 1)
			cap *= 2;
		if ((p = realloc(d->text, cap)) == NULL) {
			xmlrpc_dec_fail(d, "out of memory");
			return;
		}
		d->text = p;
		d->captext = cap;
	}
	memcpy(d->text + d->ntext, s, (size_t)len);
	d->ntext += (size_t)len;
	d->text[d->ntext] = '\0';
}

/* Any DOCTYPE: an XML-RPC call never needs one, and refusing it refuses
 * every entity declaration (billion laughs, external entities). */
static void XMLCALL
xmlrpc_on_doctype(void *arg, const XML_Char *name, const XML_Char *sysid,
    const XML_Char *pubid, int has_internal_subset)
{
	(void)name;
	(void)sysid;
	(void)pubid;
	(void)has_internal_subset;
	xmlrpc_dec_fail(arg, "DOCTYPE refused");
}

static void XMLCALL
xmlrpc_on_entity(void *arg, const XML_Char *name, int is_param,
    const XML_Char *value, int value_len, const XML_Char *base,
    const XML_Char *sysid, const XML_Char *pubid, const XML_Char *notation)
{
	(void)name;
	(void)is_param;
	(void)value;
	(void)value_len;
	(void)base;
	(void)sysid;
	(void)pubid;
	(void)notation;
	xmlrpc_dec_fail(arg, "entity declaration refused");
}

int
xmlrpc_decode_call(const char *body, size_t len, char **method,
    json_t **params, const char **err)
{
	struct xmlrpc_dec d;
	int i, rc = -1;

	*method = NULL;
	*params = NULL;
	if (len > INT_MAX) {
		*err = "body too long";
		return -1;
	}
	memset(&d, 0, sizeof(d));
	if ((d.parser = XML_ParserCreate("UTF-8")) == NULL) {
		*err = "out of memory";
		return -1;
	}
	XML_SetUserData(d.parser, &d);
	XML_SetElementHandler(d.parser, xmlrpc_on_start, xmlrpc_on_end);
	XML_SetCharacterDataHandler(d.parser, xmlrpc_on_text);
	XML_SetStartDoctypeDeclHandler(d.parser, xmlrpc_on_doctype);
	XML_SetEntityDeclHandler(d.parser, xmlrpc_on_entity);
	xmlrpc_push(&d, XMLRPC_FRAME_PARAMS, json_array());
	if (d.err == NULL && XML_Parse(d.parser, body, (int)len, XML_TRUE) !=
	    XML_STATUS_OK && d.err == NULL)
		d.err = "malformed XML";
	if (d.err == NULL && d.method == NULL)
		d.err = "no methodName";
	if (d.err == NULL && d.nframes != 1)
		d.err = "unbalanced containers";
	if (d.err == NULL) {
		*method = d.method;
		d.method = NULL;
		*params = d.stack[0].container;
		d.stack[0].container = NULL;
		rc = 0;
	} else
		*err = d.err;
	for (i = 0; i < d.nframes; i++)
		xmlrpc_frame_clear(&d.stack[i]);
	json_decref(d.pending);
	free(d.method);
	free(d.text);
	XML_ParserFree(d.parser);
	return rc;
}

/* ---------------------------------------------------------------- */
/* Encoding. */

struct xmlrpc_buf {
	char	*p;
	size_t	 len;
	size_t	 cap;
	bool	 failed;
};

static void
xmlrpc_put(struct xmlrpc_buf *b, const char *s, size_t n)
{
	size_t cap;
	char *p;

	if (b->failed)
		return;
	if (n + 1 > b->cap - b->len) {
		cap = b->cap > 0 ? b->cap : 1024;
		while (cap - b->len < n + 1) {
			if (cap > SIZE_MAX / 2) {
				b->failed = true;
				return;
			}
			cap *= 2;
		}
		if ((p = realloc(b->p, cap)) == NULL) {
			b->failed = true;
			return;
		}
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

#define XMLRPC_PUT(b, lit)	  xmlrpc_put((b), (lit), sizeof(lit) - 1)

/* Text of valid UTF-8 (jansson's strings are), escaped for XML; C0
 * controls but tab, LF and CR are not XML characters: U+FFFD. */
static void
xmlrpc_put_text(struct xmlrpc_buf *b, const char *s, size_t n)
{
	size_t i, start = 0;
	unsigned char c;

	for (i = 0; i < n; i++) {
		c = (unsigned char)s[i];
		if (c != '<' && c != '>' && c != '&' && c != '\r' &&
		    (c >= 0x20 || c == '\t' || c == '\n'))
			continue;
		xmlrpc_put(b, s + start, i - start);
		start = i + 1;
		if (c == '<')
			XMLRPC_PUT(b, "&lt;");
		else if (c == '>')
			XMLRPC_PUT(b, "&gt;");
		else if (c == '&')
			XMLRPC_PUT(b, "&amp;");
		else if (c == '\r')
			XMLRPC_PUT(b, "&#13;");
		else
			XMLRPC_PUT(b, "\xef\xbf\xbd");
	}
	xmlrpc_put(b, s + start, n - start);
}

static void
xmlrpc_put_value(struct xmlrpc_buf *b, const json_t *v, int depth)
{
	char num[64];
	const char *key;
	json_t *item, *obj;
	size_t i;
	int n;

	if (depth > XMLRPC_MAX_DEPTH) {
		b->failed = true;
		return;
	}
	XMLRPC_PUT(b, "<value>");
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		/* jansson's iteration takes a non-const object. */
		memcpy(&obj, &v, sizeof(obj));
		XMLRPC_PUT(b, "<struct>\n");
		json_object_foreach(obj, key, item) {
			XMLRPC_PUT(b, "<member>\n<name>");
			xmlrpc_put_text(b, key, strlen(key));
			XMLRPC_PUT(b, "</name>\n");
			xmlrpc_put_value(b, item, depth + 1);
			XMLRPC_PUT(b, "</member>\n");
		}
		XMLRPC_PUT(b, "</struct>");
		break;
	case JSON_ARRAY:
		XMLRPC_PUT(b, "<array><data>\n");
		json_array_foreach(v, i, item)
			xmlrpc_put_value(b, item, depth + 1);
		XMLRPC_PUT(b, "</data></array>");
		break;
	case JSON_STRING:
		XMLRPC_PUT(b, "<string>");
		xmlrpc_put_text(b, json_string_value(v), json_string_length(v));
		XMLRPC_PUT(b, "</string>");
		break;
	case JSON_INTEGER:
		n = snprintf(num, sizeof(num), "<int>%lld</int>",
		    (long long)json_integer_value(v));
		xmlrpc_put(b, num, (size_t)n);
		break;
	case JSON_REAL:
		n = snprintf(num, sizeof(num), "<double>%.17g</double>",
		    json_real_value(v));
		xmlrpc_put(b, num, (size_t)n);
		break;
	case JSON_TRUE:
		XMLRPC_PUT(b, "<boolean>1</boolean>");
		break;
	case JSON_FALSE:
		XMLRPC_PUT(b, "<boolean>0</boolean>");
		break;
	case JSON_NULL:
	default:
		XMLRPC_PUT(b, "<nil/>");
		break;
	}
	XMLRPC_PUT(b, "</value>\n");
}

static char *
xmlrpc_finish(struct xmlrpc_buf *b, size_t *len)
{
	if (b->failed) {
		free(b->p);
		return NULL;
	}
	*len = b->len;
	return b->p;
}

char *
xmlrpc_encode_response(const json_t *value, size_t *len)
{
	struct xmlrpc_buf b = { NULL, 0, 0, false };

	XMLRPC_PUT(&b, "<?xml version='1.0'?>\n<methodResponse>\n"
	    "<params>\n<param>\n");
	xmlrpc_put_value(&b, value, 0);
	XMLRPC_PUT(&b, "</param>\n</params>\n</methodResponse>\n");
	return xmlrpc_finish(&b, len);
}

char *
xmlrpc_encode_fault(int code, const char *string, size_t *len)
{
	struct xmlrpc_buf b = { NULL, 0, 0, false };
	char num[32];
	int n;

	XMLRPC_PUT(&b, "<?xml version='1.0'?>\n<methodResponse>\n<fault>\n"
	    "<value><struct>\n<member>\n<name>faultCode</name>\n");
	n = snprintf(num, sizeof(num), "<value><int>%d</int></value>\n", code);
	xmlrpc_put(&b, num, (size_t)n);
	XMLRPC_PUT(&b, "</member>\n<member>\n<name>faultString</name>\n"
	    "<value><string>");
	xmlrpc_put_text(&b, string, strlen(string));
	XMLRPC_PUT(&b, "</string></value>\n</member>\n</struct></value>\n"
	    "</fault>\n</methodResponse>\n");
	return xmlrpc_finish(&b, len);
}
