/* SPDX-License-Identifier: MIT */
/* stale_b.S - fu_stale(cb) calls cb from the same offset as stale_a.S
 * does, from a frame of another size (CFA rsp+16 in a, rsp+32 in b;
 * b keeps a code address where a's rule finds the return address).
 * After dlclose of one and dlopen of the other at the same address a
 * cached rule would be stale: test_fast_unwind checks it is not used. */
	.text
	.globl	fu_stale
	.type	fu_stale, @function
fu_stale:
	.cfi_startproc
	subq	$24, %rsp
	.cfi_def_cfa_offset 32
	movq %rdi, 8(%rsp)
	call	*%rdi
	addq	$24, %rsp
	.cfi_def_cfa_offset 8
	ret
	.cfi_endproc
	.size	fu_stale, .-fu_stale
	.section	.note.GNU-stack,"",@progbits
