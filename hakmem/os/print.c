// SPDX-License-Identifier: MIT
/*
 * os/print.c - hak_fatal(), hak_warn() and an async-signal-safe formatter.
 *
 * Diagnostics may be printed from inside malloc, with locks held, or from a
 * signal handler: format into a stack buffer and write(2) it.  Never
 * allocate, never use stdio (mimalloc's _mi_assert_fail reasoning).
 */
#include "os/os.h"

#include <stdarg.h>
#include <stdlib.h>

static size_t put_str(char *buf, size_t n, size_t at, const char *s)
{
	if (!s)
		s = "(null)";
	while (*s) {
		if (at + 1 < n)
			buf[at] = *s;
		at++;
		s++;
	}
	return at;
}

static size_t put_num(char *buf, size_t n, size_t at, unsigned long v,
		      unsigned base, bool neg, int min_digits)
{
	char tmp[24];
	int i = 0;

	do {
		tmp[i++] = "0123456789abcdef"[v % base];
		v /= base;
	} while (v);
	while (i < min_digits)
		tmp[i++] = '0';
	if (neg)
		tmp[i++] = '-';
	while (i--) {
		if (at + 1 < n)
			buf[at] = tmp[i];
		at++;
	}
	return at;
}

static size_t put_pad(char *buf, size_t n, size_t at, const char *s,
		      size_t len, int width, bool left)
{
	int pad = width > (int)len ? width - (int)len : 0;

	if (!left)
		while (pad-- > 0)
			at = put_str(buf, n, at, " ");
	for (size_t i = 0; i < len; i++, at++)
		if (at + 1 < n)
			buf[at] = s[i];
	if (left)
		while (pad-- > 0)
			at = put_str(buf, n, at, " ");
	return at;
}

/* %[-][width][l|z](s d u x p c) and %% */
static int vformat(char *buf, size_t n, const char *fmt, va_list ap)
{
	size_t at = 0;

	for (; *fmt; fmt++) {
		char tmp[40];
		size_t len;
		bool left = false;
		int width = 0, lng = 0;

		if (*fmt != '%') {
			if (at + 1 < n)
				buf[at] = *fmt;
			at++;
			continue;
		}
		fmt++;
		if (*fmt == '-') {
			left = true;
			fmt++;
		}
		while (*fmt >= '0' && *fmt <= '9')
			width = width * 10 + (*fmt++ - '0');
		while (*fmt == 'l' || *fmt == 'z') {
			lng = 1;
			fmt++;
		}
		switch (*fmt) {
		case 's': {
			const char *str = va_arg(ap, const char *);

			if (!str)
				str = "(null)";
			len = 0;
			while (str[len])
				len++;
			at = put_pad(buf, n, at, str, len, width, left);
			continue;
		}
		case 'd': {
			long v = lng ? va_arg(ap, long) : va_arg(ap, int);

			len = put_num(tmp, sizeof(tmp), 0, v < 0 ?
				      -(unsigned long)v : (unsigned long)v, 10,
				      v < 0, 1);
			break;
		}
		case 'u':
			len = put_num(tmp, sizeof(tmp), 0, lng ?
				      va_arg(ap, unsigned long) :
				      va_arg(ap, unsigned), 10, false, 1);
			break;
		case 'x':
			len = put_num(tmp, sizeof(tmp), 0, lng ?
				      va_arg(ap, unsigned long) :
				      va_arg(ap, unsigned), 16, false, 1);
			break;
		case 'p':
			tmp[0] = '0';
			tmp[1] = 'x';
			len = put_num(tmp, sizeof(tmp), 2,
				      (unsigned long)va_arg(ap, void *), 16,
				      false, 1);
			break;
		case 'c':
			tmp[0] = (char)va_arg(ap, int);
			len = 1;
			break;
		case '%':
			tmp[0] = '%';
			len = 1;
			break;
		default:
			return -1;
		}
		at = put_pad(buf, n, at, tmp, len, width, left);
	}
	if (n)
		buf[at < n ? at : n - 1] = 0;
	return (int)at;
}

int hak_snprintf(char *buf, size_t n, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = vformat(buf, n, fmt, ap);
	va_end(ap);
	return r;
}

static void vline(const char *fmt, va_list ap)
{
	char buf[512];
	int len = vformat(buf, sizeof(buf) - 1, fmt, ap);

	if (len < 0)
		return;
	if ((size_t)len > sizeof(buf) - 2)
		len = sizeof(buf) - 2;
	buf[len++] = '\n';
	hak_os_write_err(buf, (size_t)len);
}

void hak_warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vline(fmt, ap);
	va_end(ap);
}

void hak_fatal(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vline(fmt, ap);
	va_end(ap);
	if (HAK_FAILFAST)
		__builtin_trap();
	abort();
}
