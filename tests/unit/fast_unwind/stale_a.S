/* SPDX-License-Identifier: MIT */
/* stale_a.S - fu_stale(cb) calls cb from the same offset as stale_b.S
 * does, from a frame of another size (CFA rsp+16 in a, rsp+32 in b;
 * b keeps a code address where a's rule finds the return address).
 * After dlclose of one and dlopen of the other at the same address a
 * cached rule would be stale: test_fast_unwind checks it is not used. */
	.text
	.globl	fu_stale
	.type	fu_stale, @function
fu_stale:
	.cfi_startproc
	subq	$8, %rsp
	.cfi_def_cfa_offset 16
	.byte 0x0f, 0x1f, 0x44, 0x00, 0x00 /* nopl 0(%rax,%rax): as long as B's store */
	call	*%rdi
	addq	$8, %rsp
	.cfi_def_cfa_offset 8
	ret
	.cfi_endproc
	.size	fu_stale, .-fu_stale
	.section	.note.GNU-stack,"",@progbits
