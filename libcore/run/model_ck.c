/* model_ck.c — a checkpoint's model: family, hyperparameters, shapes and
 * the members of graph variables (run/model_ck.h). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "run/model_ck.h"
#include "dg/error.h"
#include "dg/stream.h"

int dg__ck_abi(const struct dg_checkpoint *ck, uint64_t *abi)
{
	int st = dg_checkpoint_get_u64(ck, "plugin_abi", abi);
	if (st)
		return st;
	if (*abi != 1 && *abi != DG_PLUGIN_ABI)
		return dg_error(DG_EDATA, "%s: made with plugin ABI %llu, this dg reads ABI 1 "
				"and %d", dg_checkpoint_source(ck), (unsigned long long)*abi,
				DG_PLUGIN_ABI);
	return DG_OK;
}

int dg__ck_family(const struct dg_checkpoint *ck, const struct dg_family **f,
		  struct dg_hparams **hp)
{
	const struct dg_meta *mf = dg_checkpoint_cmeta(ck);
	const char *src = dg_checkpoint_source(ck);
	int st = dg_family_load(dg_checkpoint_family(ck), f);

	*hp = NULL;
	if (st == DG_ENOINPUT)
		st = dg_checkpoint_family_error(ck, "is not installed");
	if (!st)
		st = dg_hparams_new(*f, hp);
	for (size_t i = 0; !st && i < dg_hparams_count(*hp); i++) {
		char key[128];
		const char *name = dg_hparams_row(*hp, i)->name;
		snprintf(key, sizeof key, "hparam.%s", name);
		const char *v = dg_meta_get(mf, key);
		/* a hyperparameter added to the family since keeps its default */
		if (v && (st = dg_hparams_set_value(*hp, name, v)))
			st = dg_error_context(DG_EDATA, "%s", src);
	}
	return st;
}

int dg__parse_chw(const char *text, unsigned *c, unsigned *h, unsigned *w)
{
	unsigned long v[3];
	const char *p = text;
	for (int i = 0; i < 3; i++) {
		char *end;
		if (*p < '0' || *p > '9')
			return DG_EDATA;
		v[i] = strtoul(p, &end, 10);
		if (v[i] < 1 || v[i] > 65535 || (i < 2 ? *end != 'x' : *end != 0))
			return DG_EDATA;
		p = end + 1;
	}
	*c = (unsigned)v[0], *h = (unsigned)v[1], *w = (unsigned)v[2];
	return DG_OK;
}

int dg__ck_spec(const struct dg_checkpoint *ck, uint64_t batch, int training,
		struct dg_spec_store *s)
{
	const char *src = dg_checkpoint_source(ck);
	const struct dg_meta *mf = dg_checkpoint_cmeta(ck);
	const char *shape = dg_meta_get(mf, "data_shape");
	uint64_t classes = 0;
	int st;

	memset(s, 0, sizeof *s);
	if ((st = dg_checkpoint_get_u64(ck, "classes", &classes)))
		return st;
	if (!shape || dg__parse_chw(shape, &s->spec.channels, &s->spec.height,
				    &s->spec.width) || classes > 1u << 30)
		return dg_error(DG_EDATA, "%s: manifest: bad data_shape or classes", src);
	s->spec.classes = (unsigned)classes;
	s->spec.batch = batch;
	s->spec.training = training;
	s->spec.inputs = s->in;
	for (size_t i = 0; i < dg_meta_count(mf); i++) {
		const char *key = dg_meta_key(mf, i), *name = key + 6;
		struct dg_input_shape *in = &s->in[s->spec.ninputs];
		if (strncmp(key, "input.", 6) != 0)
			continue;
		if (s->spec.ninputs == DG_MAX_INPUTS || strlen(name) >= sizeof s->names[0] ||
		    dg__parse_chw(dg_meta_value(mf, i), &in->channels, &in->height, &in->width))
			return dg_error(DG_EDATA, "%s: manifest: bad %s", src, key);
		strcpy(s->names[s->spec.ninputs], name);
		in->name = s->names[s->spec.ninputs++];
	}
	return DG_OK;
}

int dg__ck_put_spec(struct dg_checkpoint *ck, const struct dg_model_spec *spec)
{
	struct dg_meta *mf = dg_checkpoint_meta(ck);
	int st = dg_meta_setf(mf, "data_shape", "%ux%ux%u", spec->channels, spec->height,
			      spec->width) ||
		 dg_meta_setf(mf, "classes", "%u", spec->classes) ? DG_ENOMEM : DG_OK;
	for (size_t i = 0; !st && i < spec->ninputs; i++) {
		const struct dg_input_shape *in = &spec->inputs[i];
		char key[128];
		snprintf(key, sizeof key, "input.%s", in->name);
		st = dg_meta_setf(mf, key, "%ux%ux%u", in->channels, in->height, in->width);
	}
	return st;
}

void dg__member_name(const struct dg_graph *g, size_t i, char *buf, size_t size)
{
	const char *name = dg_var_name(g, i);
	switch (dg_var_kind(g, i)) {
	case DG_VAR_PARAM:
	case DG_VAR_BUFFER:
		snprintf(buf, size, "params/%s", name);
		break;
	case DG_VAR_EMA: {
		/* "<param>.ema" is kept as ema/<param> */
		size_t n = strlen(name);
		int keep = n > 4 && !strcmp(name + n - 4, ".ema") ? (int)(n - 4) : (int)n;
		snprintf(buf, size, "ema/%.*s", keep, name);
		break;
	}
	case DG_VAR_SCRATCH:
		buf[0] = 0;
		break;
	default:
		snprintf(buf, size, "optim/%s", name);
		break;
	}
}

int dg__check_finite(const struct dg_array *a, const char *what, const char *hint)
{
	const char *allow = getenv("DG_ALLOW_NONFINITE");
	uint64_t n = 1;
	if (a->dtype != DG_F32 || (allow && !strcmp(allow, "1")))
		return DG_OK;
	for (unsigned i = 0; i < a->rank; i++)
		n *= a->dims[i];
	for (uint64_t i = 0; i < n; i++) {
		float v = ((const float *)a->data)[i];
		if (!isfinite(v))
			return dg_error(DG_EDATA, "%s holds %g at element %llu (%s)", what,
					(double)v, (unsigned long long)i, hint);
	}
	return DG_OK;
}

/* One member against the variable's shape, then its values. */
static int check_member(const struct dg_checkpoint *ck, const struct dg_graph *g, size_t i,
			const char *member, const struct dg_array *a)
{
	uint64_t dims[DG_MAX_RANK];
	char want[128], got[128], what[400];
	unsigned rank = dg_var_shape(g, i, dims);
	int same = a->dtype == DG_F32 && a->rank == rank;
	for (unsigned k = 0; same && k < rank; k++)
		same = a->dims[k] == dims[k];
	if (!same)
		return dg_error(DG_EDATA, "%s: %s is %s %s, the model built from its "
				"hyperparameters wants f32 %s", dg_checkpoint_source(ck), member,
				dg_dtype_name(a->dtype), dg_shape_format(got, sizeof got, a->rank,
									 a->dims),
				dg_shape_format(want, sizeof want, rank, dims));
	snprintf(what, sizeof what, "%s: %s", dg_checkpoint_source(ck), member);
	return dg__check_finite(a, what, "DG_ALLOW_NONFINITE=1 loads it anyway");
}

int dg__ck_check_model(const struct dg_checkpoint *ck, const struct dg_graph *g)
{
	for (size_t i = 0; i < dg_var_count(g); i++) {
		enum dg_var_kind k = dg_var_kind(g, i);
		char member[300];
		int st;
		if (k != DG_VAR_PARAM && k != DG_VAR_BUFFER)
			continue;
		dg__member_name(g, i, member, sizeof member);
		const struct dg_array *a = dg_checkpoint_tensor(ck, member);
		if (!a)
			return dg_error(DG_EDATA, "%s: no member %s", dg_checkpoint_source(ck),
					member);
		if ((st = check_member(ck, g, i, member, a)))
			return st;
		snprintf(member, sizeof member, "ema/%s", dg_var_name(g, i));
		if ((a = dg_checkpoint_tensor(ck, member)) &&
		    (st = check_member(ck, g, i, member, a)))
			return st;
	}
	return DG_OK;
}
