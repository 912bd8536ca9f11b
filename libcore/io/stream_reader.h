/* stream_reader.h — what containers of dg-stream(5) records may ask of the
 * reader (stream.c).  Internal. */
#ifndef DG_STREAM_READER_H
#define DG_STREAM_READER_H

#include "dg/stream.h"

/* The payload's CRC is left unchecked because the caller checks a CRC over
 * every byte of the record itself: a checkpoint member's CRC (from the
 * sealed manifest) covers the record's header, metadata and payload, so a
 * second pass over the payload would verify nothing more and costs a
 * model load about a millisecond per 2.5 MB.  The header's own CRC is
 * still checked. */
void dg__reader_crc_by_container(struct dg_reader *r);

#endif
