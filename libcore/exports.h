/* exports.h — what libdg exports: the public headers (dg.h and the ones
 * under dg/), declared here with default visibility.  libdg's objects are
 * compiled with -fvisibility=hidden and this file included first
 * (-include), so every function a public header declares is exported and
 * everything else stays internal (tests/symbols.t checks both ways). */
#ifndef DG_EXPORTS_H
#define DG_EXPORTS_H

#pragma GCC visibility push(default)
#include "dg.h"
#pragma GCC visibility pop

#endif
