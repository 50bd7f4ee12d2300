/*
 * crashguard: the crash-loop breaker of Kafka intake. A message that makes
 * the process crash (a decoder bug, an abort) is read again at the next
 * start, because its offset was never stored: without a breaker it
 * crashes every start and intake stops for good. So before a message is
 * handed to the decoder, its topic, partition and offset go into a small
 * file beside the store, and once the messages handled together are durable
 * the file is told they are done. A start that finds messages in the file
 * knows the last run died while handling them.
 *
 * Counting: a message being handled when the process crashed (died of a
 * fatal signal: crashguard_open installs handlers that mark the record) has
 * crashed it once; one being handled when the process was killed (kill -9,
 * a power cut) is simply read again: restarts never count against a
 * message. Handled again at the next start and crashing it again, twice.
 * The caller asks crashguard_crashes for every message before handling it: at
 * 1 it handles the message on its own (a crash inside a batch says only
 * that one of the batch's messages is to blame, handled alone the next
 * crash names it), at 2 it gives up on it (dead letter) without handing it
 * to the decoder again. A message handled without a crash, or whose
 * partition's stored offset has passed it, is no longer a suspect: its
 * count starts from 0 again.
 *
 * The file survives the process, not the machine: it is written with a
 * plain pwrite() and never synced, which costs a copy into the page cache
 * (no disk wait on the loop) and is all a process crash needs. A power cut
 * may lose the last record; it does not loop.
 */
#ifndef DEPROV_CRASHGUARD_H
#define DEPROV_CRASHGUARD_H

#include <stddef.h>
#include <stdint.h>

struct crashguard;

/*
 * Open (or create) the record at path and read what the last run left in
 * it (logged). Returns NULL with err when the file cannot be used.
 */
struct crashguard	*crashguard_open(const char *path, char *err,
			    size_t errlen);
void			 crashguard_free(struct crashguard *);

/*
 * How many starts in a row died while (topic, partition, offset) was being
 * handled: 0 for a message that never crashed the process.
 */
int			 crashguard_crashes(const struct crashguard *,
			    const char *topic, int32_t partition, int64_t offset);
/* About to hand this message to the decoder: recorded (with the others since the last idle). */
void			 crashguard_handling(struct crashguard *, const char *topic,
			    int32_t partition, int64_t offset);
/*
 * The partition's offset next is stored for commit: every message before it
 * is durable or dead-lettered, so none of them is a suspect any more (a
 * message set aside without being handed to the decoder stays one until
 * then, in case it is read again before its dead letter is taken).
 */
void			 crashguard_passed(struct crashguard *, const char *topic,
			    int32_t partition, int64_t next);
/*
 * Every message recorded since the last idle is handled (durable, dead-
 * lettered or to be read again): nothing is in the decoder's hands now, and
 * those messages are no longer suspects.
 */
void			 crashguard_idle(struct crashguard *);
/*
 * Mark the record "crashed" (async-signal-safe): what the fatal-signal
 * handlers do before the signal ends the process; tests play a crash so.
 */
void			 crashguard_note_crash(int sig);

#endif
