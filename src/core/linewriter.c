/* SPDX-License-Identifier: MIT */
/* linewriter.c - see linewriter.h. */
#include "core/linewriter.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

bool
lp_write_all(int fd, const char *s, size_t n)
{
	int saved = errno;
	bool ok = true;

	while (n > 0) {
		ssize_t w = write(fd, s, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			ok = false;
			break;
		}
		s += w;
		n -= (size_t)w;
	}
	errno = saved;
	return ok;
}

void
lp_lw_init(struct lp_lw *lw, int fd)
{
	lw->fd = fd;
	lw->failed = false;
	lw->len = 0;
}

bool
lp_lw_flush(struct lp_lw *lw)
{
	if (lw->len && !lp_write_all(lw->fd, lw->buf, lw->len))
		lw->failed = true;
	lw->len = 0;
	return !lw->failed;
}

void
lp_lw_write(struct lp_lw *lw, const char *s, size_t n)
{
	while (n > 0) {
		size_t room = sizeof(lw->buf) - lw->len;
		size_t k = n < room ? n : room;
		memcpy(lw->buf + lw->len, s, k);
		lw->len += k;
		s += k;
		n -= k;
		if (lw->len == sizeof(lw->buf))
			lp_lw_flush(lw);
	}
}

void
lp_lw_puts(struct lp_lw *lw, const char *s)
{
	lp_lw_write(lw, s, strlen(s));
}

void
lp_lw_printf(struct lp_lw *lw, const char *fmt, ...)
{
	char tmp[1024];
	va_list ap;

	va_start(ap, fmt);
	size_t n = lp_vfmt(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	lp_lw_write(lw, tmp, n);
}

/* Length of the well-formed UTF-8 sequence at p, or 0. */
static size_t
utf8_sequence(const unsigned char *p)
{
	size_t len;
	uint32_t cp;
	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		len = 2, cp = p[0] & 0x1f;
	else if (p[0] >= 0xe0 && p[0] <= 0xef)
		len = 3, cp = p[0] & 0x0f;
	else if (p[0] >= 0xf0 && p[0] <= 0xf4)
		len = 4, cp = p[0] & 0x07;
	else
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (p[i] & 0x3f);
	}
	/* overlong forms, surrogates, beyond U+10FFFF */
	if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

void
lp_lw_json_string(struct lp_lw *lw, const char *s)
{
	static const char hex[] = "0123456789abcdef";

	if (!s) {
		lp_lw_puts(lw, "null");
		return;
	}
	lp_lw_write(lw, "\"", 1);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		char esc[6] = { '\\', 'u', '0', '0', 0, 0 };
		switch (*p) {
		case '"': lp_lw_write(lw, "\\\"", 2); break;
		case '\\': lp_lw_write(lw, "\\\\", 2); break;
		case '\n': lp_lw_write(lw, "\\n", 2); break;
		case '\t': lp_lw_write(lw, "\\t", 2); break;
		case '\r': lp_lw_write(lw, "\\r", 2); break;
		default:
			if (*p < 0x20 || *p == 0x7f) {
				esc[4] = hex[*p >> 4];
				esc[5] = hex[*p & 15];
				lp_lw_write(lw, esc, 6);
			} else if (*p < 0x80) {
				lp_lw_write(lw, (const char *)p, 1);
			} else {
				/* Valid UTF-8 passes through; any other byte
				 * becomes \udcXX, Python's surrogateescape, so
				 * the document stays valid and the bytes can be
				 * recovered. */
				size_t len = utf8_sequence(p);
				if (len) {
					lp_lw_write(lw, (const char *)p, len);
					p += len - 1;
				} else {
					char sur[7] = { '\\', 'u', 'd', 'c', hex[*p >> 4], hex[*p & 15], 0 };
					lp_lw_write(lw, sur, 6);
				}
			}
		}
	}
	lp_lw_write(lw, "\"", 1);
}

void
lp_lw_text_safe(struct lp_lw *lw, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	for (const unsigned char *p = (const unsigned char *)s; p && *p; p++) {
		if (*p == '\n')
			lp_lw_write(lw, "\\n", 2);
		else if (*p == '\t')
			lp_lw_write(lw, "\\t", 2);
		else if (*p < 0x20 || *p == 0x7f) {
			char e[4] = { '\\', 'x', hex[*p >> 4], hex[*p & 15] };
			lp_lw_write(lw, e, 4);
		} else
			lp_lw_write(lw, (const char *)p, 1);
	}
}

/* --- formatting --------------------------------------------------------- */

struct sink {
	char *dst;
	size_t cap, len;
};

static void
put(struct sink *k, char c)
{
	if (k->len + 1 < k->cap)
		k->dst[k->len] = c;
	k->len++;
}

static void
put_padded(struct sink *k, const char *s, size_t n, int width, bool left,
	   char pad)
{
	int fill = width > (int)n ? width - (int)n : 0;
	if (!left) {
		/* Zero padding goes after a sign. */
		if (pad == '0' && n && s[0] == '-') {
			put(k, '-');
			s++;
			n--;
		}
		while (fill-- > 0)
			put(k, pad);
	}
	for (size_t i = 0; i < n; i++)
		put(k, s[i]);
	if (left)
		while (fill-- > 0)
			put(k, ' ');
}

static size_t
utoa(char *out, unsigned long long v, unsigned base)
{
	char tmp[24];
	size_t n = 0;
	do {
		tmp[n++] = "0123456789abcdef"[v % base];
		v /= base;
	} while (v);
	for (size_t i = 0; i < n; i++)
		out[i] = tmp[n - 1 - i];
	return n;
}

static size_t
ftoa(char *out, double v, int prec)
{
	size_t n = 0;
	unsigned long long scale = 1;

	if (prec > 9)
		prec = 9;
	for (int i = 0; i < prec; i++)
		scale *= 10;
	if (v != v) {
		memcpy(out, "nan", 3);
		return 3;
	}
	if (v < 0) {
		out[n++] = '-';
		v = -v;
	}
	if (v > 1.8e19 / (double)scale) {
		memcpy(out + n, "inf", 3);
		return n + 3;
	}
	unsigned long long fixed = (unsigned long long)(v * (double)scale + 0.5);
	n += utoa(out + n, fixed / scale, 10);
	if (prec > 0) {
		char frac[24];
		size_t f = utoa(frac, fixed % scale, 10);
		out[n++] = '.';
		for (int i = (int)f; i < prec; i++)
			out[n++] = '0';
		memcpy(out + n, frac, f);
		n += f;
	}
	return n;
}

size_t
lp_vfmt(char *dst, size_t cap, const char *fmt, va_list ap)
{
	struct sink k = { dst, cap, 0 };

	for (const char *f = fmt; *f; f++) {
		if (*f != '%') {
			put(&k, *f);
			continue;
		}
		f++;
		bool left = false;
		char pad = ' ';
		int width = 0, prec = -1, lng = 0;
		for (;; f++) {
			if (*f == '-')
				left = true;
			else if (*f == '0')
				pad = '0';
			else
				break;
		}
		while (*f >= '0' && *f <= '9')
			width = width * 10 + (*f++ - '0');
		if (*f == '.') {
			prec = 0;
			for (f++; *f >= '0' && *f <= '9'; f++)
				prec = prec * 10 + (*f - '0');
		}
		for (;; f++) {
			if (*f == 'l')
				lng++;
			else if (*f == 'z')
				lng = 2;
			else
				break;
		}
		char num[48];
		size_t n = 0;
		switch (*f) {
		case 's': {
			const char *s = va_arg(ap, const char *);
			if (!s)
				s = "(null)";
			size_t len = strlen(s);
			if (prec >= 0 && (size_t)prec < len)
				len = (size_t)prec;
			put_padded(&k, s, len, width, left, ' ');
			continue;
		}
		case 'c':
			num[0] = (char)va_arg(ap, int);
			put_padded(&k, num, 1, width, left, ' ');
			continue;
		case 'd':
		case 'i': {
			long long v = lng == 0 ? va_arg(ap, int)
				    : lng == 1 ? va_arg(ap, long)
					       : va_arg(ap, long long);
			unsigned long long u = (unsigned long long)v;
			if (v < 0) {
				num[n++] = '-';
				u = -u;
			}
			n += utoa(num + n, u, 10);
			break;
		}
		case 'u':
		case 'x': {
			unsigned long long v = lng == 0 ? va_arg(ap, unsigned)
					     : lng == 1 ? va_arg(ap, unsigned long)
							: va_arg(ap, unsigned long long);
			n = utoa(num, v, *f == 'x' ? 16 : 10);
			break;
		}
		case 'p':
			num[0] = '0';
			num[1] = 'x';
			n = 2 + utoa(num + 2, (uintptr_t)va_arg(ap, void *), 16);
			break;
		case 'f':
			n = ftoa(num, va_arg(ap, double), prec < 0 ? 6 : prec);
			break;
		case '%':
			put(&k, '%');
			continue;
		default:
			/* Unknown conversion: print it literally. */
			put(&k, '%');
			if (!*f)
				goto out;
			put(&k, *f);
			continue;
		}
		put_padded(&k, num, n, width, left, pad);
	}
out:
	if (cap)
		dst[k.len < cap ? k.len : cap - 1] = '\0';
	return k.len < cap ? k.len : (cap ? cap - 1 : 0);
}

size_t
lp_fmt(char *dst, size_t cap, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	size_t n = lp_vfmt(dst, cap, fmt, ap);
	va_end(ap);
	return n;
}
