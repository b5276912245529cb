// SPDX-License-Identifier: GPL-2.0
/*
 * hopinsn: a QEMU TCG plugin that counts, between two marker instructions the
 * guest executes, the instructions run in user and in kernel mode and a few
 * classes of instruction that cost far more than one cycle on hardware.
 *
 *   qemu-system-x86_64 ... -plugin build/bench/hopinsn.so,out=FILE
 *
 * hopbench (bench/harness.c) executes HOPBENCH_MARK_START just before each
 * repetition's timed loop and HOPBENCH_MARK_END just after it.  At every end
 * marker one JSON line with the window's totals is appended to FILE (and
 * flushed, so that the guest can read it at once through the 9p share of
 * out/); bench/run.sh divides by the round trips and adds the result to the
 * cell's JSON line.
 *
 * What is counted, decoded from each instruction's bytes at translation:
 *   insn_user, insn_kernel  every instruction executed, split by address
 *                           (on x86-64 kernel addresses have bit 63 set)
 *   cr3_writes   mov to CR3 (0F 22 /3)
 *   wrmsr        WRMSR (0F 30)
 *   xsave        XSAVE, XSAVEOPT (0F AE /4, /6), XSAVEC, XSAVES (0F C7 /4, /5)
 *   xrstor       XRSTOR (0F AE /5), XRSTORS (0F C7 /3)
 *   syscalls     SYSCALL (0F 05)
 *   lock_insns   LOCK-prefixed instructions
 *   rep_insns    executions of REP/REPNE string instructions (MOVS, STOS,
 *                LODS, CMPS, SCAS, INS, OUTS): QEMU's x86 translator runs one
 *                iteration per execution of the instruction and jumps back to
 *                it, so each iteration is one execution here and one
 *                instruction for icount; under -icount QEMU also disables its
 *                "repz" shortcut, so a REP with count N executes N + 1 times
 *                (the last one finds RCX = 0 and falls through)
 *   rep_starts   REP instructions begun: an execution of a REP instruction
 *                is a continuation when the previous instruction executed
 *                (on any vCPU) was the same REP instruction, else a start.
 *                An interrupt in the middle of a REP counts a second start.
 *
 * The counters are global, not per vCPU (QEMU 7.2's inline operations add
 * to one address): like -icount's clock they sum both vCPUs, which is exact
 * for a same-CPU cell while the other vCPU idles in HLT and includes the
 * server's side in a cross-CPU cell.  Every instruction gets an inline add
 * (no helper call); the markers and REP instructions get a callback.
 *
 * With hist=1 (-plugin hopinsn.so,out=FILE,hist=1) the plugin also keeps one
 * counter per kernel instruction address (an inline add per executed kernel
 * instruction, so the counts are exactly the ones insn_kernel sums) and at
 * every end marker appends that window's non-zero counters to FILE.hist:
 *
 *   # window N insn_kernel K addrs M
 *   ffffffff81234567 1234            (hex address, executions in the window)
 *   ...
 *
 * The counts of one window add up to its insn_kernel (both vCPUs, as above).
 * A REP string instruction counts once per iteration (N + 1 for a count of
 * N under -icount), like icount and insn_kernel.  bench/profile.py maps the
 * addresses to functions with the guest's /proc/kallsyms.
 *
 * Debian's QEMU 7.2 exports plugin API version 1 but packages no
 * qemu-plugin.h, so the few types and functions used here are declared below
 * as QEMU 7.2's include/qemu/qemu-plugin.h (API version 1) declares them;
 * their signatures changed in later versions (qemu_plugin_insn_data in API 3,
 * the inline operations in API 2), so this builds only against API 1.
 */
#include <inttypes.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- QEMU 7.2 plugin API, version 1 (include/qemu/qemu-plugin.h) ---- */
#define QEMU_PLUGIN_EXPORT __attribute__((visibility("default")))

typedef uint64_t qemu_plugin_id_t;

typedef struct qemu_info_t {
	const char *target_name;
	struct {
		int min;
		int cur;
	} version;
	bool system_emulation;
	union {
		struct {
			int smp_vcpus;
			int max_vcpus;
		} system;
	};
} qemu_info_t;

struct qemu_plugin_tb;
struct qemu_plugin_insn;

enum qemu_plugin_cb_flags {
	QEMU_PLUGIN_CB_NO_REGS,
	QEMU_PLUGIN_CB_R_REGS,
	QEMU_PLUGIN_CB_RW_REGS,
};

enum qemu_plugin_op {
	QEMU_PLUGIN_INLINE_ADD_U64,
};

typedef void (*qemu_plugin_udata_cb_t)(qemu_plugin_id_t id, void *userdata);
typedef void (*qemu_plugin_vcpu_udata_cb_t)(unsigned int vcpu_index,
					    void *userdata);
typedef void (*qemu_plugin_vcpu_tb_trans_cb_t)(qemu_plugin_id_t id,
					       struct qemu_plugin_tb *tb);

void qemu_plugin_register_vcpu_tb_trans_cb(qemu_plugin_id_t id,
					   qemu_plugin_vcpu_tb_trans_cb_t cb);
void qemu_plugin_register_vcpu_insn_exec_cb(struct qemu_plugin_insn *insn,
					    qemu_plugin_vcpu_udata_cb_t cb,
					    enum qemu_plugin_cb_flags flags,
					    void *userdata);
void qemu_plugin_register_vcpu_insn_exec_inline(struct qemu_plugin_insn *insn,
						enum qemu_plugin_op op,
						void *ptr, uint64_t imm);
size_t qemu_plugin_tb_n_insns(const struct qemu_plugin_tb *tb);
struct qemu_plugin_insn *qemu_plugin_tb_get_insn(const struct qemu_plugin_tb *tb,
						 size_t idx);
const void *qemu_plugin_insn_data(const struct qemu_plugin_insn *insn);
size_t qemu_plugin_insn_size(const struct qemu_plugin_insn *insn);
uint64_t qemu_plugin_insn_vaddr(const struct qemu_plugin_insn *insn);
void qemu_plugin_register_atexit_cb(qemu_plugin_id_t id,
				    qemu_plugin_udata_cb_t cb, void *userdata);
void qemu_plugin_outs(const char *string);
/* ---- end of the QEMU declarations ---- */

QEMU_PLUGIN_EXPORT int qemu_plugin_version = 1;

QEMU_PLUGIN_EXPORT int qemu_plugin_install(qemu_plugin_id_t id,
					   const qemu_info_t *info,
					   int argc, char **argv);

/*
 * The markers, as bench/harness.c writes them:
 *   nopl 0x68700001(%rax,%rax,1)  = 0f 1f 84 00 01 00 70 68   (start)
 *   nopl 0x68700002(%rax,%rax,1)  = 0f 1f 84 00 02 00 70 68   (end)
 * A multi-byte NOP with a displacement no compiler emits for padding.
 */
static const uint8_t mark_start[8] = { 0x0f, 0x1f, 0x84, 0x00, 0x01, 0x00, 0x70, 0x68 };
static const uint8_t mark_end[8] = { 0x0f, 0x1f, 0x84, 0x00, 0x02, 0x00, 0x70, 0x68 };

enum {
	C_USER, C_KERNEL, C_CR3, C_WRMSR, C_XSAVE, C_XRSTOR, C_SYSCALL,
	C_LOCK, C_REP, C_REP_START, C_NR
};

static const char *const names[C_NR] = {
	"insn_user", "insn_kernel", "cr3_writes", "wrmsr", "xsave", "xrstor",
	"syscalls", "lock_insns", "rep_insns", "rep_starts",
};

static uint64_t cnt[C_NR];	/* since boot, both vCPUs */
static uint64_t base[C_NR];	/* at the open window's start marker */
static uint64_t sum[C_NR];	/* over all closed windows */
static bool open_window;
static unsigned int window_vcpu;
static uint64_t windows, unmatched;
static uint64_t rep_last_vaddr, rep_last_count;
static FILE *out;

/* hist=1: one counter per kernel instruction address. */
struct hist_ent {
	uint64_t vaddr;
	uint64_t count;		/* executions since translation */
	uint64_t base;		/* count at the open window's start marker */
	struct hist_ent *next;	/* hash chain */
};
#define HIST_BUCKETS (1u << 18)
static bool hist_on;
static FILE *hist_out;
static struct hist_ent **hist_hash;
static struct hist_ent **hist_all;
static size_t hist_n, hist_cap;

static struct hist_ent *hist_get(uint64_t va)
{
	size_t h = (size_t)((va * 0x9e3779b97f4a7c15ull) >> 46) & (HIST_BUCKETS - 1);
	struct hist_ent *e;

	for (e = hist_hash[h]; e; e = e->next)
		if (e->vaddr == va)
			return e;
	e = calloc(1, sizeof(*e));
	if (!e)
		return NULL;
	if (hist_n == hist_cap) {
		size_t cap = hist_cap ? 2 * hist_cap : 65536;
		struct hist_ent **a = realloc(hist_all, cap * sizeof(*a));

		if (!a) {
			free(e);
			return NULL;
		}
		hist_all = a;
		hist_cap = cap;
	}
	/* count = base = 0: a counter born inside a window counts from 0. */
	e->vaddr = va;
	e->next = hist_hash[h];
	hist_hash[h] = e;
	hist_all[hist_n++] = e;
	return e;
}

static void hist_start(void)
{
	for (size_t i = 0; i < hist_n; i++)
		hist_all[i]->base = hist_all[i]->count;
}

static void hist_end(void)
{
	size_t m = 0;

	if (!hist_out)
		return;
	for (size_t i = 0; i < hist_n; i++)
		m += hist_all[i]->count != hist_all[i]->base;
	fprintf(hist_out, "# window %" PRIu64 " insn_kernel %" PRIu64 " addrs %zu\n",
		windows, cnt[C_KERNEL] - base[C_KERNEL], m);
	for (size_t i = 0; i < hist_n; i++) {
		struct hist_ent *e = hist_all[i];

		if (e->count != e->base)
			fprintf(hist_out, "%" PRIx64 " %" PRIu64 "\n", e->vaddr,
				e->count - e->base);
	}
	fflush(hist_out);
}

/* Legacy prefixes, any order, before an optional REX and the opcode. */
static bool is_prefix(uint8_t b)
{
	switch (b) {
	case 0xf0: case 0xf2: case 0xf3: case 0x2e: case 0x36: case 0x3e:
	case 0x26: case 0x64: case 0x65: case 0x66: case 0x67:
		return true;
	}
	return false;
}

static bool is_string_op(uint8_t op)
{
	return (op >= 0xa4 && op <= 0xa7) || (op >= 0xaa && op <= 0xaf) ||
	       (op >= 0x6c && op <= 0x6f);
}

/* The class of one instruction (C_NR: none of them); *lock, *rep as seen. */
static int classify(const uint8_t *b, size_t n, bool *lock, bool *rep)
{
	bool opsize = false, repf = false;
	uint8_t rex = 0, op, modrm, reg, mod;
	size_t i = 0;

	*lock = false;
	*rep = false;
	for (; i < n && is_prefix(b[i]); i++) {
		if (b[i] == 0xf0)
			*lock = true;
		else if (b[i] == 0xf2 || b[i] == 0xf3)
			repf = true;
		else if (b[i] == 0x66)
			opsize = true;
	}
	if (i < n && (b[i] & 0xf0) == 0x40)
		rex = b[i++];
	if (i >= n)
		return C_NR;
	op = b[i];
	*rep = repf && is_string_op(op);
	if (op != 0x0f || i + 1 >= n)
		return C_NR;
	op = b[i + 1];
	if (op == 0x30)
		return C_WRMSR;
	if (op == 0x05)
		return C_SYSCALL;
	if (i + 2 >= n)
		return C_NR;
	modrm = b[i + 2];
	reg = (modrm >> 3) & 7;
	mod = modrm >> 6;
	switch (op) {
	case 0x22:	/* mov to control register; REX.R would make it CR11 */
		return reg == 3 && !(rex & 4) ? C_CR3 : C_NR;
	case 0xae:	/* group 15, memory forms without F2/F3 */
		if (mod == 3 || repf)
			return C_NR;
		if (reg == 4 || (reg == 6 && !opsize))
			return C_XSAVE;
		return reg == 5 ? C_XRSTOR : C_NR;
	case 0xc7:	/* group 9, memory forms */
		if (mod == 3)
			return C_NR;
		if (reg == 4 || reg == 5)
			return C_XSAVE;
		return reg == 3 ? C_XRSTOR : C_NR;
	}
	return C_NR;
}

static void write_window(unsigned int vcpu)
{
	if (!out)
		return;
	fprintf(out, "{\"window\":%" PRIu64 ",\"vcpu\":%u", windows, vcpu);
	for (int c = 0; c < C_NR; c++)
		fprintf(out, ",\"%s\":%" PRIu64, names[c], cnt[c] - base[c]);
	fprintf(out, "}\n");
	fflush(out);
}

static void on_mark(unsigned int vcpu, void *udata)
{
	bool start = udata != NULL;

	if (start) {
		/* A start without an end (the program died): drop that window. */
		if (open_window)
			unmatched++;
		memcpy(base, cnt, sizeof(base));
		open_window = true;
		window_vcpu = vcpu;
		if (hist_on)
			hist_start();
		return;
	}
	if (!open_window || vcpu != window_vcpu) {
		unmatched++;
		return;
	}
	open_window = false;
	windows++;
	for (int c = 0; c < C_NR; c++)
		sum[c] += cnt[c] - base[c];
	write_window(vcpu);
	if (hist_on)
		hist_end();
}

static void on_rep(unsigned int vcpu, void *udata)
{
	uint64_t vaddr = (uintptr_t)udata;
	uint64_t total = cnt[C_USER] + cnt[C_KERNEL];

	(void)vcpu;
	/*
	 * The inline add of this execution and this callback come in the same
	 * order every time, so back-to-back iterations are exactly 1 apart.
	 */
	if (vaddr != rep_last_vaddr || total != rep_last_count + 1)
		cnt[C_REP_START]++;
	rep_last_vaddr = vaddr;
	rep_last_count = total;
}

static void tb_trans(qemu_plugin_id_t id, struct qemu_plugin_tb *tb)
{
	size_t n = qemu_plugin_tb_n_insns(tb);

	(void)id;
	for (size_t i = 0; i < n; i++) {
		struct qemu_plugin_insn *insn = qemu_plugin_tb_get_insn(tb, i);
		const uint8_t *b = qemu_plugin_insn_data(insn);
		size_t len = qemu_plugin_insn_size(insn);
		uint64_t va = qemu_plugin_insn_vaddr(insn);
		bool lock, rep;
		int c = classify(b, len, &lock, &rep);

		qemu_plugin_register_vcpu_insn_exec_inline(insn,
			QEMU_PLUGIN_INLINE_ADD_U64,
			&cnt[va >> 63 ? C_KERNEL : C_USER], 1);
		if (hist_on && va >> 63) {
			struct hist_ent *e = hist_get(va);

			if (e)
				qemu_plugin_register_vcpu_insn_exec_inline(insn,
					QEMU_PLUGIN_INLINE_ADD_U64, &e->count, 1);
		}
		if (c != C_NR)
			qemu_plugin_register_vcpu_insn_exec_inline(insn,
				QEMU_PLUGIN_INLINE_ADD_U64, &cnt[c], 1);
		if (lock)
			qemu_plugin_register_vcpu_insn_exec_inline(insn,
				QEMU_PLUGIN_INLINE_ADD_U64, &cnt[C_LOCK], 1);
		if (rep) {
			qemu_plugin_register_vcpu_insn_exec_inline(insn,
				QEMU_PLUGIN_INLINE_ADD_U64, &cnt[C_REP], 1);
			qemu_plugin_register_vcpu_insn_exec_cb(insn, on_rep,
				QEMU_PLUGIN_CB_NO_REGS, (void *)(uintptr_t)va);
		}
		if (len == sizeof(mark_start) && !memcmp(b, mark_start, len))
			qemu_plugin_register_vcpu_insn_exec_cb(insn, on_mark,
				QEMU_PLUGIN_CB_NO_REGS, (void *)1);
		else if (len == sizeof(mark_end) && !memcmp(b, mark_end, len))
			qemu_plugin_register_vcpu_insn_exec_cb(insn, on_mark,
				QEMU_PLUGIN_CB_NO_REGS, NULL);
	}
}

static void at_exit(qemu_plugin_id_t id, void *udata)
{
	(void)id;
	(void)udata;
	if (!out)
		return;
	fprintf(out, "{\"summary\":true,\"windows\":%" PRIu64
		",\"unmatched_markers\":%" PRIu64, windows, unmatched);
	for (int c = 0; c < C_NR; c++)
		fprintf(out, ",\"%s\":%" PRIu64, names[c], sum[c]);
	fprintf(out, ",\"boot_insns\":%" PRIu64 "}\n",
		cnt[C_USER] + cnt[C_KERNEL]);
	fclose(out);
	out = NULL;
	if (hist_out) {
		fclose(hist_out);
		hist_out = NULL;
	}
}

QEMU_PLUGIN_EXPORT int qemu_plugin_install(qemu_plugin_id_t id,
					   const qemu_info_t *info,
					   int argc, char **argv)
{
	const char *path = NULL;

	if (strcmp(info->target_name, "x86_64")) {
		qemu_plugin_outs("hopinsn: x86_64 guests only\n");
		return -1;
	}
	/* out=FILE, or the value of the older arg=FILE form; hist=1. */
	for (int i = 0; i < argc; i++) {
		if (!strncmp(argv[i], "hist=", 5))
			hist_on = !strcmp(argv[i] + 5, "1") || !strcmp(argv[i] + 5, "on");
		else
			path = strncmp(argv[i], "out=", 4) ? argv[i] : argv[i] + 4;
	}
	if (!path) {
		qemu_plugin_outs("hopinsn: usage: -plugin hopinsn.so,out=FILE\n");
		return -1;
	}
	out = fopen(path, "w");
	if (!out) {
		qemu_plugin_outs("hopinsn: cannot open the output file\n");
		return -1;
	}
	if (hist_on) {
		size_t n = strlen(path);
		char *hp = malloc(n + sizeof(".hist"));

		hist_hash = calloc(HIST_BUCKETS, sizeof(*hist_hash));
		if (hp) {
			memcpy(hp, path, n);
			memcpy(hp + n, ".hist", sizeof(".hist"));
			hist_out = fopen(hp, "w");
			free(hp);
		}
		if (!hist_hash || !hist_out) {
			qemu_plugin_outs("hopinsn: cannot open the histogram file\n");
			return -1;
		}
	}
	qemu_plugin_register_vcpu_tb_trans_cb(id, tb_trans);
	qemu_plugin_register_atexit_cb(id, at_exit, NULL);
	return 0;
}
