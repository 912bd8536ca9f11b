#version 450
// add.comp — elementwise c = a + b over n floats (the foundation's proof
// that embedded SPIR-V runs; the engine's shaders come with issue 5).
layout(local_size_x = 64) in;
layout(std430, binding = 0) readonly buffer A { float a[]; };
layout(std430, binding = 1) readonly buffer B { float b[]; };
layout(std430, binding = 2) writeonly buffer C { float c[]; };
layout(push_constant) uniform Push { uint n; } pc;
void main()
{
	uint i = gl_GlobalInvocationID.x;
	if (i < pc.n)
		c[i] = a[i] + b[i];
}
