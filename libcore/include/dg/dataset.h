/* dg/dataset.h — placeholder, filled in by the issue that builds it. */
#ifndef DG_DATASET_H
#define DG_DATASET_H
#endif
