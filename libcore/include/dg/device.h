/* dg/device.h — placeholder, filled in by the issue that builds it. */
#ifndef DG_DEVICE_H
#define DG_DEVICE_H
#endif
