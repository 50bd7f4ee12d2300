/*
 * deprovctl: the operator CLI. Talks to the admin API of a running deprovd
 * (cases, case, freeze, unfreeze, retry, cancel, reinstate), publishes test
 * leaver events to Kafka, verifies and exports the audit trail straight
 * from the SQLite file, and checks a configuration like `deprovd --check`.
 * The program is src/ctl/: a core with the command table and dispatcher,
 * and one file per command group (ctl.h says which).
 */
#include <signal.h>

#include "deprov/log.h"
#include "ctl.h"

int
main(int argc, char **argv)
{
	signal(SIGPIPE, SIG_IGN);
	log_set_level(LOG_LEVEL_ERROR);
	return ctl_main(ctl_cmd_table, argc, argv);
}
