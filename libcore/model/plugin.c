/* plugin.c — finding, loading and checking model-family plugins, their
 * hyperparameter values, and calling into them (dg-plugin(7)).
 *
 * A plugin is third-party code behind a C ABI, so everything it hands
 * over is checked once, here, before any tool relies on it; tools and
 * the training loop then trust a loaded family. */
#include <ctype.h>
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "dg/plugin.h"

#ifndef DG_PLUGINDIR
#define DG_PLUGINDIR "/usr/local/lib/dg"
#endif

/* ---- names ----------------------------------------------------------------- */

static int family_name_ok(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > DG_FAMILY_MAX_NAME || s[0] == '.')
		return 0;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && !strchr("_.-", *s))
			return 0;
	return 1;
}

/* [a-z0-9_], short enough to make a manifest key ("hparam.<name>",
 * "train.input.<name>": keys have at most 64 bytes). */
static int hparam_name_ok(const char *s)
{
	if (!*s || strlen(s) > DG_NAME_MAX)
		return 0;
	for (; *s; s++)
		if (!(islower((unsigned char)*s) || isdigit((unsigned char)*s) || *s == '_'))
			return 0;
	return 1;
}

/* ---- search path --------------------------------------------------------------- */

char **dg_plugin_dirs(void)
{
	const char *env = getenv("DG_PLUGIN_PATH");
	char exe[PATH_MAX];
	ssize_t len = readlink("/proc/self/exe", exe, sizeof exe - 1);
	if (len > 0) {
		exe[len] = 0;
		char *slash = strrchr(exe, '/');
		if (slash)
			*slash = 0;
	} else {
		exe[0] = 0;     /* no /proc: the build-tree entry is left out */
	}
	/* One allocation: the pointer array, then the strings it points to,
	 * so the caller frees it with one free(). */
	size_t nenv = env ? strlen(env) : 0, ndirs = 3;
	for (size_t i = 0; i < nenv; i++)
		ndirs += env[i] == ':';
	size_t bytes = (ndirs + 1) * sizeof(char *) + nenv + 1 + sizeof DG_PLUGINDIR +
		       strlen(exe) + sizeof "/../lib/dg";
	char **dirs = malloc(bytes);
	if (!dirs) {
		dg_error_nomem("plugin directories", bytes);
		return NULL;
	}
	char *p = (char *)(dirs + ndirs + 1);
	size_t k = 0;
	for (const char *s = env; s && *s;) {
		size_t n = strcspn(s, ":");
		if (n > 0) {    /* empty entries mean nothing, not "." */
			memcpy(p, s, n);
			p[n] = 0;
			dirs[k++] = p;
			p += n + 1;
		}
		s += n;
		if (*s == ':')
			s++;
	}
	dirs[k++] = strcpy(p, DG_PLUGINDIR);
	p += sizeof DG_PLUGINDIR;
	if (exe[0]) {
		dirs[k++] = p;
		sprintf(p, "%s/../lib/dg", exe);
	}
	dirs[k] = NULL;
	return dirs;
}

/* ---- checking a family ------------------------------------------------------------ */

struct hp_value {
	long long i;
	double f;
	char *text;     /* canonical text; for choices and strings the value */
};

struct dg_hparams {
	const struct dg_family *f;
	size_t n;
	struct hp_value v[];
};

static int parse_value(const struct dg_hparam *h, const char *s, struct hp_value *out);

/* Checks the table a plugin declares.  Returns 0 or DG_EDATA with a
 * message (the caller prefixes the file). */
static int check_hparams(const struct dg_family *f)
{
	if (!f->hparams)
		return 0;
	for (size_t i = 0; f->hparams[i].name; i++) {
		const struct dg_hparam *h = &f->hparams[i];
		if (!hparam_name_ok(h->name))
			return dg_error(DG_EDATA, "hyperparameter name '%s' is not [a-z0-9_]{1,%d}",
					h->name, DG_NAME_MAX);
		for (size_t j = 0; j < i; j++)
			if (strcmp(f->hparams[j].name, h->name) == 0)
				return dg_error(DG_EDATA, "hyperparameter %s declared twice",
						h->name);
		if (h->type < DG_HP_INT || h->type > DG_HP_STRING)
			return dg_error(DG_EDATA, "hyperparameter %s has unknown type %d",
					h->name, (int)h->type);
		if (h->type == DG_HP_CHOICE && (!h->choices || !*h->choices))
			return dg_error(DG_EDATA, "hyperparameter %s has no choices", h->name);
		if (!h->def)
			return dg_error(DG_EDATA, "hyperparameter %s has no default", h->name);
		struct hp_value v;
		if (parse_value(h, h->def, &v))
			return dg_error_context(DG_EDATA, "bad default");
		free(v.text);
	}
	return 0;
}

static const struct {
	uint32_t cap;
	size_t offset;
	const char *what;
} cap_needs[] = {
	{DG_CAP_ENCODE, offsetof(struct dg_family, encode), "encode"},
	{DG_CAP_DECODE, offsetof(struct dg_family, decode), "decode"},
	{DG_CAP_SAMPLE_LATENT, offsetof(struct dg_family, sample), "sample"},
	{DG_CAP_SAMPLE_DATA, offsetof(struct dg_family, sample), "sample"},
	{DG_CAP_LIKELIHOOD, offsetof(struct dg_family, loglik), "loglik"},
	{DG_CAP_SAMPLE_STEPS, offsetof(struct dg_family, sample_step), "sample_step"},
	{DG_CAP_TRANSLATE, offsetof(struct dg_family, translate), "translate"},
};

/* The data inputs a plugin declares beyond x and y. */
static int check_inputs(const struct dg_family *f)
{
	for (size_t i = 0; f->inputs && f->inputs[i].name; i++) {
		const struct dg_input_decl *d = &f->inputs[i];
		if (!hparam_name_ok(d->name) || !strcmp(d->name, "x") || !strcmp(d->name, "y"))
			return dg_error(DG_EDATA, "input name '%s' is not [a-z0-9_]{1,%d}, or is x "
					"or y", d->name, DG_NAME_MAX);
		for (size_t j = 0; j < i; j++)
			if (!strcmp(f->inputs[j].name, d->name))
				return dg_error(DG_EDATA, "input %s declared twice", d->name);
		if (d->kind != DG_INPUT_PAIRED && d->kind != DG_INPUT_UNPAIRED)
			return dg_error(DG_EDATA, "input %s has unknown kind %d", d->name,
					(int)d->kind);
	}
	return 0;
}

static int check_family(const struct dg_family *f, const char *name)
{
	if (f->abi_version != DG_PLUGIN_ABI)
		return dg_error(DG_EDATA, "built for plugin ABI %u, this dg has ABI %u (rebuild "
				"it against this dg's <dg/plugin.h>; see dg-plugin(7))",
				(unsigned)f->abi_version, (unsigned)DG_PLUGIN_ABI);
	if (f->struct_size < DG_FAMILY_SIZE_V2)
		return dg_error(DG_EDATA, "family description is %u bytes, at least %zu needed",
				(unsigned)f->struct_size, (size_t)DG_FAMILY_SIZE_V2);
	if (!f->name || strcmp(f->name, name) != 0)
		return dg_error(DG_EDATA, "declares family '%s', its file name says '%s'",
				f->name ? f->name : "(null)", name);
	if (!f->summary || strchr(f->summary, '\n'))
		return dg_error(DG_EDATA, "summary missing or not one line");
	if (!f->build)
		return dg_error(DG_EDATA, "no build function");
	if (!!(f->caps & DG_CAP_SAMPLE_LATENT) + !!(f->caps & DG_CAP_SAMPLE_DATA) +
	    !!(f->caps & DG_CAP_SAMPLE_STEPS) > 1)
		return dg_error(DG_EDATA, "declares more than one way to sample (latents, "
				"data, steps)");
	/* functions appended to ABI 2 are read only within struct_size */
	if ((f->caps & DG_CAP_CLASSIFY) &&
	    (f->struct_size < DG_FAMILY_SIZE_CLASSIFY || !f->classify))
		return dg_error(DG_EDATA, "capability needs a classify function (a family "
				"description of at least %zu bytes)",
				(size_t)DG_FAMILY_SIZE_CLASSIFY);
	for (size_t i = 0; i < sizeof cap_needs / sizeof cap_needs[0]; i++) {
		void *fn;
		memcpy(&fn, (const char *)f + cap_needs[i].offset, sizeof fn);
		if (f->caps & cap_needs[i].cap && !fn)
			return dg_error(DG_EDATA, "capability needs a %s function",
					cap_needs[i].what);
	}
	return check_hparams(f) || check_inputs(f) ? DG_EDATA : 0;
}

/* ---- loading ------------------------------------------------------------------------ */

/* Loaded families, for the life of the process: models hold pointers to
 * their strings and functions, and tools are short-lived, so dlclose()
 * would buy nothing but use-after-unload hazards. */
struct loaded {
	const struct dg_family *f;
	char *path;
};
static struct loaded *loaded;
static size_t nloaded;
static pthread_mutex_t load_lock = PTHREAD_MUTEX_INITIALIZER;

static const struct dg_family *find_loaded_path(const char *path)
{
	for (size_t i = 0; i < nloaded; i++)
		if (strcmp(loaded[i].path, path) == 0)
			return loaded[i].f;
	return NULL;
}

const char *dg_family_path(const struct dg_family *f)
{
	const char *p = NULL;
	pthread_mutex_lock(&load_lock);
	for (size_t i = 0; i < nloaded && !p; i++)
		if (loaded[i].f == f)
			p = loaded[i].path;
	pthread_mutex_unlock(&load_lock);
	return p;
}

/* Loads and checks the file at path as family name.  Called locked. */
static int load_file(const char *path, const char *name, const struct dg_family **out)
{
	const struct dg_family *f = find_loaded_path(path);
	if (f) {
		*out = f;
		return 0;
	}
	void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (!h)     /* dlerror() names the file and says why (not ELF, a
		       missing library, an undefined symbol) */
		return dg_error(DG_EDATA, "%s", dlerror());
	/* dlsym returns void *; POSIX guarantees it converts to a function
	 * pointer, and memcpy keeps -Wpedantic quiet about it. */
	void *sym = dlsym(h, DG_FAMILY_ENTRY);
	dg_family_entry_fn entry;
	if (!sym) {
		dlclose(h);
		return dg_error(DG_EDATA, "%s: no %s() function: not a dg plugin", path,
				DG_FAMILY_ENTRY);
	}
	memcpy(&entry, &sym, sizeof entry);
	f = entry();
	int st = f ? check_family(f, name)
		   : dg_error(DG_EDATA, "%s() returned NULL", DG_FAMILY_ENTRY);
	if (st) {
		dlclose(h);
		return dg_error_context(st, "%s", path);
	}
	struct loaded *grown = realloc(loaded, (nloaded + 1) * sizeof *loaded);
	char *copy = strdup(path);
	if (!grown || !copy) {
		if (grown)
			loaded = grown;
		free(copy);
		dlclose(h);
		return dg_error_nomem("plugin table", sizeof *loaded);
	}
	loaded = grown;
	loaded[nloaded++] = (struct loaded){f, copy};
	*out = f;
	return 0;
}

static char *plugin_file(const char *dir, const char *name)
{
	size_t n = strlen(dir) + strlen(name) + sizeof "/dg-.so";
	char *p = malloc(n);
	if (p)
		snprintf(p, n, "%s/dg-%s.so", dir, name);
	else
		dg_error_nomem("plugin path", n);
	return p;
}

int dg_family_load(const char *name, const struct dg_family **out)
{
	*out = NULL;
	if (!name || !family_name_ok(name))
		return dg_error(DG_EUSAGE, "invalid family name '%s' (expected [A-Za-z0-9_.-])",
				name ? name : "");
	char **dirs = dg_plugin_dirs();
	if (!dirs)
		return DG_ENOMEM;
	int st = -1;
	for (size_t i = 0; dirs[i] && st < 0; i++) {
		char *path = plugin_file(dirs[i], name);
		if (!path) {
			st = DG_ENOMEM;
			break;
		}
		if (access(path, F_OK) == 0) {
			pthread_mutex_lock(&load_lock);
			st = load_file(path, name, out);
			pthread_mutex_unlock(&load_lock);
		}
		free(path);
	}
	if (st < 0) {
		/* List where we looked: the usual cause is a path not set. */
		char list[2048] = "";
		size_t used = 0;
		for (size_t i = 0; dirs[i] && used < sizeof list; i++)
			used += (size_t)snprintf(list + used, sizeof list - used, "%s%s",
						 i ? ":" : "", dirs[i]);
		st = dg_error(DG_ENOINPUT, "no plugin for family '%s' (dg-%s.so not in %s)",
			      name, name, list);
	}
	free(dirs);
	return st;
}

static int cmp_family(const void *a, const void *b)
{
	const struct dg_family *const *x = a, *const *y = b;
	return strcmp((*x)->name, (*y)->name);
}

/* Adds name to the set of names seen; 1 if it was already there. */
static int seen_name(char ***names, size_t *n, const char *name, int *nomem)
{
	for (size_t i = 0; i < *n; i++)
		if (strcmp((*names)[i], name) == 0)
			return 1;
	char **grown = realloc(*names, (*n + 1) * sizeof **names);
	char *copy = strdup(name);
	if (!grown || !copy) {
		if (grown)
			*names = grown;
		free(copy);
		*nomem = 1;
		return 1;
	}
	*names = grown;
	(*names)[(*n)++] = copy;
	return 0;
}

int dg_family_list(void (*warn)(void *ctx, const char *message), void *ctx,
		   const struct dg_family ***out, size_t *n)
{
	*out = NULL;
	*n = 0;
	char **dirs = dg_plugin_dirs();
	if (!dirs)
		return DG_ENOMEM;
	char **names = NULL;
	size_t nnames = 0;
	const struct dg_family **fams = NULL;
	size_t nfams = 0;
	int nomem = 0;
	for (size_t i = 0; dirs[i] && !nomem; i++) {
		DIR *d = opendir(dirs[i]);
		if (!d)
			continue;   /* a missing directory is normal (no install) */
		/* readdir order is arbitrary; within one directory a name is
		 * unique anyway, and the result is sorted at the end. */
		struct dirent *e;
		while ((e = readdir(d)) && !nomem) {
			size_t len = strlen(e->d_name);
			if (len <= 6 || strncmp(e->d_name, "dg-", 3) != 0 ||
			    strcmp(e->d_name + len - 3, ".so") != 0)
				continue;
			char name[DG_FAMILY_MAX_NAME + 1];
			size_t nl = len - 6;
			if (nl > DG_FAMILY_MAX_NAME)
				continue;
			memcpy(name, e->d_name + 3, nl);
			name[nl] = 0;
			if (!family_name_ok(name) || seen_name(&names, &nnames, name, &nomem))
				continue;
			char *path = plugin_file(dirs[i], name);
			if (!path) {
				nomem = 1;
				break;
			}
			const struct dg_family *f;
			pthread_mutex_lock(&load_lock);
			int st = load_file(path, name, &f);
			pthread_mutex_unlock(&load_lock);
			free(path);
			if (st) {
				if (warn)
					warn(ctx, dg_errmsg());
				continue;
			}
			const struct dg_family **grown = realloc(fams, (nfams + 1) * sizeof *fams);
			if (!grown) {
				nomem = 1;
				break;
			}
			fams = grown;
			fams[nfams++] = f;
		}
		closedir(d);
	}
	for (size_t i = 0; i < nnames; i++)
		free(names[i]);
	free(names);
	free(dirs);
	if (nomem) {
		free(fams);
		return dg_error_nomem("plugin list", 0);
	}
	if (nfams)
		qsort(fams, nfams, sizeof *fams, cmp_family);
	*out = fams;
	*n = nfams;
	return 0;
}

/* ---- hyperparameter values ---------------------------------------------------------- */

static const char *type_name(enum dg_hparam_type t)
{
	static const char *const names[] = {
		[DG_HP_INT] = "an integer", [DG_HP_FLOAT] = "a number",
		[DG_HP_BOOL] = "a boolean (0/1, true/false, yes/no, on/off)",
		[DG_HP_CHOICE] = "a choice", [DG_HP_STRING] = "a string",
	};
	return t >= DG_HP_INT && t <= DG_HP_STRING ? names[t] : "?";
}

/* Is word one of the '|'-separated choices? */
static int in_choices(const char *choices, const char *word)
{
	size_t n = strlen(word);
	for (const char *c = choices; *c;) {
		size_t m = strcspn(c, "|");
		if (m == n && memcmp(c, word, n) == 0)
			return 1;
		c += m;
		if (*c)
			c++;
	}
	return 0;
}

/* Parses s as a value of h into *out (out->text allocated).  DG_EUSAGE
 * with a message "name=value: why". */
static int parse_value(const struct dg_hparam *h, const char *s, struct hp_value *out)
{
	static const char *const truths[][2] = {
		{"0", "1"}, {"false", "true"}, {"no", "yes"}, {"off", "on"},
	};
	char buf[64];
	char *end;
	*out = (struct hp_value){0};
	switch (h->type) {
	case DG_HP_INT:
		errno = 0;
		out->i = strtoll(s, &end, 10);
		if (!*s || isspace((unsigned char)*s) || *end || errno)
			return dg_error(DG_EUSAGE, "%s=%s: not %s", h->name, s, type_name(h->type));
		out->f = (double)out->i;
		if (h->lo < h->hi && (out->f < h->lo || out->f > h->hi))
			return dg_error(DG_EUSAGE, "%s=%s: out of range [%.17g, %.17g]", h->name,
					s, h->lo, h->hi);
		snprintf(buf, sizeof buf, "%lld", out->i);
		break;
	case DG_HP_FLOAT:
		errno = 0;
		out->f = strtod(s, &end);
		if (!*s || isspace((unsigned char)*s) || *end || errno || !isfinite(out->f))
			return dg_error(DG_EUSAGE, "%s=%s: not %s", h->name, s, type_name(h->type));
		if (h->lo < h->hi && (out->f < h->lo || out->f > h->hi))
			return dg_error(DG_EUSAGE, "%s=%s: out of range [%.17g, %.17g]", h->name,
					s, h->lo, h->hi);
		snprintf(buf, sizeof buf, "%.9g", out->f);
		break;
	case DG_HP_BOOL:
		out->i = -1;
		for (size_t i = 0; i < sizeof truths / sizeof truths[0]; i++)
			for (int v = 0; v < 2; v++)
				if (strcasecmp(s, truths[i][v]) == 0)
					out->i = v;
		if (out->i < 0)
			return dg_error(DG_EUSAGE, "%s=%s: not %s", h->name, s, type_name(h->type));
		out->f = (double)out->i;
		snprintf(buf, sizeof buf, "%lld", out->i);
		break;
	case DG_HP_CHOICE:
		if (!in_choices(h->choices, s))
			return dg_error(DG_EUSAGE, "%s=%s: not one of %s", h->name, s, h->choices);
		break;
	case DG_HP_STRING:
		if (strchr(s, '\n'))
			return dg_error(DG_EUSAGE, "%s: a value cannot hold a newline", h->name);
		break;
	default:
		return dg_error(DG_EDATA, "%s: unknown type", h->name);
	}
	const char *text = h->type == DG_HP_CHOICE || h->type == DG_HP_STRING ? s : buf;
	out->text = strdup(text);
	if (!out->text)
		return dg_error_nomem("hyperparameter", strlen(text) + 1);
	return 0;
}

int dg_hparams_new(const struct dg_family *f, struct dg_hparams **out)
{
	*out = NULL;
	size_t n = 0;
	while (f->hparams && f->hparams[n].name)
		n++;
	struct dg_hparams *hp = calloc(1, sizeof *hp + n * sizeof hp->v[0]);
	if (!hp)
		return dg_error_nomem("hyperparameters", sizeof *hp + n * sizeof hp->v[0]);
	hp->f = f;
	hp->n = n;
	for (size_t i = 0; i < n; i++) {
		int st = parse_value(&f->hparams[i], f->hparams[i].def, &hp->v[i]);
		if (st) {
			dg_hparams_free(hp);
			return dg_error_context(DG_EDATA, "family %s: bad default", f->name);
		}
	}
	*out = hp;
	return 0;
}

void dg_hparams_free(struct dg_hparams *hp)
{
	if (!hp)
		return;
	for (size_t i = 0; i < hp->n; i++)
		free(hp->v[i].text);
	free(hp);
}

static long find_row(const struct dg_hparams *hp, const char *name)
{
	for (size_t i = 0; i < hp->n; i++)
		if (strcmp(hp->f->hparams[i].name, name) == 0)
			return (long)i;
	return -1;
}

int dg_hparams_set_value(struct dg_hparams *hp, const char *name, const char *value)
{
	long i = find_row(hp, name);
	if (i < 0) {
		char known[1024] = "";
		size_t used = 0;
		for (size_t j = 0; j < hp->n && used < sizeof known; j++)
			used += (size_t)snprintf(known + used, sizeof known - used, "%s%s",
						 j ? ", " : "", hp->f->hparams[j].name);
		if (hp->n == 0)
			return dg_error(DG_EUSAGE, "unknown hyperparameter '%s': family %s has none",
					name, hp->f->name);
		return dg_error(DG_EUSAGE, "unknown hyperparameter '%s' for family %s (known: %s)",
				name, hp->f->name, known);
	}
	struct hp_value v;
	int st = parse_value(&hp->f->hparams[i], value, &v);
	if (st)
		return st;
	free(hp->v[i].text);
	hp->v[i] = v;
	return 0;
}

int dg_hparams_set(struct dg_hparams *hp, const char *assignment)
{
	const char *eq = strchr(assignment, '=');
	if (!eq || eq == assignment)
		return dg_error(DG_EUSAGE, "'%s': expected name=value", assignment);
	size_t n = (size_t)(eq - assignment);
	char name[65];
	if (n >= sizeof name)
		return dg_error(DG_EUSAGE, "'%.*s...': hyperparameter name too long", 16,
				assignment);
	memcpy(name, assignment, n);
	name[n] = 0;
	return dg_hparams_set_value(hp, name, eq + 1);
}

size_t dg_hparams_count(const struct dg_hparams *hp)
{
	return hp->n;
}

const struct dg_hparam *dg_hparams_row(const struct dg_hparams *hp, size_t i)
{
	return i < hp->n ? &hp->f->hparams[i] : NULL;
}

const char *dg_hparams_text(const struct dg_hparams *hp, size_t i)
{
	return i < hp->n ? hp->v[i].text : NULL;
}

const char *dg_hparams_get(const struct dg_hparams *hp, const char *name)
{
	long i = find_row(hp, name);
	return i < 0 ? NULL : hp->v[i].text;
}

const char *dg_prior_name(enum dg_prior p)
{
	switch (p) {
	case DG_PRIOR_GAUSSIAN: return "gaussian";
	case DG_PRIOR_UNIFORM: return "uniform";
	case DG_PRIOR_OTHER: return "other";
	case DG_PRIOR_NONE: break;
	}
	return "none";
}

/* ---- models ---------------------------------------------------------------------------- */

/* The value of name if its type is one of a or b, else an error on the
 * graph (a plugin bug, reported where the model's errors are). */
static const struct hp_value *model_value(struct dg_model *m, const char *name,
					  enum dg_hparam_type a, enum dg_hparam_type b)
{
	long i = m->hp ? find_row(m->hp, name) : -1;
	if (i < 0) {
		dg_graph_fail(m->g, DG_EINTERNAL, "no hyperparameter '%s' declared", name);
		return NULL;
	}
	enum dg_hparam_type t = m->hp->f->hparams[i].type;
	if (t != a && t != b) {
		dg_graph_fail(m->g, DG_EINTERNAL, "hyperparameter %s is %s", name, type_name(t));
		return NULL;
	}
	return &m->hp->v[i];
}

long long dg_model_int(struct dg_model *m, const char *name)
{
	const struct hp_value *v = model_value(m, name, DG_HP_INT, DG_HP_BOOL);
	return v ? v->i : 0;
}

double dg_model_float(struct dg_model *m, const char *name)
{
	const struct hp_value *v = model_value(m, name, DG_HP_FLOAT, DG_HP_INT);
	return v ? v->f : 0;
}

int dg_model_bool(struct dg_model *m, const char *name)
{
	const struct hp_value *v = model_value(m, name, DG_HP_BOOL, DG_HP_BOOL);
	return v ? (int)v->i : 0;
}

const char *dg_model_str(struct dg_model *m, const char *name)
{
	const struct hp_value *v = model_value(m, name, DG_HP_CHOICE, DG_HP_STRING);
	return v ? v->text : "";
}

/* ---- phases, terms and inputs declared by build() ------------------------------ */

struct term_rec {
	struct dg_term t;
	size_t phase;
	int watched;               /* dg_model_term_warn: below, why */
	double below;
	const char *why;
};
struct input_rec {
	struct dg_input_shape shape;
	dg_tensor t;                   /* created on first dg_model_input() */
};
struct dg_model_core {
	const struct dg_family *f;
	/* Phases one allocation each: struct dg_phase may grow, and a
	 * plugin built against an older header only sees a prefix of it. */
	struct dg_phase **phases;
	size_t nphases;
	struct term_rec *terms;
	size_t nterms;
	struct input_rec *inputs;
	size_t ninputs;
};

static int ident_ok(const char *s)
{
	return s && hparam_name_ok(s);
}

static void *grow(void *p, size_t n, size_t size)
{
	/* one more element; n is the current count */
	return realloc(p, (n + 1) * size);
}

struct dg_phase *dg_model_phase(struct dg_model *m, const char *name, dg_tensor loss,
				unsigned groups)
{
	struct dg_model_core *c = m->core;
	if (dg_graph_status(m->g))
		return NULL;
	if (!ident_ok(name)) {
		dg_graph_fail(m->g, DG_EINTERNAL, "phase name '%s' is not [a-z0-9_]{1,%d}",
			      name ? name : "(null)", DG_NAME_MAX);
		return NULL;
	}
	for (size_t i = 0; i < c->nphases; i++)
		if (!strcmp(c->phases[i]->name, name)) {
			dg_graph_fail(m->g, DG_EINTERNAL, "phase %s declared twice", name);
			return NULL;
		}
	if (!loss.id || dg_shape(m->g, loss, NULL) != 0 || !(groups & DG_ALL_GROUPS)) {
		dg_graph_fail(m->g, DG_EINTERNAL, "phase %s needs a scalar loss and groups", name);
		return NULL;
	}
	struct dg_phase **a = grow(c->phases, c->nphases, sizeof *a);
	struct dg_phase *p = calloc(1, sizeof *p);
	if (a)
		c->phases = a;
	if (!a || !p) {
		free(p);
		dg_graph_fail(m->g, DG_ENOMEM, "out of memory");
		return NULL;
	}
	p->name = name;
	p->loss = loss;
	p->groups = groups;
	c->phases[c->nphases++] = p;
	return p;
}

int dg_model_term(struct dg_model *m, struct dg_phase *phase, const char *name,
		  dg_tensor value)
{
	struct dg_model_core *c = m->core;
	size_t pi = c->nphases;
	if (dg_graph_status(m->g))
		return dg_graph_status(m->g);
	for (size_t i = 0; i < c->nphases; i++)
		if (c->phases[i] == phase)
			pi = i;
	if (pi == c->nphases)
		return dg_graph_fail(m->g, DG_EINTERNAL, "term %s: not a phase of this model",
				     name ? name : "(null)");
	if (!ident_ok(name))
		return dg_graph_fail(m->g, DG_EINTERNAL, "term name '%s' is not [a-z0-9_]{1,%d}",
				     name ? name : "(null)", DG_NAME_MAX);
	for (size_t i = 0; i < c->nterms; i++)
		if (!strcmp(c->terms[i].t.name, name))
			return dg_graph_fail(m->g, DG_EINTERNAL, "term %s declared twice", name);
	if (!value.id || dg_shape(m->g, value, NULL) != 0)
		return dg_graph_fail(m->g, DG_EINTERNAL, "term %s is not a scalar", name);
	if (c->nterms == DG_MAX_TERMS)
		return dg_graph_fail(m->g, DG_EINTERNAL, "term %s: more than %d terms", name,
				     DG_MAX_TERMS);
	struct term_rec *a = grow(c->terms, c->nterms, sizeof *a);
	if (!a)
		return dg_graph_fail(m->g, DG_ENOMEM, "out of memory");
	c->terms = a;
	c->terms[c->nterms++] = (struct term_rec){{name, value}, pi, 0, 0, NULL};
	return DG_OK;
}

int dg_model_term_warn(struct dg_model *m, const char *name, double below, const char *why)
{
	struct dg_model_core *c = m->core;
	if (dg_graph_status(m->g))
		return dg_graph_status(m->g);
	for (size_t i = 0; name && i < c->nterms; i++) {
		struct term_rec *r = &c->terms[i];
		if (strcmp(r->t.name, name))
			continue;
		if (r->watched)
			return dg_graph_fail(m->g, DG_EINTERNAL, "term %s watched twice", name);
		if (!why || !*why)
			return dg_graph_fail(m->g, DG_EINTERNAL, "term %s: a watch needs a reason",
					     name);
		r->watched = 1;
		r->below = below;
		r->why = why;
		return DG_OK;
	}
	return dg_graph_fail(m->g, DG_EINTERNAL, "term %s: watched but not declared",
			     name ? name : "(null)");
}

static const struct dg_input_decl *input_decl(const struct dg_family *f, const char *name)
{
	for (const struct dg_input_decl *d = f->inputs; d && d->name; d++)
		if (!strcmp(d->name, name))
			return d;
	return NULL;
}

dg_tensor dg_model_input(struct dg_model *m, const char *name)
{
	struct dg_model_core *c = m->core;
	if (dg_graph_status(m->g))
		return DG_NONE;
	if (!name || !input_decl(c->f, name)) {
		dg_graph_fail(m->g, DG_EINTERNAL, "input %s is not declared by the family",
			      name ? name : "(null)");
		return DG_NONE;
	}
	for (size_t i = 0; i < c->ninputs; i++) {
		struct input_rec *r = &c->inputs[i];
		if (strcmp(r->shape.name, name))
			continue;
		if (!r->t.id)
			r->t = dg_input(m->g, name, DG_F32,
					DG_SHAPE(m->batch, r->shape.channels, r->shape.height,
						 r->shape.width));
		return r->t;
	}
	dg_graph_fail(m->g, DG_EUSAGE, "input %s has no data (%s)", name,
		      input_decl(c->f, name)->help ? input_decl(c->f, name)->help : "");
	return DG_NONE;
}

size_t dg_model_phase_count(const struct dg_model *m)
{
	return m->core ? m->core->nphases : 0;
}

const struct dg_phase *dg_model_phase_at(const struct dg_model *m, size_t i)
{
	return m->core && i < m->core->nphases ? m->core->phases[i] : NULL;
}

size_t dg_model_term_count(const struct dg_model *m)
{
	return m->core ? m->core->nterms : 0;
}

const struct dg_term *dg_model_term_at(const struct dg_model *m, size_t i, size_t *phase)
{
	if (!m->core || i >= m->core->nterms)
		return NULL;
	if (phase)
		*phase = m->core->terms[i].phase;
	return &m->core->terms[i].t;
}

int dg_model_term_watch(const struct dg_model *m, size_t i, double *below, const char **why)
{
	if (!m->core || i >= m->core->nterms || !m->core->terms[i].watched)
		return 0;
	*below = m->core->terms[i].below;
	*why = m->core->terms[i].why;
	return 1;
}

static void core_free(struct dg_model_core *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->nphases; i++)
		free(c->phases[i]);
	free(c->phases);
	free(c->terms);
	free(c->inputs);
	free(c);
}

/* The spec's input shapes, checked against the family's declarations. */
static int core_inputs(struct dg_model_core *c, const struct dg_model_spec *spec)
{
	const struct dg_family *f = c->f;
	if (spec->ninputs && !(c->inputs = calloc(spec->ninputs, sizeof *c->inputs)))
		return dg_error_nomem("model inputs", spec->ninputs * sizeof *c->inputs);
	for (size_t i = 0; i < spec->ninputs; i++) {
		const struct dg_input_shape *s = &spec->inputs[i];
		if (!s->name || !input_decl(f, s->name))
			return dg_error(DG_EUSAGE, "family %s has no input '%s'", f->name,
					s->name ? s->name : "(null)");
		for (size_t j = 0; j < i; j++)
			if (!strcmp(spec->inputs[j].name, s->name))
				return dg_error(DG_EUSAGE, "input %s given twice", s->name);
		if (!s->channels || !s->height || !s->width)
			return dg_error(DG_EUSAGE, "input %s: empty image shape", s->name);
		c->inputs[c->ninputs++].shape = *s;
	}
	return DG_OK;
}

static int model_build(const struct dg_family *f, struct dg_model *m, struct dg_graph *g,
		       const struct dg_hparams *hp, const struct dg_model_spec *spec)
{
	*m = (struct dg_model){
		.struct_size = sizeof *m, .g = g, .hp = hp, .channels = spec->channels,
		.height = spec->height, .width = spec->width, .classes = spec->classes,
		.batch = spec->batch, .training = spec->training, .y = DG_NONE,
	};
	if (!hp || hp->f != f)
		return dg_error(DG_EINTERNAL, "family %s: hyperparameters of another family",
				f->name);
	if (!(m->core = calloc(1, sizeof *m->core)))
		return dg_error_nomem("a model", sizeof *m->core);
	m->core->f = f;
	int st = core_inputs(m->core, spec);
	if (st)
		return st;
	/* training needs the data of every declared input */
	for (const struct dg_input_decl *d = f->inputs; spec->training && d && d->name; d++) {
		int have = 0;
		for (size_t i = 0; i < m->core->ninputs; i++)
			have |= !strcmp(m->core->inputs[i].shape.name, d->name);
		if (!have)
			return dg_error(DG_EUSAGE, "family %s needs data for its input %s (%s; "
					"dg-train: -d %s=DATA)", f->name, d->name,
					d->help ? d->help : "", d->name);
	}
	m->x = dg_input(g, "x", DG_F32, DG_SHAPE(spec->batch, spec->channels, spec->height,
						 spec->width));
	if (spec->classes > 0)
		m->y = dg_input(g, "y", DG_I32, DG_SHAPE(spec->batch));
	st = dg_graph_status(g);
	if (st == 0)
		st = f->build(m);
	if (st == 0)
		st = dg_graph_status(g);
	if (st)
		return dg_error(st, "family %s: %s", f->name,
				dg_graph_status(g) ? dg_graph_error(g) : dg_errmsg());
	if (m->core->nphases < 1)
		return dg_error(DG_EINTERNAL, "family %s: build declared no training phase",
				f->name);
	return 0;
}

int dg_model_build(const struct dg_family *f, struct dg_model *m, struct dg_graph *g,
		   const struct dg_hparams *hp, const struct dg_model_spec *spec)
{
	int st = model_build(f, m, g, hp, spec);
	if (st)   /* nothing is left for the caller to release */
		dg_model_release(f, m);
	return st;
}

void dg_model_release(const struct dg_family *f, struct dg_model *m)
{
	if (f && m && f->release)
		f->release(m);
	if (m) {
		m->priv = NULL;
		core_free(m->core);
		m->core = NULL;
	}
}
