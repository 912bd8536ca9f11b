#version 450
// gemm_storage.comp — gemm.glsl reading A and B from storage buffers: the
// fallback when a tensor cannot be a texel view (more floats than
// maxTexelBufferElements, or an offset the alignment rule cannot reach).
// Bindings "ssss": A, B, bias, C.
layout(std430, binding = 0) readonly buffer A { float a[]; };
layout(std430, binding = 1) readonly buffer B { float b[]; };
#define LDA(i) a[i]
#define LDB(i) b[i]
// (never specialized with VEC4: the recorder uses texel views for it)
#define LDA4(i) vec4(a[4 * (i)], a[4 * (i) + 1], a[4 * (i) + 2], a[4 * (i) + 3])
#define LDB4(i) vec4(b[4 * (i)], b[4 * (i) + 1], b[4 * (i) + 2], b[4 * (i) + 3])
#include "gemm.glsl"
