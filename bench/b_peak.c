/* bench/b_peak.c — the processor's fp32 peak: measured with an FMA
 * throughput kernel (AVX-512 and AVX2, enabled per function so the rest of
 * dg keeps the baseline ISA) on one and on all cores, and derived as
 * cores × FMA units × lanes × 2 flops × GHz with the clock measured by a
 * dependent-add loop. */
#include <immintrin.h>
#include <pthread.h>
#include <unistd.h>

#include "bench.h"

#define ACC 16            /* independent chains: > latency × FMA ports */
static const long ITERS = 20000000;

/* Each iteration issues ACC independent FMAs of 16 lanes.  a·m + c with
 * m < 1 converges to a fixed point, so values stay normal (no denormal
 * slowdowns) and the compiler cannot remove the loop (result is used). */
__attribute__((target("avx512f"))) static float fma512(long iters)
{
	__m512 a[ACC], m = _mm512_set1_ps(0.9999999f), c = _mm512_set1_ps(1e-7f);
	for (int j = 0; j < ACC; j++)
		a[j] = _mm512_set1_ps((float)j);
	for (long i = 0; i < iters; i++) {
		/* Fully unrolled so that gcc, too, keeps a[] in registers. */
#pragma GCC unroll 16
		for (int j = 0; j < ACC; j++)
			a[j] = _mm512_fmadd_ps(a[j], m, c);
	}
	for (int j = 1; j < ACC; j++)
		a[0] = _mm512_add_ps(a[0], a[j]);
	return _mm512_reduce_add_ps(a[0]);
}

__attribute__((target("avx2,fma"))) static float fma256(long iters)
{
	__m256 a[ACC], m = _mm256_set1_ps(0.9999999f), c = _mm256_set1_ps(1e-7f);
	float out[8], s = 0;
	for (int j = 0; j < ACC; j++)
		a[j] = _mm256_set1_ps((float)j);
	for (long i = 0; i < iters; i++) {
		/* Fully unrolled so that gcc, too, keeps a[] in registers. */
#pragma GCC unroll 16
		for (int j = 0; j < ACC; j++)
			a[j] = _mm256_fmadd_ps(a[j], m, c);
	}
	for (int j = 1; j < ACC; j++)
		a[0] = _mm256_add_ps(a[0], a[j]);
	_mm256_storeu_ps(out, a[0]);
	for (int j = 0; j < 8; j++)
		s += out[j];
	return s;
}

struct job {
	int wide;
	long iters;
	float sink;
	double cpu_s;             /* this thread's CPU time for the kernel */
	pthread_barrier_t *bar;
};

static double cpu_now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
	return t.tv_sec + t.tv_nsec * 1e-9;
}

static void *worker(void *arg)
{
	struct job *j = arg;
	pthread_barrier_wait(j->bar);
	double t0 = cpu_now();
	j->sink = j->wide ? fma512(j->iters) : fma256(j->iters);
	j->cpu_s = cpu_now() - t0;
	return NULL;
}

/* GFLOP/s of nthreads threads each running the kernel, median of repeats:
 * by wall clock, and (*per_cpu) summed over threads by each thread's own
 * CPU time, which time-sharing with other processes does not inflate. */
static double gflops(int wide, int nthreads, double *per_cpu)
{
	double v[101], c[101];
	int reps = bench_repeats();
	pthread_t t[64];
	struct job jobs[64];
	pthread_barrier_t bar;

	for (int r = 0; r < reps; r++) {
		pthread_barrier_init(&bar, NULL, nthreads + 1);
		for (int i = 0; i < nthreads; i++) {
			jobs[i] = (struct job){ wide, ITERS / (wide ? 2 : 1), 0, 0, &bar };
			pthread_create(&t[i], NULL, worker, &jobs[i]);
		}
		pthread_barrier_wait(&bar);
		double t0 = now_s();
		for (int i = 0; i < nthreads; i++)
			pthread_join(t[i], NULL);
		double dt = now_s() - t0;
		pthread_barrier_destroy(&bar);
		double flops = (double)jobs[0].iters * ACC * (wide ? 16 : 8) * 2;
		v[r] = nthreads * flops / dt / 1e9;
		c[r] = 0;
		for (int i = 0; i < nthreads; i++)
			c[r] += flops / jobs[i].cpu_s / 1e9;
	}
	*per_cpu = median(c, reps);
	return median(v, reps);
}

/* Clock in GHz: a dec/jnz loop retires one iteration per cycle (the
 * decrement is a 1-cycle dependency chain), so cycles ≈ iterations. */
static double measure_ghz(void)
{
	double v[101];
	int reps = bench_repeats();

	for (int r = 0; r < reps; r++) {
		long n = 300000000;
		double t0 = cpu_now();
		__asm__ volatile("1: dec %0\n\tjnz 1b" : "+r"(n));
		v[r] = 300000000 / (cpu_now() - t0) / 1e9;
	}
	return median(v, reps);
}

int main(void)
{
	int cores = (int)sysconf(_SC_NPROCESSORS_ONLN);
	double cpu1, cpuall;

	if (cores > 64)
		cores = 64;
	double ghz = measure_ghz();
	report("cpu.ghz", ghz, "GHz", "dependent dec/jnz loop (1 per cycle), thread CPU time");
	report("cpu.cores", (double)cores, "cores", "online processors");
	gflops(0, 1, &cpu1);
	report("peak.fma256.1thread", cpu1, "GFLOP/s", "AVX2 FMA, 16 chains, thread CPU time");
	if (!__builtin_cpu_supports("avx512f")) {
		double wall = gflops(0, cores, &cpuall);
		report("peak.measured", cpuall, "GFLOP/s", "AVX2 FMA on %d threads (wall %.1f)",
		       cores, wall);
		return 0;
	}
	gflops(1, 1, &cpu1);
	double wall = gflops(1, cores, &cpuall);
	/* FMA instructions per cycle per core, rounded: 16 lanes, 2 flops. */
	double units = cpu1 / (16 * 2 * ghz);
	int u = (int)(units + 0.5);
	report("peak.fma512.1thread", cpu1, "GFLOP/s", "AVX-512 FMA, thread CPU time; %.2f FMA/cycle",
	       units);
	report("peak.measured", cpuall, "GFLOP/s",
	       "AVX-512 FMA, %d threads, sum of per-thread CPU-time rates (wall-clock %.1f)",
	       cores, wall);
	report("peak.derived", cores * u * 16 * 2 * ghz, "GFLOP/s",
	       "%d cores x %d FMA units x 16 lanes x 2 flops x %.2f GHz", cores, u, ghz);
	return 0;
}
