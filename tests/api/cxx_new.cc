// SPDX-License-Identifier: MIT
/*
 * tests/api/cxx_new.cc - C++ operator new/delete served by hakmem, linked
 * statically against libhakmem.a.
 *
 * Every form (plain, array, nothrow, sized, aligned, and their mixes) must
 * return memory hakmem owns (hak_owns() == 1) with the asked alignment;
 * the standard containers must work on top; a failing operator new must
 * call the installed new_handler and then throw std::bad_alloc, and the
 * nothrow forms must return nullptr instead.
 *
 * Usage: cxx_new.t [--smoke]
 */
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <new>
#include <string>
#include <vector>

#include "hakmem.h"

/* Set (to 1) where only the hak_* names are hakmem's (tsan): new is not. */
#ifndef HAK_TEST_API_ONLY
#define HAK_TEST_API_ONLY 0
#endif

static unsigned long failures;
static void *volatile sink;	/* defeats new/delete pair elision */

static int check_fail(const char *file, int line, const char *expr,
		      const char *msg)
{
	if (++failures <= 25)
		std::fprintf(stderr, "%s:%d: CHECK(%s) failed: %s\n", file,
			     line, expr, msg);
	return 0;
}

#define CHECK(cond, msg)                                                    \
	((cond) ? 1 : check_fail(__FILE__, __LINE__, #cond, (msg)))

/* Keep the optimiser from pairing new/delete away or folding sizes. */
template <typename T> static T launder(T v)
{
	__asm__ volatile("" : "+r"(v));
	return v;
}

static bool aligned_to(const void *p, std::size_t a)
{
	return (reinterpret_cast<std::uintptr_t>(p) & (a - 1)) == 0;
}

static void check_ptr(const void *p, std::size_t align, const char *what)
{
	char msg[160];

	std::snprintf(msg, sizeof(msg), "%s: %p (want owned, %zu-aligned)",
		      what, p, align);
	if (!CHECK(p != nullptr, msg))
		return;
	CHECK(hak_owns(p) == 1, msg);
	CHECK(aligned_to(p, align), msg);
}

struct Small {
	int a, b;
};

struct alignas(256) Aligned256 {
	char c[300];
};

struct alignas(64) Aligned64 {
	long v;
};

static void test_forms()
{
	/* plain and array */
	int *i = new int(42);
	check_ptr(i, alignof(int), "new int");
	CHECK(*i == 42, "new int value");
	delete i;

	Small *s = new Small{1, 2};
	check_ptr(s, 16, "new Small");
	delete s;	/* sized delete under -fsized-deallocation */

	int *arr = new int[1000];
	check_ptr(arr, 16, "new int[1000]");
	for (int k = 0; k < 1000; k++)
		arr[k] = k;
	CHECK(arr[999] == 999, "new int[] content");
	delete[] arr;

	std::string *strs = new std::string[10];	/* array cookie */
	check_ptr(strs, 8, "new std::string[10]");
	for (int k = 0; k < 10; k++)
		strs[k].assign(100, 'x');
	delete[] strs;

	/* operator new(0) is unique and non-null */
	void *z1 = ::operator new(launder<std::size_t>(0));
	void *z2 = ::operator new(launder<std::size_t>(0));
	check_ptr(z1, 16, "operator new(0)");
	check_ptr(z2, 16, "operator new(0)");
	CHECK(z1 != z2, "operator new(0) twice gave the same pointer");
	::operator delete(z1);
	::operator delete(z2);

	/* nothrow */
	int *n1 = new (std::nothrow) int(7);
	check_ptr(n1, alignof(int), "new (nothrow) int");
	delete n1;
	char *n2 = new (std::nothrow) char[5000];
	check_ptr(n2, 16, "new (nothrow) char[5000]");
	std::memset(n2, 1, 5000);
	delete[] n2;
	void *n3 = ::operator new(100, std::nothrow);
	check_ptr(n3, 16, "operator new(100, nothrow)");
	::operator delete(n3, std::nothrow);
	void *n4 = ::operator new[](100, std::nothrow);
	check_ptr(n4, 16, "operator new[](100, nothrow)");
	::operator delete[](n4, std::nothrow);

	/* explicit sized delete, every size class neighbourhood */
	static const std::size_t sizes[] = {
		1, 8, 16, 17, 100, 1000, 4096, 5000, 65536, 300000, 4 << 20,
	};
	for (std::size_t sz : sizes) {
		void *p = ::operator new(launder(sz));
		check_ptr(p, 16, "operator new(size)");
		std::memset(p, 0xab, sz);
		CHECK(hak_usable_size(p) >= sz, "usable size of new'd block");
		::operator delete(p, sz);
		p = ::operator new[](launder(sz));
		check_ptr(p, 16, "operator new[](size)");
		std::memset(p, 0xcd, sz);
		::operator delete[](p, sz);
	}

	/* aligned: over-aligned types and explicit std::align_val_t */
	Aligned256 *a256 = new Aligned256;
	check_ptr(a256, 256, "new alignas(256)");
	std::memset(a256->c, 1, sizeof(a256->c));
	delete a256;	/* sized + aligned delete */

	Aligned256 *a256v = new Aligned256[7];
	check_ptr(a256v, 256, "new alignas(256)[7]");
	delete[] a256v;

	Aligned64 *a64 = new (std::nothrow) Aligned64;
	check_ptr(a64, 64, "new (nothrow) alignas(64)");
	delete a64;

	char *c4k = new (std::align_val_t(4096)) char[100];
	check_ptr(c4k, 4096, "new (align_val_t(4096)) char[100]");
	std::memset(c4k, 2, 100);
	::operator delete[](c4k, std::align_val_t(4096));

	for (std::size_t al = 16; al <= ((std::size_t)1 << 22); al <<= 1) {
		for (std::size_t sz : { (std::size_t)1, (std::size_t)100,
					(std::size_t)5000, (std::size_t)300000 }) {
			std::align_val_t av = static_cast<std::align_val_t>(launder(al));
			void *p = ::operator new(sz, av);
			check_ptr(p, al, "operator new(size, align_val_t)");
			std::memset(p, 3, sz);
			::operator delete(p, sz, av);

			p = ::operator new[](sz, av);
			check_ptr(p, al, "operator new[](size, align_val_t)");
			std::memset(p, 4, sz);
			::operator delete[](p, av);

			p = ::operator new(sz, av, std::nothrow);
			check_ptr(p, al, "operator new(size, align, nothrow)");
			::operator delete(p, av, std::nothrow);

			p = ::operator new[](sz, av, std::nothrow);
			check_ptr(p, al, "operator new[](size, align, nothrow)");
			::operator delete[](p, sz, av);
		}
	}

	delete static_cast<int *>(nullptr);
	delete[] static_cast<int *>(nullptr);
	::operator delete(nullptr);
	::operator delete(nullptr, std::align_val_t(64));
}

static void test_containers(bool smoke)
{
	std::size_t n = smoke ? 20000 : 200000;
	std::vector<long> v;

	for (std::size_t k = 0; k < n; k++)
		v.push_back((long)k * 3);
	check_ptr(v.data(), alignof(long), "std::vector<long>::data()");
	bool ok = true;
	for (std::size_t k = 0; k < n; k++)
		ok &= v[k] == (long)k * 3;
	CHECK(ok, "vector content");

	std::string str(1000, 'a');
	for (int k = 0; k < 100; k++)
		str += std::to_string(k);
	check_ptr(str.data(), 1, "std::string::data()");
	CHECK(str.size() == 1000 + 190, "string size");

	std::map<int, std::string> m;
	for (int k = 0; k < (smoke ? 2000 : 20000); k++)
		m[k * 7 % 10007] = std::string(40, (char)('a' + k % 26));
	for (auto &kv : m) {
		CHECK(hak_owns(&kv) == 1, "map node not owned by hakmem");
		if (kv.second.size() != 40) {
			CHECK(kv.second.size() == 40, "map value");
			break;
		}
	}
	m.clear();

	std::vector<std::string> vs;
	for (int k = 0; k < 5000; k++)
		vs.emplace_back(std::string(50 + k % 200, 'z'));
	for (auto &s : vs)
		if (!CHECK(hak_owns(s.data()) == 1, "vector<string> element"))
			break;
}

static int handler_calls;

static void new_handler_once()
{
	handler_calls++;
	std::set_new_handler(nullptr);
}

static void test_failure()
{
	const std::size_t huge = launder((std::size_t)1 << 62);
	bool threw;

	/* plain new throws bad_alloc */
	threw = false;
	try {
		void *p = ::operator new(huge);
		CHECK(p == nullptr, "operator new(2^62) returned memory");
		::operator delete(p);
	} catch (const std::bad_alloc &) {
		threw = true;
	}
	CHECK(threw, "operator new(2^62) did not throw bad_alloc");

	threw = false;
	try {
		void *p = ::operator new(launder(SIZE_MAX / 2));
		::operator delete(p);
	} catch (const std::bad_alloc &) {
		threw = true;
	}
	CHECK(threw, "operator new(SIZE_MAX/2) did not throw bad_alloc");

	threw = false;
	try {
		void *p = ::operator new[](launder(SIZE_MAX));
		::operator delete[](p);
	} catch (const std::bad_alloc &) {
		threw = true;
	}
	CHECK(threw, "operator new[](SIZE_MAX) did not throw bad_alloc");

	threw = false;
	try {
		void *p = ::operator new(huge, std::align_val_t(4096));
		::operator delete(p, std::align_val_t(4096));
	} catch (const std::bad_alloc &) {
		threw = true;
	}
	CHECK(threw, "aligned operator new(2^62) did not throw bad_alloc");

	threw = false;
	try {
		char *p = new char[huge];
		sink = p;
		delete[] p;
	} catch (const std::bad_alloc &) {
		threw = true;
	}
	CHECK(threw, "new char[2^62] did not throw bad_alloc");

	/* nothrow forms return nullptr */
	CHECK(::operator new(huge, std::nothrow) == nullptr,
	      "operator new(2^62, nothrow) != nullptr");
	CHECK(::operator new[](huge, std::nothrow) == nullptr,
	      "operator new[](2^62, nothrow) != nullptr");
	CHECK(::operator new(huge, std::align_val_t(64), std::nothrow) ==
		      nullptr,
	      "operator new(2^62, align 64, nothrow) != nullptr");
	char *np = new (std::nothrow) char[huge];
	sink = np;
	CHECK(np == nullptr, "new (nothrow) char[2^62] != nullptr");
	delete[] np;

	/* new_handler: called, uninstalls itself, then bad_alloc */
	handler_calls = 0;
	std::set_new_handler(new_handler_once);
	threw = false;
	try {
		void *p = ::operator new(huge);
		::operator delete(p);
	} catch (const std::bad_alloc &) {
		threw = true;
	}
	CHECK(handler_calls == 1, "new_handler not called exactly once");
	CHECK(threw, "no bad_alloc after the new_handler gave up");
	CHECK(std::get_new_handler() == nullptr, "handler still installed");

	/* ... also for the aligned and the nothrow forms */
	handler_calls = 0;
	std::set_new_handler(new_handler_once);
	threw = false;
	try {
		void *p = ::operator new(huge, std::align_val_t(256));
		::operator delete(p, std::align_val_t(256));
	} catch (const std::bad_alloc &) {
		threw = true;
	}
	CHECK(handler_calls == 1, "aligned new: new_handler not called once");
	CHECK(threw, "aligned new: no bad_alloc after the handler gave up");

	handler_calls = 0;
	std::set_new_handler(new_handler_once);
	CHECK(::operator new(huge, std::nothrow) == nullptr,
	      "nothrow new with a handler != nullptr");
	CHECK(handler_calls == 1, "nothrow new: new_handler not called once");
	std::set_new_handler(nullptr);

	/* a handler that is called repeatedly until it gives up */
	static int budget;
	budget = 3;
	handler_calls = 0;
	std::set_new_handler([] {
		handler_calls++;
		if (--budget == 0)
			std::set_new_handler(nullptr);
	});
	threw = false;
	try {
		void *p = ::operator new[](huge);
		::operator delete[](p);
	} catch (const std::bad_alloc &) {
		threw = true;
	}
	CHECK(handler_calls == 3, "new_handler not retried 3 times");
	CHECK(threw, "no bad_alloc after 3 handler calls");

	/* allocation still works afterwards */
	int *ok = new int(1);
	sink = ok;
	check_ptr(ok, alignof(int), "new int after failures");
	delete ok;
}

int main(int argc, char **argv)
{
	bool smoke = false;

	if (HAK_TEST_API_ONLY) {
		std::printf("cxx_new: SKIP: this flavour exports no operator "
			    "new (the sanitizer owns it)\n");
		return 77;
	}
	for (int k = 1; k < argc; k++)
		if (std::strcmp(argv[k], "--smoke") == 0)
			smoke = true;

	test_forms();
	test_containers(smoke);
	test_failure();

	std::printf("cxx_new: %lu failed checks\n", failures);
	if (failures) {
		std::fprintf(stderr, "%lu check(s) failed\n", failures);
		return 1;
	}
	return 0;
}
