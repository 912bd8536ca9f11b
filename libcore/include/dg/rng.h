/* dg/rng.h — placeholder, filled in by the issue that builds it. */
#ifndef DG_RNG_H
#define DG_RNG_H
#endif
