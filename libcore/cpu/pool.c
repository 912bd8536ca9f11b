/* cpu/pool.c — a small pthread pool with static partitioning (no work
 * stealing, no float atomics): chunk k of a job always goes to thread k. */
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
#include "cpu/pool.h"

/* Waiting for the next job, or for the workers to finish one, a thread
 * first polls for this long, yielding the core to anything runnable,
 * before it sleeps on a condition variable: kernels come one after
 * another, and waking a sleeping thread took about 45 us on these
 * machines, longer than a 2-thread elementwise kernel over 50,000 floats
 * itself (measured: a 51,200-float sum took 67 us in the pool against 42
 * us on one thread).  Yielding keeps oneDNN's OpenMP threads, which run
 * the matrix products between our kernels, from losing their cores.
 * DG_POOL_SPIN_US overrides it (0: sleep at once). */
#define SPIN_US 200

#define MAX_THREADS 256

static struct {
	pthread_once_t once;
	pthread_mutex_t job_lock;       /* one job at a time */
	pthread_mutex_t lock;
	pthread_cond_t go, done;
	unsigned nthreads;              /* including the caller */
	unsigned long gen;              /* job generation (read unlocked while
					   spinning: written atomically) */
	unsigned long pending;          /* workers still on the job (idem) */
	dg_pool_fn fn;
	void *ctx;
	size_t n, chunks;
} P = {.once = PTHREAD_ONCE_INIT, .job_lock = PTHREAD_MUTEX_INITIALIZER,
       .lock = PTHREAD_MUTEX_INITIALIZER, .go = PTHREAD_COND_INITIALIZER,
       .done = PTHREAD_COND_INITIALIZER};

/* Kernels run with denormals flushed to zero (FTZ and DAZ in MXCSR), as
 * on GPUs: Adam's first moments of dead units decay into denormals, and on
 * this CPU that made the Adam kernel 8x and the MLP VAE step 2x slower
 * (measured in bench/b_vae).  Workers set it once; the calling thread sets
 * it around its share and restores the caller's mode. */
#if defined(__SSE2__)
#include <immintrin.h>
#define FLUSH_BITS 0x8040u /* FTZ (bit 15) | DAZ (bit 6) */
static unsigned flush_enter(void)
{
	unsigned old = _mm_getcsr();
	_mm_setcsr(old | FLUSH_BITS);
	return old;
}
static void flush_leave(unsigned old)
{
	_mm_setcsr(old);
}
#else
static unsigned flush_enter(void) { return 0; }
static void flush_leave(unsigned old) { (void)old; }
#endif

static long spin_ns = -1;

static long spin_budget(void)
{
	if (spin_ns < 0) {
		const char *e = getenv("DG_POOL_SPIN_US");
		long us = e && *e ? strtol(e, NULL, 10) : SPIN_US;
		spin_ns = (us < 0 ? 0 : us) * 1000;
	}
	return spin_ns;
}

static long long now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* Polls until *word != old (want_change) or *word == 0 (!want_change),
 * for at most the spin budget; returns whether that happened. */
static int spin_until(const unsigned long *word, unsigned long old, int want_change)
{
	long budget = spin_budget();
	long long end = 0;
	for (unsigned i = 0; budget > 0; i++) {
		unsigned long v = __atomic_load_n(word, __ATOMIC_ACQUIRE);
		if (want_change ? v != old : v == 0)
			return 1;
		if ((i & 15) == 15) {
			long long t = now_ns();
			if (!end)
				end = t + budget;
			else if (t > end)
				return 0;
			sched_yield();
		}
	}
	return 0;
}

static void chunk(size_t k, size_t chunks, size_t n, size_t *b, size_t *e)
{
	*b = n * k / chunks;
	*e = n * (k + 1) / chunks;
}

static void *worker(void *arg)
{
	size_t me = (size_t)arg;
	unsigned long seen = 0;

	flush_enter();

	for (;;) {
		spin_until(&P.gen, seen, 1);
		pthread_mutex_lock(&P.lock);
		while (P.gen == seen)
			pthread_cond_wait(&P.go, &P.lock);
		seen = P.gen;
		dg_pool_fn fn = P.fn;
		void *ctx = P.ctx;
		size_t n = P.n, chunks = P.chunks;
		pthread_mutex_unlock(&P.lock);
		if (me < chunks) {
			size_t b, e;
			chunk(me, chunks, n, &b, &e);
			if (b < e)
				fn(ctx, b, e);
		}
		pthread_mutex_lock(&P.lock);
		if (__atomic_sub_fetch(&P.pending, 1, __ATOMIC_RELEASE) == 0)
			pthread_cond_signal(&P.done);
		pthread_mutex_unlock(&P.lock);
	}
	return NULL;
}

static void start(void)
{
	const char *s = getenv("DG_THREADS");
	long n = s && *s ? strtol(s, NULL, 10) : 0;

	if (n < 1)
		n = sysconf(_SC_NPROCESSORS_ONLN);
	if (n < 1)
		n = 1;
	if (n > MAX_THREADS)
		n = MAX_THREADS;
	P.nthreads = 1;
	for (long i = 1; i < n; i++) {
		pthread_t t;
		pthread_attr_t a;
		pthread_attr_init(&a);
		pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
		if (pthread_create(&t, &a, worker, (void *)(size_t)i) == 0)
			P.nthreads++;
		pthread_attr_destroy(&a);
		if (P.nthreads != (unsigned)i + 1)
			break;
	}
}

unsigned dg_pool_threads(void)
{
	pthread_once(&P.once, start);
	return P.nthreads;
}

void dg_pool_for(size_t n, size_t grain, dg_pool_fn fn, void *ctx)
{
	unsigned t = dg_pool_threads();
	size_t chunks;

	if (!n)
		return;
	if (!grain)
		grain = 1;
	chunks = (n + grain - 1) / grain;
	if (chunks > t)
		chunks = t;
	if (chunks <= 1) {
		unsigned mode = flush_enter();
		fn(ctx, 0, n);
		flush_leave(mode);
		return;
	}
	pthread_mutex_lock(&P.job_lock);
	pthread_mutex_lock(&P.lock);
	P.fn = fn;
	P.ctx = ctx;
	P.n = n;
	P.chunks = chunks;
	__atomic_store_n(&P.pending, t - 1, __ATOMIC_RELAXED);
	__atomic_add_fetch(&P.gen, 1, __ATOMIC_RELEASE);
	pthread_cond_broadcast(&P.go);
	pthread_mutex_unlock(&P.lock);
	size_t b, e;
	chunk(0, chunks, n, &b, &e);
	unsigned mode = flush_enter();
	fn(ctx, b, e);
	flush_leave(mode);
	spin_until(&P.pending, 0, 0);
	pthread_mutex_lock(&P.lock);
	while (P.pending)
		pthread_cond_wait(&P.done, &P.lock);
	pthread_mutex_unlock(&P.lock);
	pthread_mutex_unlock(&P.job_lock);
}
