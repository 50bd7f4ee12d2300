/*
 * randid: random identifiers from OpenSSL's CSPRNG (RAND_bytes): the ids of
 * events the admin API makes, JWT ids (jti), the UUIDs of CloudEvents that
 * deprovctl publishes. Not for anything that must be secret beyond being
 * unguessable.
 */
#ifndef DEPROV_RANDID_H
#define DEPROV_RANDID_H

#include <stddef.h>

#define RANDID_UUID_LEN		36	/* "8-4-4-4-12" hex digits and dashes */

/*
 * The lowercase hex of nbytes random bytes, NUL-terminated, into out
 * (which must hold 2 * nbytes + 1). 0, or -1 when out is too small or there
 * is no randomness (out is then "").
 */
int		 randid_hex(char *out, size_t outlen, size_t nbytes);
/* A random (version 4, RFC 9562) UUID in lowercase; 0 or -1 (out ""). */
int		 randid_uuid(char out[RANDID_UUID_LEN + 1]);

#endif
