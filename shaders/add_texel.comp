#version 450
// add_texel.comp — c = a + b with a and b read through uniform texel
// buffers (the load path issue 5's matmul uses on lavapipe); the runtime's
// test of 't' bindings and buffer views.
layout(local_size_x = 64) in;
layout(binding = 0) uniform samplerBuffer a;
layout(binding = 1) uniform samplerBuffer b;
layout(std430, binding = 2) writeonly buffer C { float c[]; };
layout(push_constant) uniform Push { uint n; } pc;
void main()
{
	uint i = gl_GlobalInvocationID.x;
	if (i < pc.n)
		c[i] = texelFetch(a, int(i)).x + texelFetch(b, int(i)).x;
}
