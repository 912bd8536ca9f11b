#version 450
// gemm_texel.comp — matmul and convolutions (gemm.glsl) reading A and B
// through uniform texel buffers of floats: lavapipe's texel fetch is about
// twice as fast as a storage-buffer load whose address differs per
// invocation.  Bindings "ttss": A, B, bias, C.
layout(binding = 0) uniform samplerBuffer ta;
layout(binding = 1) uniform samplerBuffer tb;
#define LDA(i) texelFetch(ta, int(i)).x
#define LDB(i) texelFetch(tb, int(i)).x
#define LDA4(i) texelFetch(ta, int(i))
#define LDB4(i) texelFetch(tb, int(i))
#include "gemm.glsl"
