/* plugin_leak.c - a plugin (dlopen'ed by plugin_host.c) that leaks in a
 * static function, so only the plugin's own symbol table (.symtab) and
 * DWARF can name it: after dlclose, dladdr() knows nothing of it.
 *
 * plugin_run(n, out) leaks n blocks of 48 bytes in grow_cache() and states
 * that, with the line of the malloc call, in *out. */
#include <stdlib.h>

struct plugin_truth {
	const char *function;
	unsigned long blocks, bytes;
	int line;
};

static void *volatile sink;

__attribute__((noinline)) static void
grow_cache(int n, struct plugin_truth *out)
{
	for (int i = 0; i < n; i++) {
		sink = malloc(48); out->line = __LINE__;
	}
	out->function = "grow_cache";
	out->blocks = (unsigned long)n;
	out->bytes = 48ul * (unsigned long)n;
}

void
plugin_run(int n, struct plugin_truth *out)
{
	grow_cache(n, out);
}
