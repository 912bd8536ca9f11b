/* dg/image.h — placeholder, filled in by the issue that builds it. */
#ifndef DG_IMAGE_H
#define DG_IMAGE_H
#endif
