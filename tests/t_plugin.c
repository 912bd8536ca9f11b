/* t_plugin.c — the plugin ABI and loader (dg-plugin(7)).
 *
 * Builds tests/data/plugin/tiny.c out of tree, the way a third party
 * would (cc -shared -fPIC against the headers and libdg only), finds it
 * through DG_PLUGIN_PATH, lists it, parses its hyperparameters and trains
 * it for a few steps on the cpu device: a new family needs no change to
 * dg.  Then checks that broken plugins are refused with a message naming
 * their file, and the search order. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "dg.h"
#include "tap.h"

static char tmp[] = "/tmp/dg-t-plugin-XXXXXX";
static const char *src, *build;

/* Compiles a test plugin source (in tests/data/plugin, or an absolute
 * path) into dir/dg-<name>.so; extra: -D flags. */
static int cc_plugin(const char *dir, const char *name, const char *source, const char *extra)
{
	char from[1024];
	if (source[0] == '/')
		snprintf(from, sizeof from, "%s", source);
	else
		snprintf(from, sizeof from, "%s/tests/data/plugin/%s", src, source);
	const char *cc = getenv("CC");
	char cmd[4096];
	snprintf(cmd, sizeof cmd,
		 "%s -std=c11 -Wall -Wextra -Werror -shared -fPIC %s -I'%s/libcore/include' "
		 "-o '%s/%s/dg-%s.so' '%s' -L'%s/lib' -ldg "
		 "-Wl,-rpath,'%s/lib'",
		 cc && *cc ? cc : "cc", extra, src, tmp, dir, name, from, build, build);
	int st = system(cmd);
	if (st != 0)
		diag("failed: %s", cmd);
	return st;
}

static int contains(const char *hay, const char *needle)
{
	int r = strstr(hay, needle) != NULL;
	if (!r)
		diag("  '%s' lacks '%s'", hay, needle);
	return r;
}

struct warnings {
	int n;
	char text[8][512];
};

static void collect(void *ctx, const char *message)
{
	struct warnings *w = ctx;
	if (w->n < 8)
		snprintf(w->text[w->n], sizeof w->text[0], "%s", message);
	w->n++;
}

static void test_hparams(const struct dg_family *f)
{
	struct dg_hparams *hp;
	is_int(dg_hparams_new(f, &hp), 0, "hyperparameters from defaults");
	if (!hp)
		return;
	is_int((long long)dg_hparams_count(hp), 5, "five rows");
	is_str(dg_hparams_row(hp, 2)->name, "act", "rows in table order");
	is_str(dg_hparams_text(hp, 0), "2", "int default");
	is_str(dg_hparams_text(hp, 3), "0", "bool default 'no' is 0");

	static const struct {
		const char *set;
		size_t row;
		const char *text;
	} good[] = {
		{"hidden=8", 0, "8"},   {"scale=0.5", 1, "0.5"}, {"scale=1e1", 1, "10"},
		{"act=tanh", 2, "tanh"}, {"bias=yes", 3, "1"},   {"bias=OFF", 3, "0"},
		{"tag=a=b c", 4, "a=b c"}, {"tag=", 4, ""},
	};
	for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
		int st = dg_hparams_set(hp, good[i].set);
		is_int(st, 0, "--set %s", good[i].set);
		if (st)
			diag("  %s", dg_errmsg());
		is_str(dg_hparams_text(hp, good[i].row), good[i].text, "  gives %s",
		       good[i].text);
	}

	static const struct {
		const char *set, *msg;
	} bad[] = {
		{"hidden", "expected name=value"},
		{"=3", "expected name=value"},
		{"nope=1", "known: hidden, scale, act, bias, tag"},
		{"hidden=0", "out of range [1, 64]"},
		{"hidden=65", "out of range"},
		{"hidden=3x", "not an integer"},
		{"hidden=", "not an integer"},
		{"hidden= 3", "not an integer"},
		{"scale=nan", "not a number"},
		{"scale=-1", "out of range"},
		{"act=relu", "not one of linear|tanh"},
		{"bias=maybe", "not a boolean"},
		{"tag=a\nb", "newline"},
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		/* (the name stops at a newline, which TAP cannot show) */
		is_int(dg_hparams_set(hp, bad[i].set), DG_EUSAGE, "--set '%.*s' refused",
		       (int)strcspn(bad[i].set, "\n"), bad[i].set);
		ok(contains(dg_errmsg(), bad[i].msg), "  says '%s'", bad[i].msg);
	}
	is_str(dg_hparams_text(hp, 0), "8", "a refused value leaves the old one");
	dg_hparams_free(hp);
}

/* A model of f for batch×1×2×2 images without labels. */
static int build_for(const struct dg_family *f, struct dg_model *m, struct dg_graph *g,
		     const struct dg_hparams *hp, uint64_t batch, int training)
{
	struct dg_model_spec spec = {.channels = 1, .height = 2, .width = 2, .batch = batch,
				     .training = training};
	return dg_model_build(f, m, g, hp, &spec);
}

/* Builds tiny on a graph, trains a few Adam steps on the cpu device, and
 * runs its encoder and decoder on the same parameters. */
static void test_train(const struct dg_family *f)
{
	struct dg_hparams *hp;
	if (dg_hparams_new(f, &hp))
		return;
	dg_hparams_set(hp, "hidden=3");
	struct dg_graph *g = dg_graph_new(7);
	struct dg_model m;
	int st = build_for(f, &m, g, hp, 4, 1);
	is_int(st, 0, "build tiny for 4x1x2x2");
	if (st)
		diag("  %s", dg_errmsg());
	is_int(dg_model_phase_count(&m), 1, "one training phase");
	const struct dg_phase *ph = dg_model_phase_at(&m, 0);
	is_str(ph ? ph->name : "", "ae", "phase named");
	is_int(dg_model_term_count(&m), 2, "two terms to report");
	size_t owner = 9;
	is_str(dg_model_term_count(&m) == 2 ? dg_model_term_at(&m, 1, &owner)->name : "", "rec",
	       "terms named");
	is_int(owner, 0, "  reported by phase 0");
	is_int(m.latent_dim, 3, "latent size from --set hidden=3");
	int nparams = 0;
	for (size_t i = 0; i < dg_var_count(g); i++)
		nparams += dg_var_kind(g, i) == DG_VAR_PARAM;
	is_int(nparams, 2, "two parameters declared");

	struct dg_optim opt = {.kind = DG_ADAM, .lr = 0.05f};
	int upd = dg_optimize(g, ph->loss, ph->groups, &opt);
	ok(upd > 0, "optimizer appended");
	dg_tensor code, drawn, z = dg_input(g, "z", DG_F32, DG_SHAPE(2, 3)), img;
	is_int(f->encode(&m, m.x, m.y, &code, &drawn), 0, "encode appended");
	is_int(f->decode(&m, z, DG_NONE, &img), 0, "decode appended");

	struct dg_exec *train = NULL, *enc = NULL, *dec = NULL;
	dg_tensor outs[2] = {dg_model_term_at(&m, 0, NULL)->value,
			     dg_model_term_at(&m, 1, NULL)->value};
	st = dg_compile(g, "cpu", 2, outs, 1, &upd, &train);
	is_int(st, 0, "training step compiles on cpu");
	if (st)
		diag("  %s", dg_errmsg());
	is_int(dg_compile(g, "cpu", 1, &code, 0, NULL, &enc), 0, "encoder compiles");
	is_int(dg_compile(g, "cpu", 1, &img, 0, NULL, &dec), 0, "decoder compiles");
	if (train && enc && dec) {
		static const float x[16] = {0, 1, 1, 0, 1, 0, 0, 1, 0.5f, 0.5f, 0.5f, 0.5f,
					    1, 1, 0, 0};
		is_int(dg_exec_feed(train, "x", DG_F32, x, 16), 0, "feed a batch");
		float first = NAN, last = NAN;
		for (int i = 0; i < 20; i++) {
			if (dg_exec_run(train))
				break;
			last = dg_exec_scalar(train, 0);
			if (i == 0)
				first = last;
		}
		ok(isfinite(first) && isfinite(last) && last < first,
		   "training lowers the loss (%g -> %g)", first, last);
		dg_exec_feed(enc, "x", DG_F32, x, 16);
		struct dg_array *a = NULL;
		is_int(dg_exec_run(enc) || dg_exec_output(enc, 0, &a), 0, "encoder runs");
		ok(a && a->rank == 2 && a->dims[0] == 4 && a->dims[1] == 3, "codes are 4x3");
		dg_array_free(a);
		a = NULL;
		static const float zs[6] = {0};
		dg_exec_feed(dec, "z", DG_F32, zs, 6);
		is_int(dg_exec_run(dec) || dg_exec_output(dec, 0, &a), 0, "decoder runs");
		ok(a && a->rank == 4 && a->dims[0] == 2 && a->dims[3] == 2, "images are 2x1x2x2");
		dg_array_free(a);
	}
	dg_exec_free(train);
	dg_exec_free(enc);
	dg_exec_free(dec);
	dg_model_release(f, &m);
	dg_graph_free(g);

	/* A family refusing a request: the reason reaches the caller. */
	g = dg_graph_new(1);
	build_for(f, &m, g, hp, 4, 0);
	dg_tensor out;
	is_int(f->sample(&m, 4, 1, DG_NONE, &out), DG_EUSAGE, "tiny refuses to sample");
	ok(contains(dg_graph_error(g), "no prior"), "  and says why");
	dg_model_release(f, &m);
	dg_graph_free(g);

	/* A plugin asking for a hyperparameter it did not declare. */
	g = dg_graph_new(1);
	build_for(f, &m, g, hp, 4, 0);
	is_int(dg_model_int(&m, "nope"), 0, "undeclared hyperparameter reads 0");
	dg_model_float(&m, "act");
	ok(dg_graph_status(g) != 0 && contains(dg_graph_error(g), "nope"),
	   "  and fails the graph, naming it");
	dg_model_release(f, &m);
	dg_graph_free(g);
	dg_hparams_free(hp);
}

static char *path_in(const char *dir, const char *name)
{
	static char buf[4][512];
	static int k;
	char *p = buf[k++ % 4];
	snprintf(p, sizeof buf[0], "%s/%s/dg-%s.so", tmp, dir, name);
	return p;
}

int main(void)
{
	src = getenv("DG_SRC");
	build = getenv("DG_BUILD");
	if (!src || !build) {
		printf("1..0 # SKIP DG_SRC and DG_BUILD are set by make check\n");
		return 0;
	}
	if (!mkdtemp(tmp)) {
		printf("Bail out! mkdtemp\n");
		return 1;
	}
	char cmd[1024];
	snprintf(cmd, sizeof cmd, "mkdir '%s/a' '%s/b' && echo 'not a library' > '%s/a/dg-notelf.so'",
		 tmp, tmp, tmp);
	int st = system(cmd);
	st = st || cc_plugin("a", "tiny", "tiny.c", "");
	st = st || cc_plugin("a", "other", "tiny.c", "");    /* declares "tiny" */
	st = st || cc_plugin("a", "badabi", "bad_abi.c", "");
	st = st || cc_plugin("a", "badsize", "bad_size.c", "");
	st = st || cc_plugin("a", "noentry", "no_entry.c", "");
	st = st || cc_plugin("a", "baddefault", "bad_default.c", "");
	st = st || cc_plugin("a", "newer", "newer.c", "");
	st = st || cc_plugin("b", "tiny", "tiny.c", "-DTINY_SUMMARY='\"shadow\"'");
	st = st || cc_plugin("b", "second", "tiny.c", "-DTINY_NAME='\"second\"'");
	/* The example of dg-plugin(7), as printed there. */
	snprintf(cmd, sizeof cmd,
		 "awk '/^\\.Sh EXAMPLES/{f=1} f&&/^\\.Bd -literal$/{p=1;next} p&&/^\\.Ed/{exit} p' "
		 "'%s/man/dg-plugin.7' > '%s/lin.c'", src, tmp);
	st = st || system(cmd);
	char lin[600];
	snprintf(lin, sizeof lin, "%s/lin.c", tmp);
	st = st || cc_plugin("b", "lin", lin, "");
	/* and its two-network walk-through */
	snprintf(cmd, sizeof cmd,
		 "awk '/^\\.Ss A two-network family/{f=1} f&&/^\\.Bd -literal$/{p=1;next} "
		 "p&&/^\\.Ed/{exit} p' '%s/man/dg-plugin.7' > '%s/mlpgan.c'", src, tmp);
	st = st || system(cmd);
	char gan[600];
	snprintf(gan, sizeof gan, "%s/mlpgan.c", tmp);
	st = st || cc_plugin("b", "mlpgan", gan, "");
	if (!ok(st == 0, "test plugins compile out of tree")) {
		printf("Bail out! cannot compile test plugins\n");
		return 1;
	}
	char env[1100];
	snprintf(env, sizeof env, "%s/a::%s/b:", tmp, tmp);
	setenv("DG_PLUGIN_PATH", env, 1);

	/* Search order. */
	char **dirs = dg_plugin_dirs();
	ok(dirs != NULL, "plugin directories");
	if (dirs) {
		char want[600];
		snprintf(want, sizeof want, "%s/a", tmp);
		is_str(dirs[0], want, "DG_PLUGIN_PATH first");
		snprintf(want, sizeof want, "%s/b", tmp);
		is_str(dirs[1], want, "empty entries skipped");
		is_str(dirs[2], DG_PLUGINDIR, "then the install directory");
		ok(dirs[3] && strstr(dirs[3], "/../lib/dg") && !dirs[4],
		   "then the build tree beside the binary (%s)", dirs[3] ? dirs[3] : "");
		free(dirs);
	}

	/* The good plugin. */
	const struct dg_family *f = NULL;
	st = dg_family_load("tiny", &f);
	is_int(st, 0, "tiny loads through DG_PLUGIN_PATH");
	if (st)
		diag("  %s", dg_errmsg());
	if (!f) {
		printf("Bail out! no tiny\n");
		return 1;
	}
	is_str(f->summary, "a linear autoencoder for tests", "first directory wins over b");
	is_str(dg_family_path(f), path_in("a", "tiny"), "its path is known");
	const struct dg_family *again = NULL;
	dg_family_load("tiny", &again);
	ok(again == f, "loading twice gives the same family");
	ok(f->caps == (DG_CAP_ENCODE | DG_CAP_DECODE), "capabilities");
	ok(f->struct_size >= DG_FAMILY_SIZE_V2, "struct_size covers ABI 2");

	const struct dg_family *nf = NULL;
	is_int(dg_family_load("newer", &nf), 0, "a longer description (newer minor) is accepted");
	ok(nf && nf->struct_size > sizeof(struct dg_family), "  its struct_size is larger");

	test_hparams(f);
	test_train(f);

	/* Broken plugins, each refused naming its file. */
	static const struct {
		const char *name, *why;
		int status;
	} broken[] = {
		{"badabi", "ABI 100, this dg has ABI 2", DG_EDATA},
		{"badsize", "8 bytes", DG_EDATA},
		{"noentry", "dg_family_entry", DG_EDATA},
		{"notelf", "", DG_EDATA},
		{"other", "declares family 'tiny'", DG_EDATA},
		{"baddefault", "bad default: width=0: out of range [1, 10]", DG_EDATA},
	};
	for (size_t i = 0; i < sizeof broken / sizeof broken[0]; i++) {
		const struct dg_family *b = (const void *)1;
		is_int(dg_family_load(broken[i].name, &b), broken[i].status, "%s refused",
		       broken[i].name);
		ok(b == NULL, "  no family returned");
		ok(contains(dg_errmsg(), path_in("a", broken[i].name)) &&
			   contains(dg_errmsg(), broken[i].why),
		   "  message names the file and the reason");
	}
	is_int(dg_family_load("nosuch", &f), DG_ENOINPUT, "a missing family");
	ok(contains(dg_errmsg(), tmp) && contains(dg_errmsg(), DG_PLUGINDIR),
	   "  message lists the directories searched");
	static const char *const invalid[] = {"", "../tiny", "a/b", ".hidden", "x y"};
	for (size_t i = 0; i < sizeof invalid / sizeof invalid[0]; i++)
		is_int(dg_family_load(invalid[i], &f), DG_EUSAGE, "name '%s' refused", invalid[i]);

	/* Listing: sorted, first of each name wins, broken ones warned. */
	struct warnings w = {0};
	const struct dg_family **list = NULL;
	size_t n = 0;
	is_int(dg_family_list(collect, &w, &list, &n), 0, "list families");
	int tiny_at = -1, second_at = -1, sorted = 1;
	for (size_t i = 0; i < n; i++) {
		if (strcmp(list[i]->name, "tiny") == 0)
			tiny_at = (int)i;
		if (strcmp(list[i]->name, "second") == 0)
			second_at = (int)i;
		if (i && strcmp(list[i - 1]->name, list[i]->name) >= 0)
			sorted = 0;
	}
	ok(tiny_at >= 0 && second_at >= 0, "tiny (from a), second and lin (from b) listed");
	ok(tiny_at >= 0 && strcmp(list[tiny_at]->summary, "shadow") != 0,
	   "tiny listed once, from the first directory");
	ok(sorted, "sorted by name, no duplicates");
	is_int(w.n, 6, "six broken plugins warned about");
	int named = 1;
	for (int i = 0; i < w.n && i < 8; i++)
		named &= strstr(w.text[i], tmp) != NULL;
	ok(named, "  each warning names its file");
	free(list);

	/* The man page's example family trains too. */
	const struct dg_family *lf = NULL;
	is_int(dg_family_load("lin", &lf), 0, "dg-plugin(7)'s example loads");
	if (lf) {
		struct dg_hparams *hp = NULL;
		struct dg_graph *g = dg_graph_new(3);
		struct dg_model m = {0};
		struct dg_exec *e = NULL;
		static const float x[8] = {0, 1, 1, 0, 1, 0, 0, 1};
		st = dg_hparams_new(lf, &hp);
		st = st || dg_hparams_set(hp, "hidden=2");
		st = st || build_for(lf, &m, g, hp, 2, 1);
		struct dg_optim opt = {.kind = DG_SGD, .lr = 0.1f};
		const struct dg_phase *lp = st ? NULL : dg_model_phase_at(&m, 0);
		int upd = st ? 0 : dg_optimize(g, lp->loss, lp->groups, &opt);
		st = st || dg_compile(g, NULL, 1, &dg_model_term_at(&m, 0, NULL)->value, 1, &upd,
				      &e);
		st = st || dg_exec_feed(e, "x", DG_F32, x, 8) || dg_exec_run(e);
		ok(st == 0 && isfinite(dg_exec_scalar(e, 0)), "  and runs a training step");
		if (st)
			diag("  %s", dg_errmsg());
		dg_exec_free(e);
		dg_model_release(lf, &m);
		dg_graph_free(g);
		dg_hparams_free(hp);
	}

	const struct dg_family *gf = NULL;
	is_int(dg_family_load("mlpgan", &gf), 0, "dg-plugin(7)'s two-network example loads");
	if (gf) {
		struct dg_hparams *hp = NULL;
		struct dg_graph *g = dg_graph_new(3);
		struct dg_model m = {0};
		st = dg_hparams_new(gf, &hp) || dg_hparams_set(hp, "critic_steps=3") ||
		     build_for(gf, &m, g, hp, 4, 1);
		const struct dg_phase *pd = st ? NULL : dg_model_phase_at(&m, 0);
		const struct dg_phase *pg = st ? NULL : dg_model_phase_at(&m, 1);
		ok(!st && dg_model_phase_count(&m) == 2 && !strcmp(pd->name, "critic") &&
			   pd->groups == DG_GROUP(1) && pd->steps == 3 && pd->optim &&
			   pd->optim->beta1 == 0.5f && !strcmp(pg->name, "generator") &&
			   pg->groups == DG_GROUP(0) && pg->optim->ema_decay > 0,
		   "  two phases: critic (group 1, 3 steps, Adam beta1 0.5), generator (group 0, EMA)");
		size_t owner = 9;
		ok(!st && dg_model_term_count(&m) == 2 &&
			   !strcmp(dg_model_term_at(&m, 1, &owner)->name, "g_loss") && owner == 1,
		   "  g_loss is the generator's term");
		if (st)
			diag("  %s", dg_errmsg());
		dg_model_release(gf, &m);
		dg_graph_free(g);
		dg_hparams_free(hp);
	}

	/* Order reversed: b's tiny is another file, another family. */
	snprintf(env, sizeof env, "%s/b:%s/a", tmp, tmp);
	setenv("DG_PLUGIN_PATH", env, 1);
	is_int(dg_family_load("tiny", &f), 0, "tiny from b when b comes first");
	is_str(f ? f->summary : "", "shadow", "  it is b's");

	snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
	if (system(cmd) != 0)
		diag("could not remove %s", tmp);
	return done_testing();
}
