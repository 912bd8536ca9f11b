/* dg-info — describes what it is given: the records of tensor streams (and,
 * through the same dispatch, other dg files), or the compute devices. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "dg.h"

#define META_TEXT_MAX 40  /* longer metadata values are cut in text mode */
#define SNIFF_BYTES 1024  /* read to recognize an input (a .dgm needs ~600) */

struct cmdline {
	int json;
	int devices;
	const char *device;   /* --device: show only this one */
	char **files;         /* none: stdin */
	int nfiles;
};

static const char usage_text[] =
	"Usage: dg-info [OPTIONS] [FILE...]\n"
	"       dg-info --devices [--device SPEC] [--json]\n"
	"Describe dg tensor streams record by record and checkpoints\n"
	"(.dgm: manifest and tensors) (FILE '-' or none reads standard\n"
	"input), or list the compute devices.\n"
	"\n"
	"  -j, --json          one JSON object per line\n"
	"  -D, --devices       list compute devices instead\n"
	"  -d, --device SPEC   with --devices: only this device (cpu,\n"
	"                      vulkan, vulkan:N)\n"
	"  -h, --help          show this help and exit\n"
	"  -V, --version       show the version and exit\n"
	"\n"
	"Exit status: 0 ok, 64 usage, 65 bad data, 66 missing file,\n"
	"69 device missing, 74 I/O error.  See dg-info(1), dg-stream(5),\n"
	"dg-checkpoint(5).\n";

/* Fills cl; returns -1 to go on, else the exit status. */
static int parse_cmdline(int argc, char **argv, struct cmdline *cl)
{
	static const struct option opts[] = {
		{"json", no_argument, NULL, 'j'},
		{"devices", no_argument, NULL, 'D'},
		{"device", required_argument, NULL, 'd'},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},
		{0},
	};
	int c;

	memset(cl, 0, sizeof *cl);
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":jDd:hV", opts, NULL)) != -1) {
		switch (c) {
		case 'j': cl->json = 1; break;
		case 'D': cl->devices = 1; break;
		case 'd': cl->device = optarg; break;
		default: {
			int st = dg_tool_option(c == 'V' ? DG_OPT_VERSION : c, usage_text, argv);
			return st < 0 ? 0 : st;   /* -1: help or version shown */
		}
		}
	}
	if (cl->device && !cl->devices)
		return dg_tool_usage("--device goes with --devices");
	if (cl->devices && optind < argc)
		return dg_tool_usage("--devices takes no FILE");
	cl->files = argv + optind;
	cl->nfiles = argc - optind;
	return -1;
}

/* ---- output helpers --------------------------------------------------- */

/* Length of the valid UTF-8 sequence at s (n bytes left), 0 if invalid. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
	size_t need;
	unsigned c = s[0];

	if (c < 0x80)
		return 1;
	need = c >= 0xc2 && c <= 0xdf ? 1 : c >= 0xe0 && c <= 0xef ? 2 :
	       c >= 0xf0 && c <= 0xf4 ? 3 : 0;
	if (!need || need >= n)
		return 0;
	for (size_t k = 1; k <= need; k++)
		if ((s[k] & 0xc0) != 0x80)
			return 0;
	if ((c == 0xe0 && s[1] < 0xa0) || (c == 0xed && s[1] > 0x9f) ||
	    (c == 0xf0 && s[1] < 0x90) || (c == 0xf4 && s[1] > 0x8f))
		return 0;  /* overlong, surrogate or beyond U+10FFFF */
	return need + 1;
}

/* A JSON string; bytes that are not UTF-8 (file names may have them)
 * become U+FFFD so that the line stays valid JSON. */
static void json_string(const char *str)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t n = strlen(str);

	putchar('"');
	for (size_t i = 0; i < n;) {
		size_t k = utf8_len(s + i, n - i);
		if (k == 0) {
			fputs("\\ufffd", stdout);
			i++;
		} else if (s[i] == '"' || s[i] == '\\') {
			printf("\\%c", s[i++]);
		} else if (s[i] < 0x20 || s[i] == 0x7f) {
			printf("\\u%04x", s[i++]);
		} else {
			fwrite(s + i, 1, k, stdout);
			i += k;
		}
	}
	putchar('"');
}

/* Text for a terminal: control characters and bytes that are not UTF-8
 * escaped, cut to max characters ending in "..." (0: never cut, as for
 * file names, which a script must be able to match). */
static void text_value(const char *str, size_t max)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t n = strlen(str), chars = 0, keep;

	for (size_t i = 0; i < n; chars++) {
		size_t k = utf8_len(s + i, n - i);
		i += k ? k : 1;
	}
	keep = max && chars > max ? max - 3 : chars;
	for (size_t i = 0, c = 0; c < keep; c++) {
		size_t k = utf8_len(s + i, n - i);
		if (k == 0 || s[i] < 0x20 || s[i] == 0x7f) {
			printf("\\x%02x", s[i]);
			i++;
		} else {
			fwrite(s + i, 1, k, stdout);
			i += k;
		}
	}
	if (keep < chars)
		fputs("...", stdout);
}

/* ---- streams ---------------------------------------------------------- */

/* One record; error is why it is bad (the reader's message), or NULL. */
static void print_record(const struct cmdline *cl, const char *label,
			 const struct dg_record *rec, const char *error)
{
	const struct dg_meta *m = rec->meta;
	int good = !error;

	if (cl->json) {
		fputs("{\"file\":", stdout);
		json_string(label);
		printf(",\"index\":%llu,\"offset\":%llu,\"dtype\":\"%s\",\"shape\":[",
		       (unsigned long long)rec->index, (unsigned long long)rec->offset,
		       dg_dtype_name(rec->dtype));
		for (unsigned i = 0; i < rec->rank; i++)
			printf("%s%llu", i ? "," : "", (unsigned long long)rec->dims[i]);
		printf("],\"bytes\":%llu,\"meta\":{", (unsigned long long)rec->payload_len);
		for (size_t i = 0; i < dg_meta_count(m); i++) {
			if (i)
				putchar(',');
			json_string(dg_meta_key(m, i));
			putchar(':');
			json_string(dg_meta_value(m, i));
		}
		printf("},\"checksum\":\"%s\"", good ? "ok" : "bad");
		if (!good) {
			fputs(",\"error\":", stdout);
			json_string(error);
		}
		fputs("}\n", stdout);
		return;
	}
	{
		char shape[8 * 21 + 8];
		dg_shape_format(shape, sizeof shape, rec->rank, rec->dims);
		if (cl->nfiles > 1) {
			text_value(label, 0);
			fputs(": ", stdout);
		}
		printf("%4llu  %-4s  %-14s %10llu  %s",
		       (unsigned long long)rec->index, dg_dtype_name(rec->dtype),
		       shape, (unsigned long long)rec->payload_len, good ? "ok" : "bad");
		for (size_t i = 0; i < dg_meta_count(m); i++) {
			printf("%s%s=", i ? " " : good ? "   " : "  ", dg_meta_key(m, i));
			text_value(dg_meta_value(m, i), META_TEXT_MAX);
		}
		putchar('\n');
	}
}

/* One line per record.  A record whose checksum fails is shown as "bad"
 * and reading goes on (its framing is sound); anything that breaks the
 * framing ends this input. */
static int describe_stream(const struct cmdline *cl, const char *label, struct dg_input *in)
{
	struct dg_reader *r = dg_reader_input(in);
	const struct dg_record *rec;
	int status = DG_OK, st;

	if (!r)
		return dg_tool_fail(DG_ENOMEM);
	for (;;) {
		st = dg_reader_next(r, &rec);
		if (!st && !rec)
			break;
		if (!st) {
			st = dg_reader_skip(r);
			if (!st || !dg_reader_broken(r))
				print_record(cl, label, rec, st ? dg_errmsg() : NULL);
		} else if (rec) {
			/* spoiled by its metadata: listed, its index kept */
			print_record(cl, label, rec, dg_errmsg());
		}
		if (st) {
			/* Records are printed as they come, so an error
			 * appears after the records before it. */
			fflush(stdout);
			dg_tool_fail(st);
			if (!status)
				status = st;
			if (dg_reader_broken(r))
				break;
		}
	}
	dg_reader_close(r);
	return status;
}

/* ---- checkpoints (dg-checkpoint(5)) ----------------------------------- */

/* The manifest (member lines aside: the table shows them), a table of
 * tensors with their parameter counts, the other members, and the total
 * of the params/ tensors. */
static void print_checkpoint(const struct cmdline *cl, const char *label,
			     const struct dg_checkpoint *ck)
{
	const struct dg_meta *m = dg_checkpoint_cmeta(ck);
	unsigned long long total = 0;
	size_t n = dg_checkpoint_count(ck), first = 1;

	for (size_t i = 0; i < n; i++) {
		const struct dg_array *a = dg_checkpoint_tensor_at(ck, i);
		if (a && strncmp(dg_checkpoint_name_at(ck, i), "params/", 7) == 0)
			total += dg_array_count(a);
	}
	if (cl->json) {
		fputs("{\"file\":", stdout);
		json_string(label);
		fputs(",\"kind\":\"checkpoint\",\"manifest\":{", stdout);
		for (size_t i = 0; i < dg_meta_count(m); i++) {
			if (strncmp(dg_meta_key(m, i), "member.", 7) == 0)
				continue;
			fputs(first ? "" : ",", stdout);
			first = 0;
			json_string(dg_meta_key(m, i));
			putchar(':');
			json_string(dg_meta_value(m, i));
		}
		fputs("},\"tensors\":[", stdout);
		first = 1;
		for (size_t i = 0; i < n; i++) {
			const struct dg_array *a = dg_checkpoint_tensor_at(ck, i);
			if (!a)
				continue;
			fputs(first ? "{\"name\":" : ",{\"name\":", stdout);
			first = 0;
			json_string(dg_checkpoint_name_at(ck, i));
			printf(",\"dtype\":\"%s\",\"shape\":[", dg_dtype_name(a->dtype));
			for (unsigned d = 0; d < a->rank; d++)
				printf("%s%llu", d ? "," : "", (unsigned long long)a->dims[d]);
			printf("],\"count\":%llu}", (unsigned long long)dg_array_count(a));
		}
		fputs("],\"members\":[", stdout);
		first = 1;
		for (size_t i = 0; i < n; i++) {
			size_t len;
			if (!dg_checkpoint_bytes_at(ck, i, &len))
				continue;
			fputs(first ? "{\"name\":" : ",{\"name\":", stdout);
			first = 0;
			json_string(dg_checkpoint_name_at(ck, i));
			printf(",\"bytes\":%zu}", len);
		}
		printf("],\"parameters\":%llu}\n", total);
		return;
	}
	printf("%s: dg checkpoint\n", label);
	for (size_t i = 0; i < dg_meta_count(m); i++) {
		if (strncmp(dg_meta_key(m, i), "member.", 7) == 0)
			continue;
		printf("  %-22s ", dg_meta_key(m, i));
		text_value(dg_meta_value(m, i), META_TEXT_MAX);
		putchar('\n');
	}
	printf("\n  %-36s %-5s %-16s %12s\n", "tensor", "dtype", "shape", "parameters");
	for (size_t i = 0; i < n; i++) {
		const struct dg_array *a = dg_checkpoint_tensor_at(ck, i);
		char shape[8 * 21 + 8];
		if (!a)
			continue;
		dg_shape_format(shape, sizeof shape, a->rank, a->dims);
		printf("  %-36s %-5s %-16s %12llu\n", dg_checkpoint_name_at(ck, i),
		       dg_dtype_name(a->dtype), shape, (unsigned long long)dg_array_count(a));
	}
	for (size_t i = 0; i < n; i++) {
		size_t len;
		if (dg_checkpoint_bytes_at(ck, i, &len))
			printf("  %-36s %-5s %-16s %12s  (%zu bytes)\n",
			       dg_checkpoint_name_at(ck, i), "bytes", "-", "-", len);
	}
	printf("\n  total parameters (params/): %llu\n", total);
}

static int describe_checkpoint(const struct cmdline *cl, const char *label,
			       struct dg_input *in)
{
	struct dg_checkpoint *ck = NULL;
	int st;

	/* read from the input already open: a pipe is not reopened */
	if ((st = dg_checkpoint_read_input(in, 0, &ck)))
		return dg_tool_fail(st);
	print_checkpoint(cl, label, ck);
	dg_checkpoint_free(ck);
	return DG_OK;
}

/* ---- dispatch by the first bytes -------------------------------------- */

/* The kinds of input dg-info knows.  A new kind (the checkpoint .dgm, a
 * gzip'd tar) adds its sniff function and its describe function here.
 * Input that no sniff claims goes to the stream reader, whose message
 * says what it is not. */
struct kind {
	const char *name;
	int (*sniff)(const void *bytes, size_t len);
	int (*describe)(const struct cmdline *cl, const char *label, struct dg_input *in);
};

static const struct kind kinds[] = {
	{"stream", dg_stream_sniff, describe_stream},
	{"checkpoint", dg_checkpoint_sniff, describe_checkpoint},
};

/* Opens path once (a pipe or a FIFO included), looks at its first bytes
 * and hands it to the describer of its kind, which reads them again. */
static int describe(const struct cmdline *cl, const char *path)
{
	const struct kind *kind = &kinds[0];
	struct dg_input *in;
	const void *head;
	size_t n = 0;
	int st;

	if ((st = dg_input_open(path, &in)))
		return dg_tool_fail(st);
	if ((st = dg_input_peek(in, SNIFF_BYTES, &head, &n))) {
		dg_input_close(in);
		return dg_tool_fail(st);
	}
	for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
		if (kinds[i].sniff(head, n)) {
			kind = &kinds[i];
			break;
		}
	st = kind->describe(cl, strcmp(path, "-") == 0 ? "-" : path, in);
	dg_input_close(in);
	return st;
}

/* ---- devices ---------------------------------------------------------- */

static void print_size(const char *what, uint64_t bytes)
{
	if (bytes >= (1ull << 30))
		printf("  %-26s %.1f GiB\n", what, (double)bytes / (1ull << 30));
	else if (bytes >= (1ull << 20))
		printf("  %-26s %.1f MiB\n", what, (double)bytes / (1ull << 20));
	else
		printf("  %-26s %llu bytes\n", what, (unsigned long long)bytes);
}

static void print_device(const struct cmdline *cl, const struct dg_device_info *d)
{
	if (cl->json) {
		fputs("{\"id\":", stdout);
		json_string(d->id);
		fputs(",\"name\":", stdout);
		json_string(d->name);
		fputs(",\"type\":", stdout);
		json_string(d->type);
		fputs(",\"driver\":", stdout);
		json_string(d->driver);
		fputs(",\"api_version\":", stdout);
		json_string(d->api_version);
		printf(",\"memory_bytes\":%llu,\"threads\":%u,\"subgroup_size\":%u,"
		       "\"max_workgroup_invocations\":%u,\"max_shared_memory\":%u,"
		       "\"max_storage_buffer_range\":%llu,\"max_allocation_size\":%llu,"
		       "\"tuning\":",
		       (unsigned long long)d->memory_bytes, d->threads, d->subgroup_size,
		       d->max_workgroup_invocations, d->max_shared_memory,
		       (unsigned long long)d->max_storage_buffer_range,
		       (unsigned long long)d->max_allocation_size);
		json_string(d->tuning);
		fputs("}\n", stdout);
		return;
	}
	printf("%s\n", d->id);
	printf("  %-26s %s\n", "name", d->name);
	printf("  %-26s %s\n", "type", d->type);
	printf("  %-26s %s\n", "driver", d->driver);
	if (d->api_version[0])
		printf("  %-26s %s\n", "vulkan api", d->api_version);
	print_size("memory", d->memory_bytes);
	if (d->kind == DG_DEVICE_CPU) {
		printf("  %-26s %u\n", "threads", d->threads);
	} else {
		printf("  %-26s %u\n", "subgroup size", d->subgroup_size);
		printf("  %-26s %u\n", "max workgroup invocations",
		       d->max_workgroup_invocations);
		print_size("max shared memory", d->max_shared_memory);
		print_size("max storage buffer range", d->max_storage_buffer_range);
		print_size("max allocation size", d->max_allocation_size);
	}
	if (d->tuning[0])
		printf("  %-26s %s\n", "tuning", d->tuning);
}

static int list_devices(const struct cmdline *cl)
{
	struct dg_device_info *list, one;
	size_t n;
	int st;

	if (cl->device) {
		if ((st = dg_device_select(cl->device, &one)))
			return dg_tool_fail(st);
		print_device(cl, &one);
		return DG_OK;
	}
	if ((st = dg_device_list(&list, &n)))
		return dg_tool_fail(st);
	for (size_t i = 0; i < n; i++) {
		if (i && !cl->json)
			putchar('\n');
		print_device(cl, &list[i]);
	}
	if (!cl->json && dg_device_vulkan_status()[0])
		printf("\nvulkan: %s\n", dg_device_vulkan_status());
	free(list);
	return DG_OK;
}

int main(int argc, char **argv)
{
	struct cmdline cl;
	int status;

	dg_tool_init("dg-info");
	if ((status = parse_cmdline(argc, argv, &cl)) >= 0)
		return dg_tool_exit(status);
	if (cl.devices)
		return dg_tool_exit(list_devices(&cl));
	status = cl.nfiles ? DG_OK : describe(&cl, "-");
	for (int i = 0; i < cl.nfiles; i++) {
		int st = describe(&cl, cl.files[i]);
		if (st && !status)
			status = st;
	}
	return dg_tool_exit(status);
}
