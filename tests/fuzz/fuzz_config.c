/*
 * libFuzzer harness for the config loader: each input is written to one
 * temp file that config_load() reads with CONFIG_NO_USERS. Includes in an
 * input may point anywhere; reading is all the loader does with them.
 */
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "config.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static char fuzz_path[] = "/tmp/superd-fuzz-config-XXXXXX";
static int fuzz_fd = -1;

static void
fuzz_config_cleanup(void)
{
	unlink(fuzz_path);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct config *cfg;
	struct diags d;
	char buf[1024];
	size_t i;

	if (fuzz_fd == -1) {
		if ((fuzz_fd = mkstemp(fuzz_path)) == -1)
			abort();
		atexit(fuzz_config_cleanup);
	}
	if (ftruncate(fuzz_fd, 0) == -1 ||
	    pwrite(fuzz_fd, data, size, 0) != (ssize_t)size)
		abort();
	diags_init(&d);
	cfg = config_load(fuzz_path, CONFIG_NO_USERS, &d);
	/* A config is returned exactly when there is no error. */
	if ((cfg == NULL) != (diags_errors(&d) > 0))
		abort();
	for (i = 0; i < d.n; i++)
		diags_format(&d.v[i], buf, sizeof(buf));
	config_free(cfg);
	diags_free(&d);
	return 0;
}
