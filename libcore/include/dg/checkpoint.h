/* dg/checkpoint.h — placeholder, filled in by the issue that builds it. */
#ifndef DG_CHECKPOINT_H
#define DG_CHECKPOINT_H
#endif
