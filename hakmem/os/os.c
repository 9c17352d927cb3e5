// SPDX-License-Identifier: MIT
/*
 * os/os.c - mmap and friends, environment, stderr, thread-exit hook.
 *
 * Every function here is safe to call before hakmem is initialised and from
 * inside malloc: none of them allocates.  The mapped-bytes counters are
 * statistics only, so relaxed atomics suffice.
 */
#define _GNU_SOURCE
#include "os/os.h"
#include "hak_track.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

extern char **__environ;

static _Atomic size_t os_mapped;
static _Atomic size_t os_mapped_peak;

static void account(size_t add, size_t sub)
{
	/* relaxed: statistics; nothing is ordered by these counters */
	size_t now;

	if (add) {
		now = atomic_fetch_add_explicit(&os_mapped, add,
						memory_order_relaxed) + add;
		size_t peak = hak_load_relaxed(&os_mapped_peak);
		while (now > peak &&
		       !atomic_compare_exchange_weak_explicit(&os_mapped_peak,
				&peak, now, memory_order_relaxed,
				memory_order_relaxed))
			;
	}
	if (sub)
		atomic_fetch_sub_explicit(&os_mapped, sub, memory_order_relaxed);
}

size_t hak_os_mapped(void)
{
	return hak_load_relaxed(&os_mapped);
}

size_t hak_os_mapped_peak(void)
{
	return hak_load_relaxed(&os_mapped_peak);
}

/*
 * No MAP_NORESERVE: these pages are handed to the program, so the kernel's
 * overcommit policy must judge them as it judges glibc's (mode 0 refuses a
 * mapping larger than RAM + swap, mode 2 counts it against the commit
 * limit).  With MAP_NORESERVE a malloc(1 TiB) "succeeded" and the program
 * was OOM-killed when it touched the block.
 */
void *hak_os_map(size_t size)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		return NULL;
	account(size, 0);
	return p;
}

/*
 * Linux (6.7 on) places an anonymous mapping whose length is a multiple of
 * 2 MiB on a 2 MiB boundary, so for such a length (a SuperSlab chunk) a
 * plain mmap is tried first: one system call instead of three (map the
 * length plus the alignment, trim both ends).  The try is skipped while it
 * keeps failing (an older kernel); one call in 16 tries again.  Relaxed:
 * a hint.
 */
static _Atomic unsigned align_miss;

static void *map_exact(size_t size, size_t align, size_t off)
{
	unsigned miss = hak_load_relaxed(&align_miss);
	void *p;

	if (miss >= 4 && (miss & 15) != 0) {
		hak_store_relaxed(&align_miss, miss + 1);
		return NULL;
	}
	p = mmap(NULL, size, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	if (((uintptr_t)p + off) % align == 0) {
		if (miss)
			hak_store_relaxed(&align_miss, 0);
		return p;
	}
	munmap(p, size);
	hak_store_relaxed(&align_miss, miss + 1);
	return NULL;
}

void *hak_os_map_aligned(size_t size, size_t align, size_t off)
{
	size_t span;
	uintptr_t raw, base, end;
	void *p;

	if (align <= HAK_PAGE_SIZE && off % HAK_PAGE_SIZE == 0)
		return hak_os_map(size);
	if (off == 0 && size % align == 0 && align <= (2UL << 20) &&
	    (p = map_exact(size, align, off))) {
		account(size, 0);
		return p;
	}
	if (__builtin_add_overflow(size, align, &span))
		return NULL;
	/* the whole span is charged until the ends are trimmed below */
	p = mmap(NULL, span, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	raw = (uintptr_t)p;
	base = HAK_ALIGN_UP(raw + off, align) - off;
	if (base < raw)
		base += align;
	end = base + size;
	if (base > raw)
		munmap(p, base - raw);
	if (raw + span > end)
		munmap((void *)end, raw + span - end);
	account(size, 0);
	return (void *)base;
}

int hak_os_unmap(void *p, size_t size)
{
	hak_track_unmapped(p, size);
	if (munmap(p, size) != 0)
		return -errno;
	account(0, size);
	return 0;
}

int hak_os_decommit(void *p, size_t size)
{
	return madvise(p, size, MADV_DONTNEED) ? -errno : 0;
}

int hak_os_resize(void *p, size_t old_size, size_t new_size)
{
	if (new_size < old_size)
		hak_track_unmapped((char *)p + new_size, old_size - new_size);
	if (mremap(p, old_size, new_size, 0) == MAP_FAILED)
		return -errno;
	if (new_size > old_size)
		account(new_size - old_size, 0);
	else
		account(0, old_size - new_size);
	return 0;
}

int hak_os_move(void *p, size_t old_size, size_t new_size, void *dst)
{
	/* dst was mapped by the caller with new_size bytes; mremap replaces
	 * it.  The pages keep their contents but not their shadow: unpoison
	 * both ranges (the tracked flavours re-poison what they hand out) */
	hak_track_unmapped(p, old_size);
	hak_track_unmapped(dst, new_size);
	if (mremap(p, old_size, new_size, MREMAP_MAYMOVE | MREMAP_FIXED, dst) ==
	    MAP_FAILED)
		return -errno;
	account(0, old_size);
	return 0;
}

const char *hak_os_next_env(size_t *cursor)
{
	char **env = __environ;

	if (!env || !env[*cursor])
		return NULL;
	return env[(*cursor)++];
}

void hak_os_write_err(const char *buf, size_t len)
{
	while (len) {
		ssize_t n = write(STDERR_FILENO, buf, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return;
		buf += n;
		len -= (size_t)n;
	}
}

uint64_t hak_os_now_ms(void)
{
	struct timespec ts;

	/* coarse: a few ns through the vDSO, tick resolution is plenty */
	if (clock_gettime(CLOCK_MONOTONIC_COARSE, &ts))
		return 0;
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

long hak_os_rss_kb(void)
{
	char buf[128];
	long rss = -1;
	ssize_t n;
	int fd = open("/proc/self/statm", O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = 0;
	/* statm: size resident shared ... (pages); skip size, keep resident */
	char *s = buf;
	for (int field = 0; field < 2; field++) {
		long v = 0;
		while (*s == ' ')
			s++;
		if (*s < '0' || *s > '9')
			return -1;
		while (*s >= '0' && *s <= '9')
			v = v * 10 + (*s++ - '0');
		rss = v;
	}
	return rss * (long)(HAK_PAGE_SIZE / 1024);
}

long hak_os_thread_tid(void)
{
	return syscall(SYS_gettid);
}

static pthread_key_t exit_key;

int hak_os_thread_hook_init(void (*fn)(void *))
{
	return -pthread_key_create(&exit_key, fn);
}

void hak_os_thread_arm(void *arg)
{
	pthread_setspecific(exit_key, arg);
}
