/* test_reachability.c - the leak classification (detect/reachability.c)
 * on blocks built here: hand-made cases with the kinds valgrind's manual
 * gives them, then random graphs against a naive oracle that computes the
 * same rules as fixpoints over sets (start pointers from the roots and
 * from reachable blocks make a block reachable; any other pointer that
 * reaches it from there, or any pointer from a possibly lost block, makes
 * it possibly lost; the lost blocks form cliques in address order, each
 * claiming what it reaches through blocks no earlier clique claimed, as
 * memcheck's lc_push_if_a_chunk_ptr does). */
#include <stdlib.h>
#include <string.h>

#include "detect/reachability.h"
#include "detect/start_index.h"
#include "unit.h"

#define WORDS 8
#define MAXN 300

static uintptr_t arena[MAXN][WORDS] __attribute__((aligned(64)));
static struct lp_reach_block blocks[MAXN];
static uint8_t state[MAXN];
static uintptr_t roots[64];
static size_t nroots;

static uintptr_t
at(int i, int off)
{
	return (uintptr_t)&arena[i][0] + (uintptr_t)off;
}

static void
reset(int n)
{
	memset(arena, 0, sizeof(arena));
	nroots = 0;
	for (int i = 0; i < n; i++)
		blocks[i] = (struct lp_reach_block){ (uintptr_t)&arena[i][0], WORDS * 8, (uint32_t)i };
}

static void
classify(int n)
{
	struct lp_reach r;
	struct lp_start_index index;
	bool indexed = lp_start_index_build(&index, blocks, (size_t)n);
	lp_reach_init(&r, blocks, state, (size_t)n, indexed ? &index : NULL, 0);
	lp_reach_scan_root(&r, (uintptr_t)roots, (uintptr_t)(roots + nroots));
	lp_reach_finish(&r);
	CHECK(!r.out_of_memory);
	CHECK(indexed);
	lp_reach_free(&r);
	lp_start_index_free(&index);
}

static int
kind(int i)
{
	return LP_REACH_KIND(state[i]);
}

static void
hand_made(void)
{
	reset(12);
	/* 0: nothing points at it. */
	/* 3 -> 1 -> 2: the head is definitely lost, the rest indirectly, though
	 * 1 comes first in address order. */
	arena[3][0] = at(1, 0);
	arena[1][0] = at(2, 0);
	/* 4 <-> 5: one of a lost cycle is definitely lost (the first). */
	arena[4][0] = at(5, 0);
	arena[5][0] = at(4, 0);
	/* 6 -> 6 */
	arena[6][2] = at(6, 0);
	/* root -> 7 (start), 7 -> 8 (interior): 8 possibly lost. */
	roots[nroots++] = at(7, 0);
	arena[7][1] = at(8, 24);
	/* root -> 9 interior, 9 -> 10 start: both possibly lost. */
	roots[nroots++] = at(9, 40);
	arena[9][0] = at(10, 0);
	/* new[] of 7 elements of 8 bytes (count first), held at +8. */
	arena[11][0] = 7;
	roots[nroots++] = at(11, 8);
	classify(12);
	CHECK(kind(0) == LP_LEAK_DEFINITE);
	CHECK(kind(3) == LP_LEAK_DEFINITE && kind(1) == LP_LEAK_INDIRECT &&
	      kind(2) == LP_LEAK_INDIRECT);
	CHECK(kind(4) == LP_LEAK_DEFINITE && kind(5) == LP_LEAK_INDIRECT);
	CHECK(kind(6) == LP_LEAK_DEFINITE);
	CHECK(kind(7) == LP_LEAK_REACHABLE && kind(8) == LP_LEAK_POSSIBLE);
	CHECK(kind(9) == LP_LEAK_POSSIBLE && kind(10) == LP_LEAK_POSSIBLE);
	CHECK(kind(11) == LP_LEAK_REACHABLE && (state[11] & LP_REACH_HEURISTIC));
}

/* The oracle. */
static int ptr_to[MAXN][WORDS]; /* block index a word points into, or -1 */
static int ptr_start[MAXN][WORDS];

static int
oracle_target(uintptr_t w, int n, int *start)
{
	for (int i = 0; i < n; i++) {
		if (w >= blocks[i].ptr && w < blocks[i].ptr + blocks[i].size) {
			*start = w == blocks[i].ptr;
			return i;
		}
	}
	return -1;
}

static void
oracle(int n, int *want)
{
	static int reach[MAXN], poss[MAXN], lost[MAXN];
	memset(reach, 0, sizeof(reach));
	memset(poss, 0, sizeof(poss));
	for (int i = 0; i < n; i++)
		for (int k = 0; k < WORDS; k++)
			ptr_to[i][k] = oracle_target(arena[i][k], n, &ptr_start[i][k]);
	/* reachable: the least set closed under start pointers from roots and
	 * from its members */
	for (size_t r = 0; r < nroots; r++) {
		int s, t = oracle_target(roots[r], n, &s);
		if (t >= 0 && s)
			reach[t] = 1;
	}
	for (int changed = 1; changed;) {
		changed = 0;
		for (int i = 0; i < n; i++)
			for (int k = 0; reach[i] && k < WORDS; k++)
				if (ptr_to[i][k] >= 0 && ptr_start[i][k] && !reach[ptr_to[i][k]])
					reach[ptr_to[i][k]] = changed = 1;
	}
	/* possibly lost: any other pointer from the roots, the reachable, or
	 * the possibly lost */
	for (size_t r = 0; r < nroots; r++) {
		int s, t = oracle_target(roots[r], n, &s);
		if (t >= 0 && !reach[t])
			poss[t] = 1;
	}
	for (int changed = 1; changed;) {
		changed = 0;
		for (int i = 0; i < n; i++)
			for (int k = 0; (reach[i] || poss[i]) && k < WORDS; k++) {
				int t = ptr_to[i][k];
				if (t >= 0 && !reach[t] && !poss[t])
					poss[t] = changed = 1;
			}
	}
	/* cliques: every lost block not yet claimed leads, in address order;
	 * what it reaches through lost blocks is indirectly lost */
	for (int i = 0; i < n; i++) {
		lost[i] = !reach[i] && !poss[i];
		want[i] = reach[i] ? LP_LEAK_REACHABLE : poss[i] ? LP_LEAK_POSSIBLE : LP_LEAK_DEFINITE;
	}
	for (int leader = 0; leader < n; leader++) {
		if (!lost[leader] || want[leader] != LP_LEAK_DEFINITE)
			continue;
		static int seen[MAXN];
		memset(seen, 0, sizeof(seen));
		seen[leader] = 1;
		for (int changed = 1; changed;) {
			changed = 0;
			for (int i = 0; i < n; i++)
				for (int k = 0; seen[i] && k < WORDS; k++) {
					int t = ptr_to[i][k];
					/* valgrind walks only blocks no clique
					 * has claimed (a leader counts as unclaimed) */
					if (t >= 0 && lost[t] && !seen[t] && want[t] == LP_LEAK_DEFINITE) {
						seen[t] = changed = 1;
						want[t] = LP_LEAK_INDIRECT;
					}
				}
		}
	}
}

static void
random_graphs(void)
{
	static int want[MAXN];
	srand(7);
	for (int round = 0; round < 200; round++) {
		int n = 2 + rand() % (MAXN - 2);
		reset(n);
		int edges = rand() % (2 * n);
		for (int e = 0; e < edges; e++) {
			int from = rand() % n, to = rand() % n, w = 1 + rand() % (WORDS - 1);
			/* start pointers mostly; interior ones at odd offsets (no
			 * heuristic matches: the first word stays 0) */
			arena[from][w] = rand() % 4 ? at(to, 0) : at(to, 8 * (2 + rand() % 5) + 1);
		}
		for (int k = rand() % 6; k > 0; k--)
			roots[nroots++] = rand() % 5 ? at(rand() % n, 0) : at(rand() % n, 17);
		classify(n);
		oracle(n, want);
		int bad = 0;
		for (int i = 0; i < n; i++) {
			if (kind(i) != want[i] && !bad)
				fprintf(stderr, "round %d, n %d: block %d is %d, the oracle says %d\n",
					round, n, i, kind(i), want[i]);
			bad += kind(i) != want[i];
		}
		CHECK(bad == 0);
	}
}

int
main(void)
{
	hand_made();
	random_graphs();
	UNIT_DONE();
}
