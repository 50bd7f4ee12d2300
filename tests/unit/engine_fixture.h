/* The engine test fixture: see engine_fixture.c. */
#ifndef DEPROV_ENGINE_FIXTURE_H
#define DEPROV_ENGINE_FIXTURE_H

#include <time.h>

#include "deprov/connector.h"
#include "deprov/engine.h"
#include "deprov/http.h"
#include "deprov/log.h"
#include "deprov/store.h"

#define MAX_CALLS 256

extern char	calls[MAX_CALLS][96];	/* "case:target:step" in start order */
extern int	ncalls;
extern char	fail_step[64];		/* "target:step" that fails */
extern int	hold;			/* 1: steps never finish (simulated crash) */
extern const struct connector fake_connector;

struct fixture {
	char			 dir[64];
	char			*db;
	struct config		 cfg;
	struct config_target	 targets[2];
	struct runbook_set	*rbs;
	struct event_base	*base;
	struct http		*http;
	struct store		*store;
	struct engine		*eng;
};

struct state_of {
	char state[32];
	char error[256];
	int64_t frozen, completed;
};

void		 fixture_engine(struct fixture *);
int		 setup(void **state);
int		 teardown(void **state);
long long	 submit(struct fixture *, const char *id, const char *type,
		    const char *emp, time_t effective);
struct state_of	 case_state(struct fixture *, long long id);
void		 run_until_idle(struct fixture *, int ms);
int		 call_index(const char *what);

#endif
