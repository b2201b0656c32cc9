/* SPDX-License-Identifier: MIT */
/*
 * block_header.h - the 16 bytes the shim puts in front of a block it
 * tracks.
 *
 * malloc(n) asks the real allocator for n + 16 bytes and hands out the
 * address 16 bytes in; the header in between names the block's entry in
 * its thread's allocation log (alloc_log.h).  A free then finds the
 * block's record in memory the allocator itself is about to touch,
 * instead of probing a table at a random address: that cache miss on
 * every malloc and free was most of the shim's cost on big heaps.
 *
 * The tag is a keyed hash of the block's address: a pointer the shim did
 * not hand out (allocated before it started, by the aligned family, or
 * invalid) has no valid tag but with odds of 2^-64, and goes to the real
 * free as it is.  Checking reads 16 bytes below a 16-aligned pointer, in
 * the same 16-byte granule as the allocator's own chunk header, which
 * glibc's free reads too.
 */
#pragma once

#include "core/base.h"

#define LP_HEADER_SIZE 16
#define LP_HEADER_NO_LOG 0 /* log id: the block is in the side table */
#define LP_HEADER_MAGIC 0xA5A5

struct lp_header {
	uint64_t tag;
	uint32_t index; /* entry in the log */
	uint16_t log;   /* log id, or LP_HEADER_NO_LOG */
	uint16_t magic; /* LP_HEADER_MAGIC: see lp_header_stale_base */
};
_Static_assert(sizeof(struct lp_header) == LP_HEADER_SIZE, "header size");

extern uint64_t lp_header_secret LP_HIDDEN;

static inline struct lp_header *
lp_header_of(const void *p)
{
	return (struct lp_header *)((uintptr_t)p - LP_HEADER_SIZE);
}

static inline uint64_t
lp_header_tag(const void *p)
{
	return (((uintptr_t)p ^ lp_header_secret) * 0x9E3779B97F4A7C15ull) | 1;
}

/* p (not NULL, not a bootstrap block) carries a header of ours. */
static inline bool
lp_has_header(const void *p)
{
	return ((uintptr_t)p & 15) == 0 &&
	       __atomic_load_n(&lp_header_of(p)->tag, __ATOMIC_RELAXED) == lp_header_tag(p);
}

/* The address the real allocator gave. */
static inline void *
lp_header_base(void *p)
{
	return (char *)p - LP_HEADER_SIZE;
}

static inline void
lp_header_write(void *p, uint16_t log, uint32_t index)
{
	struct lp_header *h = lp_header_of(p);
	h->index = index;
	h->log = log;
	h->magic = LP_HEADER_MAGIC;
	__atomic_store_n(&h->tag, lp_header_tag(p), __ATOMIC_RELAXED);
}

/* Before the block goes back to the allocator: a second free of it must
 * not find a header. */
static inline void
lp_header_clear(void *p)
{
	__atomic_store_n(&lp_header_of(p)->tag, 0, __ATOMIC_RELAXED);
}

/* Random key, read from the kernel's AT_RANDOM bytes at start-up. */
void lp_header_init(void) LP_HIDDEN;

/* Set at start-up (lp_real_allocator_detect, in every mode) when the
 * real allocator is glibc's, whose chunk layout lp_header_stale_base and
 * the leak scan's roots rely on. */
extern bool lp_real_is_glibc LP_HIDDEN;
void lp_real_allocator_detect(void) LP_HIDDEN;

/* A word glibc could have in front of a block it handed out: the chunk
 * size with its flag bits (bit 1: mmapped). */
static inline bool
lp_plausible_chunk_size(uint64_t w)
{
	uint64_t s = w & ~(uint64_t)7;
	if (w & 2)
		return (s & 4095) == 0 && s && s < (UINT64_C(1) << 47);
	return s >= 32 && (s & 15) == 0 && s < (UINT64_C(1) << 32);
}

/* p has no valid header.  If it is a block of ours freed before (a double
 * free), glibc must see the base it handed out to judge the free as it
 * would without the shim; otherwise p itself.  Our free cleared the tag,
 * and glibc's free wrote its free-list links over the header (or left its
 * second word, whose magic makes it no chunk size): what lies below p is
 * then no chunk size, while below the base lies the real chunk's.  Reads
 * stay in the page of p - 16, which the tag check read already. */
static inline void *
lp_header_stale_base(void *p)
{
	uintptr_t a = (uintptr_t)p;
	if (!lp_real_is_glibc || (a & 15) || !((a - 16) & 4095))
		return p;
	const uint64_t *w = (const uint64_t *)a;
	if (lp_plausible_chunk_size(w[-1]) || !lp_plausible_chunk_size(w[-3]))
		return p;
	return (void *)(a - LP_HEADER_SIZE);
}
