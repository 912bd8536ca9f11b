/* dg.h — the public API of libdg, for tools and plugins.
 *
 * libdg never exits and never writes to stdout.  Functions report failure
 * by returning a status (enum dg_status, 0 on success) or NULL, and leave a
 * message for dg_errmsg(); see dg/error.h. */
#ifndef DG_H
#define DG_H

#include "dg/error.h"
#include "dg/array.h"
#include "dg/input.h"
#include "dg/stream.h"
#include "dg/device.h"
#include "dg/image.h"
#include "dg/dataset.h"
#include "dg/checkpoint.h"
#include "dg/rng.h"
#include "dg/graph.h"
#include "dg/tool.h"
#include "dg/plugin.h"
#include "dg/train.h"
#include "dg/inference.h"
#include "dg/latent.h"
#include "dg/nn.h"

#endif
