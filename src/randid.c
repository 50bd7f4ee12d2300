/*
 * randid: random hex ids and version 4 UUIDs from RAND_bytes.
 */
#include <stddef.h>
#include <string.h>

#include <openssl/rand.h>

#include "deprov/randid.h"

#define RANDID_MAX_BYTES	64

/* bytes as lowercase hex into out (2 * n + 1 bytes). */
static void
randid_tohex(const unsigned char *bytes, size_t n, char *out)
{
	static const char	digits[] = "0123456789abcdef";
	size_t			i;

	for (i = 0; i < n; i++) {
		out[i * 2] = digits[bytes[i] >> 4];
		out[i * 2 + 1] = digits[bytes[i] & 0xf];
	}
	out[n * 2] = '\0';
}

int
randid_hex(char *out, size_t outlen, size_t nbytes)
{
	unsigned char rnd[RANDID_MAX_BYTES];

	if (outlen > 0)
		out[0] = '\0';
	if (nbytes == 0 || nbytes > sizeof rnd || outlen < nbytes * 2 + 1 ||
	    RAND_bytes(rnd, (int)nbytes) != 1)
		return -1;
	randid_tohex(rnd, nbytes, out);
	return 0;
}

int
randid_uuid(char out[RANDID_UUID_LEN + 1])
{
	unsigned char	rnd[16];
	char		hex[33];

	out[0] = '\0';
	if (RAND_bytes(rnd, sizeof rnd) != 1)
		return -1;
	rnd[6] = (unsigned char)((rnd[6] & 0x0f) | 0x40);	/* version 4 */
	rnd[8] = (unsigned char)((rnd[8] & 0x3f) | 0x80);	/* variant 10 */
	randid_tohex(rnd, sizeof rnd, hex);
	memcpy(out, hex, 8);
	out[8] = '-';
	memcpy(out + 9, hex + 8, 4);
	out[13] = '-';
	memcpy(out + 14, hex + 12, 4);
	out[18] = '-';
	memcpy(out + 19, hex + 16, 4);
	out[23] = '-';
	memcpy(out + 24, hex + 20, 12);
	out[36] = '\0';
	return 0;
}
