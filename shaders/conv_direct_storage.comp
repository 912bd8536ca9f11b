#version 450
// conv_direct_storage.comp — the general convolutions (conv_direct.glsl)
// reading their two inputs through storage buffers: the fallback where
// a texel view of an input cannot be made.  Bindings "sss".
layout(std430, binding = 0) readonly buffer A { float a[]; };
layout(std430, binding = 1) readonly buffer B { float b[]; };
#define LDA(i) a[i]
#define LDB(i) b[i]
#include "conv_direct.glsl"
