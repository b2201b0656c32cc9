/* plugin.c - a plugin for dl_storm.c, built twice: plugin_a.so and
 * plugin_b.so (-DPLUGIN_B: other function names, another code layout), so
 * that an unloaded A and a loaded B may share addresses.
 *
 * plugin_run(): churns, leaks PLUGIN_LEAK_BLOCKS blocks of PLUGIN_LEAK_SIZE
 * bytes from LEAK_FN, touches a __thread variable (dynamic TLS, which ld.so
 * allocates with malloc in each thread on first use).  The constructor
 * allocates a block the destructor frees (malloc under the loader lock). */
#include <stdlib.h>
#include <string.h>

#ifdef PLUGIN_B
#define LEAK_FN leak_in_plugin_b
#define PLUGIN_LEAK_SIZE 91
static char padding_b[3000] = { 1 }; /* shifts the layout */
#else
#define LEAK_FN leak_in_plugin_a
#define PLUGIN_LEAK_SIZE 77
#endif
#define PLUGIN_LEAK_BLOCKS 2

static void *volatile sink;
static char *ctor_block;
static __thread char tls_scratch[256];

__attribute__((constructor)) static void
plugin_init(void)
{
	ctor_block = malloc(123);
}

__attribute__((destructor)) static void
plugin_fini(void)
{
	free(ctor_block);
}

__attribute__((noinline)) static void
LEAK_FN(void)
{
	for (int i = 0; i < PLUGIN_LEAK_BLOCKS; i++)
		sink = malloc(PLUGIN_LEAK_SIZE);
}

/* Returns the bytes leaked, blocks in *blocks. */
__attribute__((visibility("default"))) unsigned long
plugin_run(int seed, unsigned long *blocks)
{
	void *p[16];
	for (int i = 0; i < 16; i++)
		p[i] = malloc(16 + (size_t)((seed + i) % 300));
	for (int i = 0; i < 16; i++)
		free(p[i]);
	tls_scratch[seed & 255] = (char)seed;
#ifdef PLUGIN_B
	padding_b[seed % 3000]++;
#endif
	LEAK_FN();
	*blocks = PLUGIN_LEAK_BLOCKS;
	return PLUGIN_LEAK_BLOCKS * PLUGIN_LEAK_SIZE;
}
