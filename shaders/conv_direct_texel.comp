#version 450
// conv_direct_texel.comp — the general convolutions (conv_direct.glsl)
// reading their two inputs through uniform texel buffers of floats.
// Bindings "tts": input 0, input 1, output.
layout(binding = 0) uniform samplerBuffer ta;
layout(binding = 1) uniform samplerBuffer tb;
#define LDA(i) texelFetch(ta, int(i)).x
#define LDB(i) texelFetch(tb, int(i)).x
#include "conv_direct.glsl"
