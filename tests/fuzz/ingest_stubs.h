/*
 * ingest_stubs: the engine, Kafka headers and admin API that fuzz_ingest
 * puts behind src/ingest.c (see ingest_stubs.c).
 */
#ifndef DEPROV_FUZZ_INGEST_STUBS_H
#define DEPROV_FUZZ_INGEST_STUBS_H

#include <stddef.h>

#include "deprov/api.h"

#define FUZZ_HEADERS_MAX	16

/* Kafka headers as kafka_msg.headers points to them here. */
struct fuzz_headers {
	const char	*name[FUZZ_HEADERS_MAX];
	const char	*value[FUZZ_HEADERS_MAX];
	size_t		 len[FUZZ_HEADERS_MAX];
	size_t		 n;
};

/* The handler and argument ingest_routes registered (the Okta hook). */
extern api_handler	 fuzz_hook_handler;
extern void		*fuzz_hook_arg;
/* The status of the last answer the hook gave. */
extern int		 fuzz_hook_code;
/* Events handed to the engine so far. */
extern unsigned long	 fuzz_submitted;

#endif
