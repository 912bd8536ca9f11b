/* fuzz_checkpoint.c — libFuzzer target: the checkpoint reader on arbitrary
 * bytes.  A refusal must be a status with a one-line message; anything
 * accepted must survive being written and read again unchanged.
 * Inputs starting with 'F' are a plain tar whose manifest checksum and
 * first tar header checksum are repaired first, so that mutations of the
 * manifest's text get past the checksums to the checks behind them. */
#include <stddef.h>
#include <stdio.h>
#include <zlib.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include "dg/array.h"
#include "dg/checkpoint.h"
#include "dg/input.h"
#include "dg/error.h"
#include "dg/stream.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	/* Small limits: the fuzzer's memory ceiling is not the point. */
	setenv("DG_CHECKPOINT_MAX_BYTES", "16777216", 1);
	return 0;
}

static void check(const uint8_t *data, size_t size);

static int same(const struct dg_checkpoint *a, const struct dg_checkpoint *b)
{
	if (dg_checkpoint_count(a) != dg_checkpoint_count(b))
		return 0;
	for (size_t i = 0; i < dg_checkpoint_count(a); i++) {
		const struct dg_array *x = dg_checkpoint_tensor_at(a, i);
		const struct dg_array *y = dg_checkpoint_tensor_at(b, i);
		size_t la = 0, lb = 0;
		const void *ba = dg_checkpoint_bytes_at(a, i, &la);
		const void *bb = dg_checkpoint_bytes_at(b, i, &lb);
		if (strcmp(dg_checkpoint_name_at(a, i), dg_checkpoint_name_at(b, i)) != 0)
			return 0;
		if (!x != !y || !ba != !bb)
			return 0;
		if (ba && (la != lb || memcmp(ba, bb, la) != 0))
			return 0;
		if (x && (x->dtype != y->dtype || x->rank != y->rank ||
			  memcmp(x->dims, y->dims, sizeof x->dims) != 0 ||
			  memcmp(x->data, y->data, dg_array_bytes(x)) != 0))
			return 0;
	}
	return dg_checkpoint_fingerprint(a) == dg_checkpoint_fingerprint(b);
}

/* Repairs, in place, the checksum line of a manifest that is the first
 * member of a plain tar, and the checksum of that member's tar header. */
static void repair(uint8_t *t, size_t len)
{
	unsigned long size;
	char field[13], hex[9];
	unsigned sum = 0;

	if (len < 512)
		return;
	memcpy(field, t + 124, 12);
	field[12] = 0;
	size = strtoul(field, NULL, 8);
	if (size >= 18 && size <= len - 512 && t[512 + size - 1] == '\n' &&
	    memcmp(t + 512 + size - 18, "checksum=", 9) == 0) {
		snprintf(hex, sizeof hex, "%08lx",
			 (unsigned long)crc32(0, t + 512, (uInt)(size - 18)));
		memcpy(t + 512 + size - 9, hex, 8);
	}
	memset(t + 148, ' ', 8);
	for (int i = 0; i < 512; i++)
		sum += t[i];
	snprintf(field, 8, "%06o", sum & 0777777);
	memcpy(t + 148, field, 7);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *fixed = NULL;

	if (size > 1 && data[0] == 'F') {
		fixed = malloc(size - 1);
		if (!fixed)
			return 0;
		memcpy(fixed, data + 1, size - 1);
		repair(fixed, size - 1);
		data = fixed;
		size--;
	}
	check(data, size);
	free(fixed);
	return 0;
}

static void check(const uint8_t *data, size_t size)
{
	struct dg_checkpoint *ck = NULL, *again = NULL;
	void *buf;
	size_t len;
	int st;

	(void)dg_checkpoint_sniff(data, size);
	st = dg_checkpoint_read_mem(data, size, "fuzz", &ck);
	/* through the input layer (libarchive's callbacks, as a file or a
	 * pipe is read): the same verdict */
	{
		int fd = memfd_create("fuzz", 0), st2 = -1;
		struct dg_input *in;
		struct dg_checkpoint *other = NULL;
		if (fd >= 0 && write(fd, data, size) == (ssize_t)size && lseek(fd, 0, SEEK_SET) == 0 &&
		    !dg_input_fd(fd, "fuzz", &in)) {
			const void *head;
			size_t got;
			dg_input_peek(in, 1024, &head, &got);
			st2 = dg_checkpoint_read_input(in, 0, &other);
			dg_input_close(in);
			if (!st2 != !st || (!st2 && !same(ck, other)))
				abort();
			dg_checkpoint_free(other);
		}
		if (fd >= 0)
			close(fd);
	}
	if (st) {
		const char *m = dg_errmsg();
		if (ck || !*m || strchr(m, '\n'))
			abort();
		return;
	}
	if (!ck || !*dg_checkpoint_family(ck))
		abort();
	for (size_t i = 0; i < dg_checkpoint_count(ck); i++) {
		const struct dg_array *a = dg_checkpoint_tensor_at(ck, i);
		if (!a && !dg_checkpoint_bytes_at(ck, i, NULL))
			abort();
		if (a && a->rank > DG_MAX_RANK)
			abort();
	}
	if (dg_checkpoint_write_mem(ck, DG_CHECKPOINT_PLAIN, &buf, &len) != 0)
		abort();
	if (dg_checkpoint_read_mem(buf, len, "again", &again) != 0 || !same(ck, again))
		abort();
	free(buf);
	dg_checkpoint_free(again);
	dg_checkpoint_free(ck);
}
