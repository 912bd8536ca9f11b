/* dg-train.c — trains a model family on a dataset and writes a checkpoint.
 *
 * The loop itself lives in libdg (dg/train.h); this tool parses options,
 * reports progress on stderr (a bar on a terminal, a line per epoch
 * otherwise), keeps the --log file, and turns SIGINT/SIGTERM into "finish
 * the step, save, exit 130/143". */
#include <errno.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "dg.h"

static const char usage_text[] =
	"Usage: dg-train -p FAMILY -d DATA [-d [INPUT=]DATA...] -o MODEL.dgm [OPTIONS]\n"
	"       dg-train --resume MODEL.dgm -d DATA [-o OUT.dgm] [--epochs N]\n"
	"       dg-train --list | -p FAMILY --help\n"
	"Train a model family on images and write a checkpoint (dg-checkpoint(5)).\n"
	"DATA is anything dg-encode reads: fashion-mnist, IDX, PNG files, folders,\n"
	"archives, stream files, '-' for a stream on standard input.\n"
	"\n"
	"  -p, --family FAMILY   the model family (see --list)\n"
	"  -d, --data DATA       the training images; again for the family's other\n"
	"                        inputs, in the order -p F --help lists them, or\n"
	"                        as INPUT=DATA\n"
	"  -o, --output MODEL    the checkpoint to write (with --resume: default\n"
	"                        the resumed file)\n"
	"  -s, --set NAME=VALUE  a hyperparameter of the family (repeatable)\n"
	"  -e, --epochs N        train until N epochs are complete (default 10)\n"
	"  -b, --batch N         images per step (default 128); a last partial\n"
	"                        batch of each epoch is dropped\n"
	"      --lr X            learning rate of every phase (default: each\n"
	"                        phase's own, from the family, else 1e-3)\n"
	"      --lr PHASE=X      the learning rate of one phase (repeatable)\n"
	"      --seed N          seed of weights, data order and noise (default 0)\n"
	"      --device SPEC     cpu, vulkan, vulkan:N (default $DG_DEVICE, then\n"
	"                        the first GPU, then cpu)\n"
	"  -n, --limit N         use at most the first N images of DATA\n"
	"      --binarize        dynamic binarization of the pixels each epoch\n"
	"      --labels-per-class N  keep the labels of N images per class, chosen\n"
	"                        by --seed: a semi-supervised family (m2) sees the\n"
	"                        rest unlabelled, any other trains on the N per class\n"
	"      --log FILE        the training log as CSV, rewritten every epoch\n"
	"      --plain           write the checkpoint uncompressed: larger, but\n"
	"                        quicker for dg-sample, dg-decode, dg-eval to load\n"
	"      --val DATA        after every epoch, the loss terms on DATA (e.g.\n"
	"                        fashion-mnist-test)\n"
	"      --snapshot DIR    after every epoch, DIR/samples-EPOCH.png (64 images\n"
	"                        from fixed latents) and DIR/recon-EPOCH.png\n"
	"      --resume MODEL    continue the training saved in MODEL exactly\n"
	"      --save-every T    also save MODEL every T of training: 30s, 10m\n"
	"                        (the default), 1h, or 2e for every 2 epochs;\n"
	"                        0: only at the end\n"
	"      --shards N        under mpirun: cut each batch into N shards (default\n"
	"                        8, at least the number of ranks), so that 1, 2 or\n"
	"                        N ranks train byte-identical models\n"
	"      --mpi-fast        under mpirun: one shard per rank, gradients summed\n"
	"                        by MPI_Allreduce (faster, not reproducible across\n"
	"                        rank counts)\n"
	"      --progress        a progress bar even if stderr is not a terminal\n"
	"  -q, --quiet           no progress and no epoch lines\n"
	"      --list            list the model families found\n"
	"  -h, --help            show this help (with -p: the family's\n"
	"                        hyperparameters too)\n"
	"      --version         show the version\n"
	"\n"
	"SIGINT, SIGTERM, SIGHUP or SIGUSR1 finishes the current step, saves the\n"
	"checkpoint and exits with 130, 143, 129 or 138; a second SIGINT exits at once.\n"
	"Under mpirun (mpirun -np N dg-train ...) the ranks share every batch and\n"
	"rank 0 alone writes the checkpoint, the log and the snapshots.\n"
	"See dg-train(1).\n";

struct cmdline {
	const char *family, *data, *output, *resume, *log, *device, *snapshot, *val;
	char **sets;
	int nsets;
	char **datas;            /* -d after the first */
	int ndatas;
	char **phase_lr;         /* --lr NAME=X */
	int nphase_lr;
	uint64_t epochs, limit;
	uint64_t labels_per_class; /* 0: every label */
	struct dg_train_config cfg;
	int quiet, progress, list, help;
	int plain;               /* --plain: an uncompressed checkpoint */
	double save_seconds;     /* --save-every: by time (0: not) */
	uint64_t save_epochs;    /* --save-every: by epochs (0: not) */
	int rank, size;          /* in an MPI job: this process's rank, and the
				    number of ranks (rank 0 alone writes) */
};

enum {
	OPT_LR = 256, OPT_SEED, OPT_DEVICE, OPT_BINARIZE, OPT_LOG, OPT_RESUME, OPT_PROGRESS,
	OPT_LIST, OPT_SNAPSHOT, OPT_VAL, OPT_PLAIN, OPT_SAVE_EVERY, OPT_SHARDS, OPT_MPI_FAST,
	OPT_LABELS_PER_CLASS,
};

/* --save-every: "30s", "10m", "1h", "2e" (epochs), a bare number of
 * minutes, or 0 for no periodic saves. */
static int parse_save_every(const char *s, struct cmdline *cl)
{
	char *end;
	double v = strtod(s, &end);
	cl->save_seconds = 0;
	cl->save_epochs = 0;
	if (end == s || !(v >= 0) || v > 1e9)
		return dg_tool_usage("--save-every '%s': a time (30s, 10m, 1h), epochs (2e) or 0", s);
	if (!strcmp(end, "e") && v == (double)(uint64_t)v)
		cl->save_epochs = (uint64_t)v;
	else if (!strcmp(end, "s"))
		cl->save_seconds = v;
	else if (!strcmp(end, "m") || !*end)
		cl->save_seconds = 60 * v;
	else if (!strcmp(end, "h"))
		cl->save_seconds = 3600 * v;
	else
		return dg_tool_usage("--save-every '%s': a time (30s, 10m, 1h), epochs (2e) or 0", s);
	return DG_OK;
}

static int parse_cmdline(int argc, char **argv, struct cmdline *cl)
{
	static const struct option longs[] = {
		{"family", required_argument, NULL, 'p'},
		{"data", required_argument, NULL, 'd'},
		{"output", required_argument, NULL, 'o'},
		{"set", required_argument, NULL, 's'},
		{"epochs", required_argument, NULL, 'e'},
		{"batch", required_argument, NULL, 'b'},
		{"lr", required_argument, NULL, OPT_LR},
		{"seed", required_argument, NULL, OPT_SEED},
		{"device", required_argument, NULL, OPT_DEVICE},
		{"limit", required_argument, NULL, 'n'},
		{"binarize", no_argument, NULL, OPT_BINARIZE},
		{"log", required_argument, NULL, OPT_LOG},
		{"plain", no_argument, NULL, OPT_PLAIN},
		{"snapshot", required_argument, NULL, OPT_SNAPSHOT},
		{"val", required_argument, NULL, OPT_VAL},
		{"resume", required_argument, NULL, OPT_RESUME},
		{"save-every", required_argument, NULL, OPT_SAVE_EVERY},
		{"shards", required_argument, NULL, OPT_SHARDS},
		{"mpi-fast", no_argument, NULL, OPT_MPI_FAST},
		{"labels-per-class", required_argument, NULL, OPT_LABELS_PER_CLASS},
		{"progress", no_argument, NULL, OPT_PROGRESS},
		{"quiet", no_argument, NULL, 'q'},
		{"list", no_argument, NULL, OPT_LIST},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, DG_OPT_VERSION},
		{0},
	};
	int c;
	long v;
	double x;

	memset(cl, 0, sizeof *cl);
	cl->epochs = 10;
	cl->save_seconds = 600;
	cl->sets = calloc((size_t)argc, sizeof *cl->sets);
	cl->datas = calloc((size_t)argc, sizeof *cl->datas);
	cl->phase_lr = calloc((size_t)argc, sizeof *cl->phase_lr);
	if (!cl->sets || !cl->datas || !cl->phase_lr)
		return dg_tool_fail(dg_error_nomem("options", (size_t)argc * sizeof(char *)));
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":p:d:o:s:e:b:n:qh", longs, NULL)) != -1) {
		switch (c) {
		case 'p':
			cl->family = optarg;
			break;
		case 'd':
			if (cl->data)
				cl->datas[cl->ndatas++] = optarg;
			else
				cl->data = optarg;
			break;
		case 'o':
			cl->output = optarg;
			break;
		case 's':
			cl->sets[cl->nsets++] = optarg;
			break;
		case 'e':
			if (dg_parse_long("--epochs", optarg, 1, LONG_MAX, &v))
				return dg_tool_usage("%s", dg_errmsg());
			cl->epochs = (uint64_t)v;
			break;
		case 'b':
			if (dg_parse_long("--batch", optarg, 1, 1 << 20, &v))
				return dg_tool_usage("%s", dg_errmsg());
			cl->cfg.batch = (uint64_t)v;
			break;
		case OPT_LR:
			if (strchr(optarg, '=')) {
				const char *eq = strchr(optarg, '=');
				if (dg_parse_double("--lr", eq + 1, 1e-12, 1e3, &x))
					return dg_tool_usage("%s", dg_errmsg());
				cl->phase_lr[cl->nphase_lr++] = optarg;
				break;
			}
			if (dg_parse_double("--lr", optarg, 1e-12, 1e3, &x))
				return dg_tool_usage("%s", dg_errmsg());
			cl->cfg.lr = x;
			break;
		case OPT_SEED:
			if (dg_parse_long("--seed", optarg, 0, LONG_MAX, &v))
				return dg_tool_usage("%s", dg_errmsg());
			cl->cfg.seed = (uint64_t)v;
			cl->cfg.seed_set = 1;
			break;
		case OPT_DEVICE:
			cl->cfg.device = optarg;
			break;
		case 'n':
			if (dg_parse_long("--limit", optarg, 1, LONG_MAX, &v))
				return dg_tool_usage("%s", dg_errmsg());
			cl->limit = (uint64_t)v;
			break;
		case OPT_BINARIZE:
			cl->cfg.binarize = 1;
			break;
		case OPT_LOG:
			cl->log = optarg;
			break;
		case OPT_PLAIN:
			cl->plain = 1;
			break;
		case OPT_VAL:
			cl->val = optarg;
			break;
		case OPT_SNAPSHOT:
			cl->snapshot = optarg;
			cl->cfg.snapshot = 64;
			break;
		case OPT_RESUME:
			cl->resume = optarg;
			break;
		case OPT_LABELS_PER_CLASS:
			if (dg_parse_long("--labels-per-class", optarg, 1, LONG_MAX, &v))
				return dg_tool_usage("%s", dg_errmsg());
			cl->labels_per_class = (uint64_t)v;
			break;
		case OPT_SAVE_EVERY:
			if ((c = parse_save_every(optarg, cl)))
				return c;
			break;
		case OPT_SHARDS:
			if (dg_parse_long("--shards", optarg, 1, 1 << 16, &v))
				return dg_tool_usage("%s", dg_errmsg());
			cl->cfg.shards = (unsigned)v;
			break;
		case OPT_MPI_FAST:
			cl->cfg.dist_fast = 1;
			break;
		case OPT_PROGRESS:
			cl->progress = 1;
			break;
		case 'q':
			cl->quiet = 1;
			break;
		case OPT_LIST:
			cl->list = 1;
			break;
		case 'h':
			/* acted on after parsing: -p may come after --help */
			cl->help = 1;
			break;
		default:
			return dg_tool_option(c, usage_text, argv);
		}
	}
	if (optind < argc)
		return dg_tool_usage("unexpected argument '%s'", argv[optind]);
	if (cl->help || cl->list)
		return DG_OK;
	if (cl->resume) {
		if (cl->nsets)
			return dg_tool_usage("--set with --resume: the hyperparameters are "
					     "those of the checkpoint");
		if (!cl->output)
			cl->output = cl->resume;
	} else {
		if (!cl->family)
			return dg_tool_usage("no model family given (-p FAMILY; --list shows "
					     "them)");
		if (!cl->output)
			return dg_tool_usage("no output given (-o MODEL.dgm)");
	}
	if (!cl->data)
		return dg_tool_usage("no training data given (-d DATA)");
	cl->cfg.phase_lr = (const char *const *)cl->phase_lr;
	cl->cfg.nphase_lr = (size_t)cl->nphase_lr;
	return DG_OK;
}

static void warn(void *ctx, const char *message)
{
	(void)ctx;
	dg_tool_warn("%s", message);
}

static int list_families(void)
{
	const struct dg_family **list;
	size_t n;
	int st = dg_family_list(warn, NULL, &list, &n);
	if (st)
		return dg_tool_fail(st);
	for (size_t i = 0; i < n; i++)
		printf("%-12s %s\n", list[i]->name, list[i]->summary);
	if (!n) {
		char **dirs = dg_plugin_dirs();
		dg_tool_warn("no model families found");
		for (size_t i = 0; dirs && dirs[i]; i++)
			fprintf(stderr, "  searched %s\n", dirs[i]);
		free(dirs);
	}
	free(list);
	return DG_OK;
}

static const char *type_name(enum dg_hparam_type t)
{
	switch (t) {
	case DG_HP_INT: return "int";
	case DG_HP_FLOAT: return "float";
	case DG_HP_BOOL: return "bool";
	case DG_HP_CHOICE: return "choice";
	case DG_HP_STRING: return "string";
	}
	return "?";
}

static void hparam_range(const struct dg_hparam *h, char *buf, size_t size)
{
	buf[0] = 0;
	if (h->type == DG_HP_CHOICE)
		snprintf(buf, size, "%s", h->choices);
	else if ((h->type == DG_HP_INT || h->type == DG_HP_FLOAT) && h->lo < h->hi)
		snprintf(buf, size, "[%g, %g]", h->lo, h->hi);
}

/* The family's table, in columns as wide as their widest entry. */
static void family_help(const struct dg_family *f)
{
	int wn = 4, wd = 7, wr = 5;
	char range[128];

	printf("\nFamily %s: %s.\n", f->name, f->summary);
	if (f->inputs && f->inputs[0].name) {
		printf("Inputs besides the images of the first -d (-d DATA in this order, or\n"
		       "-d INPUT=DATA):\n");
		for (const struct dg_input_decl *d = f->inputs; d->name; d++)
			printf("  %-10s %s, %s\n", d->name,
			       d->kind == DG_INPUT_PAIRED ? "paired with each image"
							  : "a set of its own",
			       d->help ? d->help : "");
	}
	printf("Hyperparameters (--set NAME=VALUE):\n");
	if (!f->hparams || !f->hparams[0].name) {
		printf("  (none)\n");
		return;
	}
	for (const struct dg_hparam *h = f->hparams; h->name; h++) {
		hparam_range(h, range, sizeof range);
		wn = (int)strlen(h->name) > wn ? (int)strlen(h->name) : wn;
		wd = (int)strlen(h->def) + 2 > wd ? (int)strlen(h->def) + 2 : wd;
		wr = (int)strlen(range) > wr ? (int)strlen(range) : wr;
	}
	printf("  %-*s  %-6s  %-*s  %-*s  %s\n", wn, "NAME", "TYPE", wd, "DEFAULT", wr, "RANGE",
	       "MEANING");
	for (const struct dg_hparam *h = f->hparams; h->name; h++) {
		hparam_range(h, range, sizeof range);
		printf("  %-*s  %-6s  %-*s  %-*s  %s\n", wn, h->name, type_name(h->type), wd,
		       *h->def ? h->def : "\"\"", wr, range, h->help ? h->help : "");
	}
}

/* ---- progress --------------------------------------------------------------- */

struct report {
	int mode;                  /* 0 quiet, 1 a line per epoch, 2 a bar */
	double last;               /* when the bar was last drawn */
	const char *log;           /* --log FILE */
	const char *snapshot;      /* --snapshot DIR */
	int val;                   /* --val given */
	struct dg_trainer *t;
	int status;                /* a failure that stops the run */
	/* --save-every: the checkpoint, and when it was last written */
	const struct cmdline *cl;
	double saved_at;
	uint64_t saved_epoch;
};

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void terms(const struct dg_train_progress *p)
{
	for (unsigned i = 0; i < p->nterms; i++)
		fprintf(stderr, " %s %.6g", p->names[i], p->terms[i]);
}

/* Rewrites the whole log, so that a resumed run's file is complete too;
 * atomically, so that a full disk leaves the previous version. */
static int write_log(const char *path, struct dg_trainer *t)
{
	size_t len;
	const char *text = dg_trainer_log(t, &len);
	return dg_file_replace(path, text, len);
}

/* One grid PNG of images, 8 per row. */
static int write_grid(const char *dir, const char *what, uint64_t epoch,
		      const struct dg_array *images)
{
	char path[4096];
	struct dg_grid_options go = {.cols = 8, .pad = 2, .pad_value = 1};
	struct dg_array *grid;
	int st = dg_image_grid(images, 0, images->dims[0], &go, &grid);
	if (st)
		return st;
	snprintf(path, sizeof path, "%s/%s-%04llu.png", dir, what, (unsigned long long)epoch);
	st = dg_png_write_file(path, grid, 0, NULL);
	dg_array_free(grid);
	return st;
}

static int snapshot(const char *dir, struct dg_trainer *t, uint64_t epoch)
{
	struct dg_array *samples, *recon;
	int st = dg_trainer_snapshot(t, &samples, &recon);
	if (!st && samples)
		st = write_grid(dir, "samples", epoch, samples);
	if (!st && recon)
		st = write_grid(dir, "recon", epoch, recon);
	dg_array_free(samples);
	dg_array_free(recon);
	return st;
}

/* A warning on its own line, under the progress bar if there is one. */
static void secondary_failed(const struct report *r, const char *what)
{
	if (r->mode == 2)
		fputs("\r\033[K", stderr);
	dg_tool_warn("%s: %s (training goes on)", what, dg_errmsg());
}

/* The periodic save (--save-every), between iterations: a failure is a
 * warning, and the next save tries again. */
static void save_if_due(struct report *r, double t)
{
	const struct cmdline *cl = r->cl;
	uint64_t epochs = dg_trainer_epoch(r->t);
	if (!(cl->save_seconds > 0 && t - r->saved_at >= cl->save_seconds) &&
	    !(cl->save_epochs && epochs - r->saved_epoch >= cl->save_epochs))
		return;
	if (dg_trainer_save(r->t, cl->output, cl->plain ? DG_CHECKPOINT_PLAIN : DG_CHECKPOINT_FAST))
		secondary_failed(r, "periodic save");
	r->saved_at = now();
	r->saved_epoch = epochs;
}

/* A watched term that stayed low for a whole epoch (dg-train(1),
 * WARNINGS): once when it starts, not again while it lasts. */
static void warn_low(const struct report *r, const struct dg_train_progress *p)
{
	for (unsigned i = 0; i < p->nwarnings; i++) {
		const struct dg_train_warning *w = &p->warnings[i];
		if (w->epochs != 1)
			continue;
		if (r->mode == 2)
			fputs("\r\033[K", stderr);
		dg_tool_warn("epoch %llu: %s stayed below %g all epoch (at most %.3g): %s",
			     (unsigned long long)p->epoch + 1, w->term, w->below, w->max, w->why);
	}
}

static int progress(void *ctx, const struct dg_train_progress *p)
{
	struct report *r = ctx;
	double t = now();

	if (!p->end_of_epoch)
		save_if_due(r, t);
	if (p->end_of_epoch) {
		/* the log and the pictures are secondary: the model goes on */
		if (r->log && write_log(r->log, r->t))
			secondary_failed(r, "--log");
		if (r->snapshot && snapshot(r->snapshot, r->t, p->epoch + 1))
			secondary_failed(r, "--snapshot");
		double vals[DG_MAX_TERMS];
		unsigned nv = 0;
		if (r->val && (r->status = dg_trainer_validate(r->t, vals, &nv)))
			return 1;
		warn_low(r, p);
		if (r->mode == 0)
			return 0;
		if (r->mode == 2)
			fputs("\r\033[K", stderr);
		fprintf(stderr, "epoch %llu/%llu:", (unsigned long long)p->epoch + 1,
			(unsigned long long)p->epochs);
		terms(p);
		if (nv)
			fputs(" | val", stderr);
		for (unsigned i = 0; i < nv; i++)
			fprintf(stderr, " %s %.6g", p->names[i], vals[i]);
		fprintf(stderr, ", %.0f images/s, %.1f s\n", p->images_per_s, p->elapsed);
		return 0;
	}
	if (r->mode != 2 || t - r->last < 0.1)
		return 0;
	r->last = t;
	/* remaining time at this epoch's rate */
	double rate = p->batch && p->epoch_seconds > 0 ? p->epoch_seconds / (double)p->batch : 0;
	double left = rate * (double)((p->epochs - p->epoch - 1) * p->batches + p->batches - p->batch);
	int width = 20, fill = p->batches ? (int)(width * p->batch / p->batches) : 0;
	fprintf(stderr, "\r\033[Kepoch %llu/%llu [%.*s%*s] %llu/%llu",
		(unsigned long long)p->epoch + 1, (unsigned long long)p->epochs, fill,
		"####################", width - fill, "", (unsigned long long)p->batch,
		(unsigned long long)p->batches);
	terms(p);
	fprintf(stderr, " %.0f img/s ETA %d:%02d", p->images_per_s, (int)(left / 60),
		(int)left % 60);
	return 0;
}

/* ---- signals ------------------------------------------------------------------ */

static volatile sig_atomic_t stop;

/* The first signal asks the loop to stop after its step; a second SIGINT
 * leaves at once.  The checkpoint is written atomically, so leaving in
 * the middle of a save keeps the last good file. */
static void on_signal(int sig)
{
	static const char msg[] = "dg-train: second interrupt: exiting without saving "
				  "(the last checkpoint written is intact)\n";
	if (stop && sig == SIGINT) {
		ssize_t w = write(STDERR_FILENO, msg, sizeof msg - 1);
		(void)w;
		_exit(128 + SIGINT);
	}
	stop = sig;
}

static void catch_signals(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	/* mpirun forwards SIGUSR1 to every rank at once (SIGINT and SIGTERM
	 * reach them only after its odls_base_sigkill_timeout) */
	sigaction(SIGUSR1, &sa, NULL);
}

/* ---- outputs ---------------------------------------------------------------- */

/* Whether a and b name the same existing file. */
static int same_file(const char *a, const char *b)
{
	struct stat sa, sb;
	return a && b && strcmp(a, "-") && strcmp(b, "-") && stat(a, &sa) == 0 &&
	       stat(b, &sb) == 0 && sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

/* The first bytes of a file look like a dg checkpoint. */
static int is_checkpoint(const char *path)
{
	unsigned char head[1024];
	FILE *f = fopen(path, "rb");
	size_t n = f ? fread(head, 1, sizeof head, f) : 0;
	if (f)
		fclose(f);
	return n > 0 && dg_checkpoint_sniff(head, n);
}

/* An output may replace only what it would write itself: a regular file
 * (for -o, a dg checkpoint), never a link, a device, a folder, or one of
 * the run's inputs; and its folder must be writable now, not after the
 * training. */
static int check_output(const struct cmdline *cl, const char *opt, const char *path,
			int checkpoint)
{
	struct stat st;
	const char *inputs[3] = {cl->data, cl->val, cl->resume};
	char *copy;

	if (lstat(path, &st) == 0) {
		if (S_ISLNK(st.st_mode))
			return dg_tool_usage("%s %s: a symbolic link; dg-train replaces only "
					     "regular files (name the target itself)", opt, path);
		if (!S_ISREG(st.st_mode))
			return dg_tool_usage("%s %s: not a regular file; dg-train will not "
					     "replace it", opt, path);
		if (checkpoint && !same_file(path, cl->resume) && st.st_size > 0 &&
		    !is_checkpoint(path))
			return dg_tool_usage("%s %s: exists and is not a dg checkpoint; dg-train "
					     "will not replace it (remove it first)", opt, path);
	}
	for (int i = 0; i < 3; i++)
		if (same_file(path, inputs[i]) && !(checkpoint && inputs[i] == cl->resume))
			return dg_tool_usage("%s %s: is also %s: an input of this run", opt, path,
					     inputs[i] == cl->resume ? "the checkpoint resumed"
								     : "the data");
	for (int i = 0; i < cl->ndatas; i++) {
		const char *eq = strchr(cl->datas[i], '=');
		if (same_file(path, cl->datas[i]) || (eq && same_file(path, eq + 1)))
			return dg_tool_usage("%s %s: is also an input of this run (-d %s)", opt,
					     path, cl->datas[i]);
	}
	if (!(copy = strdup(path)))
		return dg_tool_fail(dg_error_nomem("a path", strlen(path)));
	const char *dir = dirname(copy);
	int ok = access(dir, W_OK) == 0;
	int status = ok ? DG_OK : dg_tool_fail(dg_error(DG_ECANTCREAT, "%s %s: cannot write in "
							"%s: %s", opt, path, dir,
							strerror(errno)));
	free(copy);
	return status;
}

/* -o and --log, before anything is trained. */
static int check_outputs(const struct cmdline *cl)
{
	int st = check_output(cl, "-o", cl->output, 1);
	if (!st && cl->log && same_file(cl->log, cl->output))
		st = dg_tool_usage("--log %s: is also the checkpoint (-o)", cl->log);
	if (!st && cl->log && !strcmp(cl->log, cl->output))
		st = dg_tool_usage("--log %s: is also the checkpoint (-o)", cl->log);
	if (!st && cl->log)
		st = check_output(cl, "--log", cl->log, 0);
	return st;
}

/* ---- the other inputs ------------------------------------------------------------ */

/* The declared input that DATA names as "INPUT=...", or NULL. */
static const struct dg_input_decl *named_input(const struct dg_family *f, const char *data)
{
	const char *eq = strchr(data, '=');
	for (const struct dg_input_decl *d = f->inputs; eq && d && d->name; d++)
		if ((size_t)(eq - data) == strlen(d->name) && !strncmp(data, d->name, strlen(d->name)))
			return d;
	return NULL;
}

/* Opens the data of the family's other inputs: each -d after the first,
 * named (INPUT=DATA) or in the order the family declares its inputs. */
static int open_inputs(const struct cmdline *cl, const struct dg_family *f,
		       const struct dg_dataset_options *dopt, struct dg_dataset **ds,
		       struct dg_train_input *ti)
{
	size_t ndecl = 0;
	for (const struct dg_input_decl *d = f->inputs; d && d->name; d++)
		ndecl++;
	if ((size_t)cl->ndatas > ndecl)
		return dg_tool_usage("%d -d options: family %s takes %zu input%s besides its "
				     "images (dg-train -p %s --help)", cl->ndatas + 1, f->name,
				     ndecl, ndecl == 1 ? "" : "s", f->name);
	for (int i = 0; i < cl->ndatas; i++) {
		const struct dg_input_decl *d = named_input(f, cl->datas[i]);
		const char *src = d ? strchr(cl->datas[i], '=') + 1 : cl->datas[i];
		if (!d) /* the first declared input not named by any -d */
			for (const struct dg_input_decl *e = f->inputs; !d && e->name; e++) {
				int taken = 0;
				for (int j = 0; j < i; j++)
					taken |= ti[j].name == e->name;
				for (int j = i + 1; j < cl->ndatas; j++)
					taken |= named_input(f, cl->datas[j]) == e;
				if (!taken)
					d = e;
			}
		if (!d)
			return dg_tool_usage("-d %s: no input of family %s is left for it",
					     cl->datas[i], f->name);
		for (int j = 0; j < i; j++)
			if (ti[j].name == d->name)
				return dg_tool_usage("-d %s: input %s given twice", cl->datas[i],
						     d->name);
		ti[i].name = d->name;
		int st = dg_dataset_open(src, dopt, &ds[i]);
		if (st)
			return dg_tool_fail(dg_error_context(st, "input %s", d->name));
		ti[i].ds = ds[i];
	}
	return DG_OK;
}

/* ---- semi-supervised data ------------------------------------------------------- */

/* Share of an epoch that the labelled copies make up for a family that
 * takes unlabelled images (DG_CAP_PARTIAL_LABELS): with 10 labels per
 * class among 60000 images a batch of 128 would hold one labelled image
 * every five steps; repeated to about a tenth of the epoch, about 13. */
#define LABELLED_SHARE 0.1

/* --labels-per-class N: replaces *ds by its semi-supervised view (N
 * labelled images per class, chosen by --seed).  A family that takes
 * unlabelled images gets every image, the others with label -1 and the
 * labelled ones repeated to about LABELLED_SHARE of the epoch; any other
 * family trains on the labelled images alone (the supervised baseline). */
static int labelled_subset(const struct cmdline *cl, const struct dg_family *f,
			   struct dg_checkpoint *ck, struct dg_dataset **ds)
{
	struct dg_dataset *v;
	int st;
	if (!cl->labels_per_class)
		return DG_OK;
	if (!f && (st = dg_family_load(dg_checkpoint_family(ck), &f)))
		return st;
	int partial = !!(f->caps & DG_CAP_PARTIAL_LABELS);
	uint64_t n = dg_dataset_info(*ds)->count, classes = dg_dataset_info(*ds)->classes;
	uint64_t nl = cl->labels_per_class * (classes ? classes : 1), repeat = 1;
	if (partial && nl < n)
		repeat = (uint64_t)((double)(n - nl) * LABELLED_SHARE /
				    (1 - LABELLED_SHARE) / (double)nl + 0.5);
	st = dg_dataset_labels_per_class(*ds, cl->labels_per_class, cl->cfg.seed, partial,
					 repeat ? repeat : 1, &v);
	if (st)
		return dg_error_context(st, "--labels-per-class %llu",
					(unsigned long long)cl->labels_per_class);
	dg_dataset_close(*ds);
	*ds = v;
	return DG_OK;
}

/* ---- main ------------------------------------------------------------------------ */

static int train(struct cmdline *cl)
{
	const struct dg_family *f = NULL;
	struct dg_hparams *hp = NULL;
	struct dg_checkpoint *ck = NULL;
	struct dg_dataset *ds = NULL, *val = NULL, **extra = NULL;
	struct dg_train_input *inputs = NULL;
	struct dg_trainer *t = NULL;
	struct dg_dataset_options dopt = {.limit = cl->limit, .warn = cl->quiet ? NULL : warn};
	static char name[64];
	int st, stopped = 0;

	if ((st = dg_dist_init(&cl->rank, &cl->size)))
		return dg_tool_fail(st);
	if (cl->size > 1) {
		/* which rank says what; one writer, one voice */
		snprintf(name, sizeof name, "dg-train (rank %d of %d)", cl->rank, cl->size);
		dg_tool_init(name);
		if (cl->rank) {
			cl->quiet = 1;
			cl->log = cl->snapshot = NULL;
			cl->save_seconds = 0;
			cl->save_epochs = 0;
			dopt.warn = NULL;
		}
	}
	if (cl->resume) {
		if ((st = dg_checkpoint_read(cl->resume, &ck)))
			goto out;
		if (cl->family && strcmp(cl->family, dg_checkpoint_family(ck)) != 0) {
			st = dg_tool_usage("-p %s: %s is a model of family %s", cl->family,
					   cl->resume, dg_checkpoint_family(ck));
			goto done;
		}
	} else {
		if ((st = dg_family_load(cl->family, &f)) || (st = dg_hparams_new(f, &hp)))
			goto out;
		for (int i = 0; i < cl->nsets; i++)
			if ((st = dg_hparams_set(hp, cl->sets[i]))) {
				st = dg_tool_usage("--set %s", dg_errmsg());
				goto done;
			}
	}
	/* outputs are checked before training, not after */
	if (cl->rank == 0 && (st = check_outputs(cl)))
		goto done;
	if (cl->snapshot && mkdir(cl->snapshot, 0777) && errno != EEXIST) {
		st = dg_error_errno("--snapshot %s", cl->snapshot);
		st = st == DG_ENOINPUT ? DG_ECANTCREAT : st;
		goto out;
	}
	/* standard input and pipes are loaded into memory like files (within
	 * DG_DATASET_MAX_BYTES), so they shuffle and give several epochs */
	if ((st = dg_dataset_open(cl->data, &dopt, &ds)) ||
	    (st = labelled_subset(cl, f, ck, &ds)))
		goto out;
	if (cl->ndatas) {
		const struct dg_family *ff = f;
		struct dg_dataset_options iopt = dopt;
		if (!ff && (st = dg_family_load(dg_checkpoint_family(ck), &ff)))
			goto out;
		extra = calloc((size_t)cl->ndatas, sizeof *extra);
		inputs = calloc((size_t)cl->ndatas, sizeof *inputs);
		if (!extra || !inputs) {
			st = dg_error_nomem("inputs", (size_t)cl->ndatas * sizeof *inputs);
			goto out;
		}
		if ((st = open_inputs(cl, ff, &iopt, extra, inputs)))
			goto done;
		cl->cfg.inputs = inputs;
		cl->cfg.ninputs = (size_t)cl->ndatas;
	}
	st = ck ? dg_trainer_resume(ck, ds, &cl->cfg, &t)
		: dg_trainer_new(f, hp, ds, &cl->cfg, &t);
	if (st)
		goto out;
	if (ck && dg_trainer_done(t, cl->epochs)) {
		/* Nothing to train: say so rather than rewrite the file. */
		dg_tool_error(0, "%s has %llu epochs done already (--epochs %llu): nothing "
			      "to do", cl->resume, (unsigned long long)dg_trainer_epoch(t),
			      (unsigned long long)cl->epochs);
		goto done;
	}
	if (cl->val) {
		struct dg_dataset_options vopt = {.warn = dopt.warn};
		if ((st = dg_dataset_open(cl->val, &vopt, &val)) ||
		    (st = dg_trainer_set_validation(t, val)))
			goto out;
	}

	struct report r = {.log = cl->log, .snapshot = cl->snapshot, .val = !!cl->val, .t = t,
			   .cl = cl, .saved_at = now(), .saved_epoch = dg_trainer_epoch(t)};
	r.mode = cl->quiet ? 0 : cl->progress || isatty(STDERR_FILENO) ? 2 : 1;
	catch_signals();
	st = dg_trainer_run(t, cl->epochs, progress, &r, &stop);
	if (r.mode == 2 && !st)
		fputs("\r\033[K", stderr);
	if (!st)
		st = r.status;
	if (st)
		goto out;
	/* gzip level 1 halves the file; inflating it is most of what a
	 * pipeline tool spends loading the model, hence --plain */
	if (cl->rank == 0 && (st = dg_trainer_save(t, cl->output,
						   cl->plain ? DG_CHECKPOINT_PLAIN
							     : DG_CHECKPOINT_FAST)))
		goto out;
	double tc, tr;
	dg_trainer_dist_times(t, &tc, &tr);
	if (r.mode && tc > 0)
		fprintf(stderr, "dg-train: %d rank%s: rank 0 computed its shards' gradients "
			"for %.2f s and combined them with the others' for %.2f s\n", cl->size,
			cl->size > 1 ? "s" : "", tc, tr);
	/* a signal that came when the training was complete stopped nothing;
	 * every rank stopped after the same step, rank 0 saved */
	stopped = stop && !dg_trainer_done(t, cl->epochs);
	if (stopped && cl->rank) {
		st = 128 + stop;
	} else if (stopped) {
		dg_tool_error(0, "%s: checkpoint saved to %s after step %llu (continue with "
			      "--resume %s)", stop == SIGINT ? "interrupted"
			      : stop == SIGHUP ? "hung up" : "terminated",
			      cl->output, (unsigned long long)dg_trainer_step(t), cl->output);
		st = 128 + stop;
	}
	goto done;
out:
	st = dg_tool_fail(st);
done:
	/* after a failure here, the other ranks would wait for this one
	 * forever: the job stops (Open MPI names the rank) */
	if (st && !stopped)
		dg_dist_abort(st);
	dg_trainer_free(t);
	dg_dataset_close(val);
	for (int i = 0; extra && i < cl->ndatas; i++)
		dg_dataset_close(extra[i]);
	free(extra);
	free(inputs);
	dg_dataset_close(ds);
	dg_hparams_free(hp);
	dg_checkpoint_free(ck);
	dg_dist_finish();
	return st;
}

int main(int argc, char **argv)
{
	struct cmdline cl;
	int st;

	dg_tool_init("dg-train");
	st = parse_cmdline(argc, argv, &cl);
	if (!st && cl.list)
		st = list_families();
	else if (!st && cl.help) {
		fputs(usage_text, stdout);
		if (cl.family) {
			const struct dg_family *f;
			fflush(stdout);
			if ((st = dg_family_load(cl.family, &f)))
				st = dg_tool_fail(st);
			else
				family_help(f);
		}
	} else if (!st)
		st = train(&cl);
	free(cl.sets);
	free(cl.datas);
	free(cl.phase_lr);
	return dg_tool_exit(st < 0 ? DG_OK : st);
}
