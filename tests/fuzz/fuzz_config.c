/*
 * fuzz_config: config_load on a file holding the input (each target's
 * options checked by its connector), then the ingest module's own section
 * of it (ingest_new without an engine), as `deprovd --check` reads a
 * configuration. It links the whole core (deprov_fuzz_core). Every
 * diagnostic must name the file and, when it names a line, one of its
 * lines; a configuration without diagnostics must be usable (every target
 * with a known kind, an http(s) base URL without a trailing slash, found
 * by its name). Secrets resolved along the way are forgotten after each
 * input (log_secret_clear), as the registry would otherwise fill up.
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "deprov/config.h"
#include "deprov/diag.h"
#include "deprov/ingest.h"
#include "deprov/log.h"

#include "fuzz.h"

static char	*fuzz_config_path;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static char	dir[] = "/tmp/deprov-fuzz-config.XXXXXX";

	fuzz_quiet();
	if (mkdtemp(dir) == NULL ||
	    asprintf(&fuzz_config_path, "%s/deprovd.json", dir) < 0)
		abort();
	return 0;
}

/* Each diagnostic is "<path>: ..." or "<path>:<line>: ..." within the file. */
static void
fuzz_config_diags(const struct diags *d, int maxline)
{
	size_t		 i, plen = strlen(fuzz_config_path);
	const char	*s;
	int		 line;

	for (i = 0; i < diags_count(d); i++) {
		s = diags_get(d, i);
		FUZZ_CHECK(strncmp(s, fuzz_config_path, plen) == 0 &&
		    s[plen] == ':', "diagnostic \"%s\"", s);
		if (s[plen + 1] >= '0' && s[plen + 1] <= '9') {
			line = atoi(s + plen + 1);
			FUZZ_CHECK(line >= 1 && line <= maxline, "diagnostic on "
			    "line %d of %d: %s", line, maxline, s);
		}
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct config		*cfg;
	struct ingest		*in = NULL;
	struct diags		*d;
	const struct config_target *t;
	size_t			 i, len;
	int			 fd, maxline = 1;

	if ((fd = open(fuzz_config_path, O_WRONLY | O_CREAT | O_TRUNC,
	    0600)) == -1 || (size > 0 && write(fd, data, size) !=
	    (ssize_t)size))
		abort();
	close(fd);
	for (i = 0; i < size; i++)
		if (data[i] == '\n')
			maxline++;
	if ((d = diags_new()) == NULL)
		abort();
	cfg = config_load(fuzz_config_path, d);
	if (cfg != NULL)
		in = ingest_new(cfg, NULL, d);
	fuzz_config_diags(d, maxline);
	if (cfg != NULL && diags_count(d) == 0) {
		for (i = 0; i < cfg->ntargets; i++) {
			t = &cfg->targets[i];
			FUZZ_CHECK(t->name != NULL && config_kind_known(t->kind),
			    "target %zu without a name or a known kind", i);
			FUZZ_CHECK(config_target_find(cfg, t->name) == t,
			    "target \"%s\" is not found by its name", t->name);
			FUZZ_CHECK(t->base_url != NULL &&
			    (strncmp(t->base_url, "http://", 7) == 0 ||
			    strncmp(t->base_url, "https://", 8) == 0),
			    "target \"%s\" without an http(s) base_url", t->name);
			len = strlen(t->base_url);
			FUZZ_CHECK(t->base_url[len - 1] != '/', "target \"%s\": "
			    "base_url ends in '/'", t->name);
			FUZZ_CHECK(t->auth.type != NULL, "target \"%s\" without "
			    "an auth type", t->name);
		}
	}
	ingest_free(in);
	config_free(cfg);
	diags_free(d);
	log_secret_clear();
	return 0;
}
