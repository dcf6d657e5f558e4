// SPDX-License-Identifier: GPL-2.0
/*
 * insncount: a QEMU TCG plugin that counts executed guest instructions
 * per address range (given in a file) and, outside every range, per
 * instruction address, and writes snapshots of the counts whenever the
 * guest executes a trigger address, and at exit.
 *
 * Every instruction gets an inline counter increment at translation time,
 * so a block left half way (an exception, an interrupt) counts only what
 * ran: the counts add up to the instructions QEMU's icount clock counts.
 * Addresses are virtual: kernel text and module text do not move while
 * the kernel runs, and the guests run one user program (the agent).
 *
 * Arguments (-plugin insncount.so,out=FILE[,ranges=FILE][,trigger=ADDR]...):
 *   out      the snapshot file, written as below;
 *   ranges   lines "START END" (hex, half-open, sorted, disjoint): range i
 *            is the file's line i;
 *   trigger  a guest virtual address (hex); each execution of the
 *            instruction there writes a snapshot (at most 16).
 *
 * Output (counts are cumulative since boot; a snapshot lists only the
 * counters that changed since the previous one):
 *   specbed-insncount 1
 *   snap SEQ TRIGGER TOTAL     TRIGGER is the hex address, or "exit"
 *   r INDEX COUNT              range INDEX
 *   p ADDR COUNT               the instruction at ADDR (hex), in no range
 *   end
 *
 * QEMU runs TCG single-threaded under -icount and the guests have one
 * vCPU, so no callback runs concurrently with another.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qemu-plugin.h"

QEMU_PLUGIN_EXPORT int qemu_plugin_version = QEMU_PLUGIN_VERSION;

#define MAX_TRIGGERS 16
#define SLOT_CHUNK 4096

/* A counter, and its value at the last snapshot that listed it. */
struct slot {
	uint64_t count;
	uint64_t dumped;
};

struct range {
	uint64_t start, end;
};

/* Per-address slots live in chunks that never move: inline ops point there. */
struct chunk {
	struct chunk *next;
	size_t used;
	uint64_t addr[SLOT_CHUNK];
	struct slot slot[SLOT_CHUNK];
};

static FILE *out;
static struct range *ranges;
static struct slot *range_slots;
static size_t n_ranges;
static uint64_t triggers[MAX_TRIGGERS];
static size_t n_triggers;
static struct chunk *chunks;

/* Open addressing from address to slot; grown at half load. */
static uint64_t *table_addr;
static struct slot **table_slot;
static size_t table_cap, table_len;
static uint64_t snap_seq;

static void *xcalloc(size_t n, size_t size)
{
	void *p = calloc(n, size);

	if (!p) {
		fprintf(stderr, "insncount: out of memory\n");
		abort();
	}
	return p;
}

static size_t hash(uint64_t addr, size_t cap)
{
	return (size_t)((addr * 0x9e3779b97f4a7c15ULL) >> 20) & (cap - 1);
}

static void table_put(uint64_t addr, struct slot *s)
{
	size_t i = hash(addr, table_cap);

	while (table_slot[i])
		i = (i + 1) & (table_cap - 1);
	table_addr[i] = addr;
	table_slot[i] = s;
}

static void table_grow(void)
{
	uint64_t *old_addr = table_addr;
	struct slot **old_slot = table_slot;
	size_t old_cap = table_cap, i;

	table_cap = old_cap ? old_cap * 2 : 1 << 16;
	table_addr = xcalloc(table_cap, sizeof(*table_addr));
	table_slot = xcalloc(table_cap, sizeof(*table_slot));
	for (i = 0; i < old_cap; i++)
		if (old_slot[i])
			table_put(old_addr[i], old_slot[i]);
	free(old_addr);
	free(old_slot);
}

/* addr_slot returns the counter of the instruction at addr, made on first use. */
static struct slot *addr_slot(uint64_t addr)
{
	size_t i;
	struct chunk *c;

	if (table_cap) {
		for (i = hash(addr, table_cap); table_slot[i]; i = (i + 1) & (table_cap - 1))
			if (table_addr[i] == addr)
				return table_slot[i];
	}
	if (2 * (table_len + 1) > table_cap)
		table_grow();
	c = chunks;
	if (!c || c->used == SLOT_CHUNK) {
		c = xcalloc(1, sizeof(*c));
		c->next = chunks;
		chunks = c;
	}
	c->addr[c->used] = addr;
	table_put(addr, &c->slot[c->used]);
	table_len++;
	return &c->slot[c->used++];
}

/* range_slot returns the counter of the range holding addr, or NULL. */
static struct slot *range_slot(uint64_t addr)
{
	size_t lo = 0, hi = n_ranges;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (addr < ranges[mid].start)
			hi = mid;
		else if (addr >= ranges[mid].end)
			lo = mid + 1;
		else
			return &range_slots[mid];
	}
	return NULL;
}

static uint64_t total_count(void)
{
	uint64_t total = 0;
	struct chunk *c;
	size_t i;

	for (i = 0; i < n_ranges; i++)
		total += range_slots[i].count;
	for (c = chunks; c; c = c->next)
		for (i = 0; i < c->used; i++)
			total += c->slot[i].count;
	return total;
}

static void snapshot(const char *trigger)
{
	struct chunk *c;
	size_t i;

	fprintf(out, "snap %" PRIu64 " %s %" PRIu64 "\n", snap_seq++, trigger, total_count());
	for (i = 0; i < n_ranges; i++) {
		struct slot *s = &range_slots[i];

		if (s->count != s->dumped) {
			fprintf(out, "r %zu %" PRIu64 "\n", i, s->count);
			s->dumped = s->count;
		}
	}
	for (c = chunks; c; c = c->next) {
		for (i = 0; i < c->used; i++) {
			struct slot *s = &c->slot[i];

			if (s->count != s->dumped) {
				fprintf(out, "p %" PRIx64 " %" PRIu64 "\n", c->addr[i], s->count);
				s->dumped = s->count;
			}
		}
	}
	fputs("end\n", out);
	/* A guest killed by a timeout still leaves every snapshot before it. */
	fflush(out);
}

static void on_trigger(unsigned int vcpu_index, void *udata)
{
	char name[24];

	snprintf(name, sizeof(name), "%" PRIx64, triggers[(uintptr_t)udata]);
	snapshot(name);
}

static void on_translate(qemu_plugin_id_t id, struct qemu_plugin_tb *tb)
{
	size_t n = qemu_plugin_tb_n_insns(tb), i, t;

	for (i = 0; i < n; i++) {
		struct qemu_plugin_insn *insn = qemu_plugin_tb_get_insn(tb, i);
		uint64_t addr = qemu_plugin_insn_vaddr(insn);
		struct slot *s = range_slot(addr);

		if (!s)
			s = addr_slot(addr);
		qemu_plugin_register_vcpu_insn_exec_inline(insn, QEMU_PLUGIN_INLINE_ADD_U64, &s->count, 1);
		for (t = 0; t < n_triggers; t++)
			if (triggers[t] == addr)
				qemu_plugin_register_vcpu_insn_exec_cb(insn, on_trigger, QEMU_PLUGIN_CB_NO_REGS,
								       (void *)(uintptr_t)t);
	}
}

static void on_qemu_exit(qemu_plugin_id_t id, void *p)
{
	snapshot("exit");
	fclose(out);
}

static int load_ranges(const char *path)
{
	FILE *f = fopen(path, "r");
	size_t cap = 0;
	uint64_t start, end;
	int ret = -1;

	if (!f) {
		perror(path);
		return -1;
	}
	while (fscanf(f, "%" SCNx64 " %" SCNx64, &start, &end) == 2) {
		if (start >= end || (n_ranges && start < ranges[n_ranges - 1].end)) {
			fprintf(stderr, "insncount: %s: range %zu is empty, unsorted or overlapping\n", path, n_ranges);
			goto out;
		}
		if (n_ranges == cap) {
			struct range *grown;

			cap = cap ? 2 * cap : 1024;
			grown = realloc(ranges, cap * sizeof(*ranges));
			if (!grown)
				goto out;
			ranges = grown;
		}
		ranges[n_ranges].start = start;
		ranges[n_ranges].end = end;
		n_ranges++;
	}
	if (!feof(f)) {
		fprintf(stderr, "insncount: %s: line %zu is not \"START END\" in hex\n", path, n_ranges + 1);
		goto out;
	}
	range_slots = xcalloc(n_ranges ? n_ranges : 1, sizeof(*range_slots));
	ret = 0;
out:
	fclose(f);
	return ret;
}

static int parse_arg(const char *arg)
{
	const char *value = strchr(arg, '=');
	char *end;

	if (!value)
		goto bad;
	value++;
	if (!strncmp(arg, "out=", 4)) {
		out = fopen(value, "w");
		if (!out) {
			perror(value);
			return -1;
		}
		return 0;
	}
	if (!strncmp(arg, "ranges=", 7))
		return load_ranges(value);
	if (!strncmp(arg, "trigger=", 8)) {
		if (n_triggers == MAX_TRIGGERS)
			goto bad;
		triggers[n_triggers] = strtoull(value, &end, 16);
		if (!*value || *end)
			goto bad;
		n_triggers++;
		return 0;
	}
bad:
	fprintf(stderr, "insncount: bad argument %s\n", arg);
	return -1;
}

QEMU_PLUGIN_EXPORT int qemu_plugin_install(qemu_plugin_id_t id, const qemu_info_t *info,
					   int argc, char **argv)
{
	int i;

	for (i = 0; i < argc; i++)
		if (parse_arg(argv[i]) < 0)
			return -1;
	if (!out) {
		fprintf(stderr, "insncount: out=FILE is required\n");
		return -1;
	}
	if (!range_slots)
		range_slots = xcalloc(1, sizeof(*range_slots));
	fputs("specbed-insncount 1\n", out);
	qemu_plugin_register_vcpu_tb_trans_cb(id, on_translate);
	qemu_plugin_register_atexit_cb(id, on_qemu_exit, NULL);
	return 0;
}
