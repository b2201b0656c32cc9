/* SPDX-License-Identifier: MIT */
/* collection_policy.c - lp_objects_due_generation (objects.h): when
 * LEAKPROBE_AUTO collects, and which generation.  The collection itself
 * runs at a safe point (safepoint.c). */
#include "core/options.h"
#include "objects/generations.h"
#include "objects/objects.h"

int
lp_objects_due_generation(void)
{
	const struct lp_generation_state *gs = &lp_generations;
	int gen = -1;

	lp_spin_lock(&lp_registry_lock);
	/* CPython's collect_generations: the oldest generation over its
	 * threshold; a full pass only when the long-lived objects grew by
	 * a quarter since the last one. */
	for (int g = LP_NGEN - 1; g >= 0; g--) {
		if (gs->count[g] <= (int64_t)lp_opt.gc_threshold.v[g] || !lp_opt.gc_threshold.v[g])
			continue;
		if (g == LP_NGEN - 1 && gs->long_lived_pending < gs->long_lived_total / 4)
			continue;
		gen = g;
		break;
	}
	lp_spin_unlock(&lp_registry_lock);
	return gen;
}
