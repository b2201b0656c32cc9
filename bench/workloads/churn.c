/* SPDX-License-Identifier: MIT */
/*
 * churn.c - allocation churn microbenchmark (bench/run row 2).
 *
 * usage: churn [N ops per thread] [threads] [base depth]
 * Each thread keeps a ring of 4096 live blocks (16..511 bytes) and replaces
 * a random slot N times through malloc/calloc/realloc, each from a call
 * chain of base depth + 0..7 frames (stacks of ~20-28 frames at depth 20)
 * and one of 64 sites.  Prints its own ns/op on stderr (process start-up and
 * exit are not in it).  Same shape as the reference workload.
 *
 * Built with -DBENCH_AS_LIBRARY -shared -fPIC it becomes a module whose
 * bench_main() dlrun.c calls after dlopen(): the same loop, with every
 * allocation made from a module loaded after start-up.
 */
#ifdef BENCH_AS_LIBRARY
#define main bench_main
#endif
#include <stdlib.h>
#include <stdio.h>
#include <pthread.h>
#include <string.h>
#include <time.h>
static long N = 1000000; static int DEPTH = 20; static int NT = 1; static int SITES=64;
#define RING 4096
static __attribute__((noinline)) void* alloc_at(int depth, size_t sz, int site) {
  if (depth > 0) { void* r = alloc_at(depth-1, sz, site); asm volatile("" ::: "memory"); return r; }
  /* vary call site via switch so backtraces differ */
  switch (site & 3) { case 0: return malloc(sz); case 1: return calloc(1, sz); case 2: { void* p = malloc(sz/2+1); return realloc(p, sz);} default: return malloc(sz); }
}
static void* worker(void* arg) {
  unsigned s = (unsigned)(size_t)arg * 2654435761u + 1;
  void** ring = calloc(RING, sizeof(void*));
  for (long i = 0; i < N; i++) {
    s = s*1103515245u + 12345u;
    size_t sz = 16 + (s >> 16) % 496;
    int slot = (s >> 8) % RING;
    free(ring[slot]);
    ring[slot] = alloc_at(DEPTH + (int)((s>>4)%8), sz, (int)((s>>12) % SITES));
  }
  for (int i = 0; i < RING; i++) free(ring[i]);
  free(ring);
  return 0;
}
int main(int argc, char** argv) {
  if (argc > 1) N = atol(argv[1]);
  if (argc > 2) NT = atoi(argv[2]);
  if (argc > 3) DEPTH = atoi(argv[3]);
  if (NT < 1 || NT > 64) { fprintf(stderr, "threads: 1..64\n"); return 2; }
  struct timespec a, b; clock_gettime(CLOCK_MONOTONIC, &a);
  pthread_t t[64]; for (int i = 0; i < NT; i++) pthread_create(&t[i], 0, worker, (void*)(size_t)i);
  for (int i = 0; i < NT; i++) pthread_join(t[i], 0);
  clock_gettime(CLOCK_MONOTONIC, &b);
  double el = (b.tv_sec-a.tv_sec) + (b.tv_nsec-a.tv_nsec)/1e9;
  fprintf(stderr, "ops=%ld threads=%d depth~%d elapsed=%.3fs ns/op=%.1f\n", N*NT, NT, DEPTH, el, el*1e9/(N*NT));
  return 0;
}
