/* SPDX-License-Identifier: MIT */
/* realigned.S - fu_realigned(cb) calls cb from a frame laid out as gcc
 * lays out a realigned frame with a DRAP register (main under
 * -march=native, for one): CFA = *(rbp - 16), rbp saved at rbp, another
 * register saved rbp-relative.  libunwind's fast trace and lp_fast_unwind
 * both follow it ("aligned" frames). */
	.text
	.globl	fu_realigned
	.type	fu_realigned, @function
fu_realigned:
	.cfi_startproc
	leaq	8(%rsp), %r10
	.cfi_def_cfa 10, 0
	andq	$-32, %rsp
	pushq	-8(%r10)
	pushq	%rbp
	movq	%rsp, %rbp
	/* DW_CFA_expression rbp { DW_OP_breg6 0 } */
	.cfi_escape 0x10, 0x06, 0x02, 0x76, 0x00
	pushq	%r12
	pushq	%r10
	/* DW_CFA_def_cfa_expression { DW_OP_breg6 -16; DW_OP_deref } */
	.cfi_escape 0x0f, 0x03, 0x76, 0x70, 0x06
	/* DW_CFA_expression r12 { DW_OP_breg6 -8 } */
	.cfi_escape 0x10, 0x0c, 0x02, 0x76, 0x78
	movq	%rdi, %r12
	call	*%r12
	popq	%r10
	.cfi_def_cfa 10, 0
	popq	%r12
	.cfi_restore 12
	popq	%rbp
	.cfi_restore 6
	leaq	-8(%r10), %rsp
	.cfi_def_cfa 7, 8
	ret
	.cfi_endproc
	.size	fu_realigned, .-fu_realigned
	.section	.note.GNU-stack,"",@progbits
