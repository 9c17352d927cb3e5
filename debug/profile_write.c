// SPDX-License-Identifier: MIT
/*
 * debug/profile_write.c - the heap profile's files, from the stacks
 * profile.c keeps:
 *   FILE            the gperftools heap profile text format: a header
 *                   "heap profile: live_n: live_b [total_n: total_b] @
 *                   heap_v2/INTERVAL" (pprof scales heap_v2 samples back),
 *                   one line per stack with its return addresses, leaf
 *                   first, then MAPPED_LIBRARIES: /proc/self/maps, so that
 *                   `google-pprof --text PROGRAM FILE` can symbolize it
 *   FILE.collapsed  one line per stack with live blocks: frames root
 *                   first, ';'-separated, then the estimated live bytes
 *                   (flamegraph.pl's input); a frame is its dynamic symbol
 *                   (dladdr(), not from a signal handler), else
 *                   module+offset, else the address
 * "%p" in FILE becomes the process id.  open/read/write/close only, a
 * static buffer under the profile lock: no allocation, callable from the
 * SIGUSR2 handler.
 */
#define _GNU_SOURCE
#include "debug/profile.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

struct out {
	int fd;
	int n;
	bool err;
	char buf[8192];
};

static struct out outbuf HAK_LBSS;		/* the profile lock */

static void out_flush(struct out *o)
{
	const char *b = o->buf;

	while (o->n > 0) {
		ssize_t w = write(o->fd, b, (size_t)o->n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			o->err = true;
			break;
		}
		b += w;
		o->n -= (int)w;
	}
	o->n = 0;
}

static void out_str(struct out *o, const char *s, size_t len)
{
	while (len) {
		size_t k = sizeof(o->buf) - (size_t)o->n;

		if (k > len)
			k = len;
		memcpy(o->buf + o->n, s, k);
		o->n += (int)k;
		s += k;
		len -= k;
		if (o->n == (int)sizeof(o->buf))
			out_flush(o);
	}
}

#define out_fmt(o, ...)							\
	do {								\
		char t_[512];						\
		int n_ = hak_snprintf(t_, sizeof(t_), __VA_ARGS__);	\
		out_str(o, t_, n_ < (int)sizeof(t_) ? (size_t)n_ :	\
			sizeof(t_) - 1);				\
	} while (0)

/* open_out - @path with %p replaced by the pid, plus @suffix */
static bool open_out(struct out *o, const char *path, const char *suffix)
{
	char name[4096 + 32];
	size_t n = 0;

	for (const char *s = path; *s && n < 4096; s++) {
		if (s[0] == '%' && s[1] == 'p') {
			n += (size_t)hak_snprintf(name + n, sizeof(name) - n,
						  "%d", (int)getpid());
			s++;
		} else {
			name[n++] = *s;
		}
	}
	hak_snprintf(name + n, sizeof(name) - n, "%s", suffix);
	o->fd = open(name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	o->n = 0;
	o->err = o->fd < 0;
	if (o->fd < 0)
		hak_warn("hakmem: HAKMEM_PROFILE: cannot write %s (errno %d)",
			 name, errno);
	return o->fd >= 0;
}

static bool close_out(struct out *o)
{
	out_flush(o);
	close(o->fd);
	return !o->err;
}

/* write_maps - the MAPPED_LIBRARIES section: /proc/self/maps verbatim */
static void write_maps(struct out *o)
{
	int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
	char buf[4096];
	ssize_t n;

	out_str(o, "\nMAPPED_LIBRARIES:\n", 19);
	if (fd < 0)
		return;
	while ((n = read(fd, buf, sizeof(buf))) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			break;
		out_str(o, buf, (size_t)n);
	}
	close(fd);
}

static void write_pprof(struct out *o, const struct stack *stacks,
			uint32_t nstacks, uint64_t interval)
{
	uint64_t ln = 0, lb = 0, tn = 0, tb = 0;

	for (uint32_t i = 0; i < nstacks; i++) {
		ln += stacks[i].live_n;
		lb += stacks[i].live_b;
		tn += stacks[i].total_n;
		tb += stacks[i].total_b;
	}
	out_fmt(o, "heap profile: %lu: %lu [%lu: %lu] @ heap_v2/%lu\n",
		(unsigned long)ln, (unsigned long)lb, (unsigned long)tn,
		(unsigned long)tb, (unsigned long)interval);
	for (uint32_t i = 0; i < nstacks; i++) {
		const struct stack *s = &stacks[i];

		out_fmt(o, "%lu: %lu [%lu: %lu] @", (unsigned long)s->live_n,
			(unsigned long)s->live_b, (unsigned long)s->total_n,
			(unsigned long)s->total_b);
		for (uint32_t k = 0; k < s->depth; k++)
			out_fmt(o, " 0x%lx", (unsigned long)s->pc[k]);
		out_str(o, "\n", 1);
	}
	write_maps(o);
}

/* frame_name - a frame for the collapsed stacks: its dynamic symbol, else
 * module+offset (dladdr() is not called from a signal handler) */
static void frame_name(struct out *o, uintptr_t pc, bool in_signal)
{
	Dl_info di;

	if (!in_signal && dladdr((void *)(pc - 1), &di) && di.dli_fname) {
		const char *base = strrchr(di.dli_fname, '/');

		if (di.dli_sname) {
			out_str(o, di.dli_sname, strlen(di.dli_sname));
			return;
		}
		out_fmt(o, "%s+0x%lx", base ? base + 1 : di.dli_fname,
			(unsigned long)(pc - (uintptr_t)di.dli_fbase));
		return;
	}
	out_fmt(o, "0x%lx", (unsigned long)pc);
}

static void write_collapsed(struct out *o, const struct stack *stacks,
			    uint32_t nstacks, bool in_signal)
{
	for (uint32_t i = 0; i < nstacks; i++) {
		const struct stack *s = &stacks[i];

		if (!s->live_n)
			continue;
		for (uint32_t k = s->depth; k-- > 0;) {
			frame_name(o, s->pc[k], in_signal);
			if (k)
				out_str(o, ";", 1);
		}
		if (!s->depth)
			out_str(o, "[unknown]", 9);
		out_fmt(o, " %lu\n", (unsigned long)s->live_est);
	}
}

int hak_prof_write(const char *path, const struct stack *stacks, uint32_t n,
		   uint64_t interval, bool in_signal)
{
	bool ok = open_out(&outbuf, path, "");

	if (ok) {
		write_pprof(&outbuf, stacks, n, interval);
		ok = close_out(&outbuf);
	}
	if (ok && open_out(&outbuf, path, ".collapsed")) {
		write_collapsed(&outbuf, stacks, n, in_signal);
		ok = close_out(&outbuf);
	} else {
		ok = false;
	}
	return ok ? 0 : -1;
}
