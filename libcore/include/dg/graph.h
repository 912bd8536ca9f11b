/* dg/graph.h — placeholder, filled in by the issue that builds it. */
#ifndef DG_GRAPH_H
#define DG_GRAPH_H
#endif
