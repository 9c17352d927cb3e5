// SPDX-License-Identifier: MIT
/*
 * cxx_threads.cc - an ordinary C++17 program for the preload tests: four
 * threads build standard containers and hand them to each other, so most
 * objects die in a thread other than the one that made them.
 *
 *   cxx_threads [--smoke] [batches]        (default 1500 batches per thread)
 *
 * Thread i makes `batches` Batch objects (strings short and long, a
 * std::map of vectors, an std::unordered_map, shared_ptrs, an over-aligned
 * object from aligned new) and pushes each onto the queue of thread i+1 mod
 * 4, whose consumer checks and destroys it.  Some shared_ptr payloads are
 * also kept in a per-thread pool that another thread's batches release, and
 * every thread keeps thread_local containers that die at thread exit.
 *
 * Output is deterministic (every sum is over a fixed set of values, taken
 * in any order), so tests/preload/cxx.sh compares it byte for byte with
 * and without LD_PRELOAD=libhakmem.so.  The program is not linked with
 * hakmem: whatever malloc the process has serves it.
 */
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

namespace {

constexpr int kThreads = 4;

struct Rng {
	uint64_t s;
	explicit Rng(uint64_t seed) : s(seed * 0x9E3779B97F4A7C15ULL + 1) {}
	uint64_t next()
	{
		s ^= s >> 12;
		s ^= s << 25;
		s ^= s >> 27;
		return s * 0x2545F4914F6CDD1DULL;
	}
	size_t below(size_t n) { return static_cast<size_t>(next() % n); }
};

uint64_t fnv(const std::string &s)
{
	uint64_t h = 1469598103934665603ULL;
	for (unsigned char c : s)
		h = (h ^ c) * 1099511628211ULL;
	return h;
}

struct alignas(64) Aligned {
	uint64_t words[8];
};

struct Batch {
	int producer;
	int seq;
	std::vector<std::string> strings;
	std::map<std::string, std::vector<int>> index;
	std::unordered_map<int, std::string> names;
	std::vector<std::shared_ptr<std::string>> shared;
	std::unique_ptr<Aligned> aligned;
	uint64_t expect;	// checksum the producer computed
};

// What a batch's checksum covers; producer and consumer both call this.
uint64_t checksum(const Batch &b)
{
	uint64_t h = static_cast<uint64_t>(b.producer) * 1000003u + b.seq;
	for (const auto &s : b.strings)
		h += fnv(s);
	for (const auto &kv : b.index) {
		h += fnv(kv.first) * 3;
		for (int v : kv.second)
			h += static_cast<uint64_t>(v) * 7;
	}
	for (const auto &kv : b.names)
		h += static_cast<uint64_t>(kv.first) * 11 + fnv(kv.second);
	for (const auto &p : b.shared)
		h += fnv(*p) * 13;
	for (uint64_t w : b.aligned->words)
		h += w;
	return h;
}

std::string make_string(Rng &r, int tag)
{
	// half within the small-string buffer, half on the heap, some big
	size_t len = r.below(4) == 0 ? 16 + r.below(2000) : r.below(40);
	std::string s = "t" + std::to_string(tag) + ":";
	while (s.size() < len)
		s.push_back(static_cast<char>('a' + r.below(26)));
	return s;
}

// Unbounded FIFO between two threads; nullptr marks the end.
class Queue {
	std::mutex mu;
	std::condition_variable cv;
	std::deque<std::unique_ptr<Batch>> q;

public:
	void push(std::unique_ptr<Batch> b)
	{
		{
			std::lock_guard<std::mutex> lk(mu);
			q.push_back(std::move(b));
		}
		cv.notify_one();
	}
	// Pops one entry; blocks only when @wait.  Returns false if none.
	bool pop(std::unique_ptr<Batch> &out, bool wait)
	{
		std::unique_lock<std::mutex> lk(mu);
		if (wait)
			cv.wait(lk, [this] { return !q.empty(); });
		if (q.empty())
			return false;
		out = std::move(q.front());
		q.pop_front();
		return true;
	}
};

struct Result {
	uint64_t produced_sum = 0;
	uint64_t consumed_sum = 0;
	uint64_t consumed = 0;
	uint64_t bad = 0;
	uint64_t tls_sum = 0;
};

Queue queues[kThreads];
Result results[kThreads];

// Shared-ownership pool: thread i publishes, thread i+2 takes and drops.
std::mutex pool_mu;
std::vector<std::shared_ptr<std::vector<std::string>>> pool[kThreads];
std::atomic<uint64_t> pool_dropped_sum{0};

thread_local std::vector<std::string> tls_log;
thread_local std::map<int, std::string> tls_map;

std::unique_ptr<Batch> make_batch(int producer, int seq, Rng &r,
				  const std::shared_ptr<std::string> &common)
{
	auto b = std::make_unique<Batch>();
	b->producer = producer;
	b->seq = seq;
	size_t n = 8 + r.below(24);
	for (size_t i = 0; i < n; i++)
		b->strings.push_back(make_string(r, producer));
	for (size_t i = 0; i < n / 2; i++) {
		auto &v = b->index[make_string(r, seq)];
		size_t m = r.below(64);
		for (size_t k = 0; k < m; k++)
			v.push_back(static_cast<int>(r.below(100000)));
	}
	for (size_t i = 0; i < n; i++)
		b->names.emplace(static_cast<int>(r.below(1 << 20)),
				 make_string(r, static_cast<int>(i)));
	b->shared.push_back(common);
	for (size_t i = 0; i < 3; i++)
		b->shared.push_back(std::make_shared<std::string>(
			make_string(r, producer + 100)));
	b->aligned.reset(new Aligned());
	if (reinterpret_cast<uintptr_t>(b->aligned.get()) % alignof(Aligned))
		std::abort();
	for (auto &w : b->aligned->words)
		w = r.next() & 0xffff;
	b->expect = checksum(*b);
	return b;
}

void consume(int me, std::unique_ptr<Batch> b)
{
	Result &res = results[me];
	uint64_t h = checksum(*b);
	if (h != b->expect)
		res.bad++;
	res.consumed_sum += h;
	res.consumed++;
	// a little of it survives until this thread exits
	if (!b->strings.empty() && b->seq % 16 == 0)
		tls_log.push_back(b->strings.front());
	b.reset();	// destroyed here, allocated by another thread
}

void worker(int me, int batches)
{
	Rng r(static_cast<uint64_t>(me) + 1);
	Queue &out = queues[(me + 1) % kThreads];
	Queue &in = queues[me];
	auto common = std::make_shared<std::string>(
		"common-" + std::to_string(me) + std::string(100, 'x'));
	std::unique_ptr<Batch> b;
	bool peer_done = false;	// saw the end mark of the thread before us

	for (int seq = 0; seq < batches; seq++) {
		auto nb = make_batch(me, seq, r, common);
		results[me].produced_sum += nb->expect;
		out.push(std::move(nb));
		while (!peer_done && in.pop(b, false)) {
			if (b)
				consume(me, std::move(b));
			else
				peer_done = true;
		}

		if (seq % 32 == 0) {
			auto v = std::make_shared<std::vector<std::string>>();
			for (int k = 0; k < 20; k++)
				v->push_back(make_string(r, seq));
			std::lock_guard<std::mutex> lk(pool_mu);
			pool[me].push_back(v);
			// drop what the thread two along left for us
			auto &other = pool[(me + 2) % kThreads];
			for (auto &p : other) {
				uint64_t h = 0;
				for (auto &s : *p)
					h += fnv(s);
				pool_dropped_sum += h;
			}
			other.clear();
		}
		tls_map[seq % 100] = make_string(r, seq);
	}
	out.push(nullptr);
	while (!peer_done) {
		in.pop(b, true);
		if (b)
			consume(me, std::move(b));
		else
			peer_done = true;
	}
	uint64_t t = 0;
	for (auto &s : tls_log)
		t += fnv(s);
	for (auto &kv : tls_map)
		t += fnv(kv.second);
	results[me].tls_sum = t;
}

}  // namespace

int main(int argc, char **argv)
{
	int batches = 1500;
	for (int i = 1; i < argc; i++) {
		if (!std::strcmp(argv[i], "--smoke"))
			batches = 200;
		else
			batches = std::atoi(argv[i]);
	}
	if (batches <= 0) {
		std::fprintf(stderr, "usage: cxx_threads [--smoke] [batches]\n");
		return 2;
	}

	std::vector<std::thread> threads;
	for (int i = 0; i < kThreads; i++)
		threads.emplace_back(worker, i, batches);
	for (auto &t : threads)
		t.join();

	uint64_t left = 0;
	for (auto &p : pool)
		for (auto &v : p)
			for (auto &s : *v)
				left += fnv(s);
	for (auto &p : pool)
		p.clear();

	uint64_t produced = 0, consumed = 0, bad = 0, n = 0;
	for (int i = 0; i < kThreads; i++) {
		const Result &r = results[i];
		std::printf("thread %d: produced %016llx consumed %llu %016llx "
			    "tls %016llx\n", i,
			    static_cast<unsigned long long>(r.produced_sum),
			    static_cast<unsigned long long>(r.consumed),
			    static_cast<unsigned long long>(r.consumed_sum),
			    static_cast<unsigned long long>(r.tls_sum));
		produced += r.produced_sum;
		consumed += r.consumed_sum;
		bad += r.bad;
		n += r.consumed;
	}
	std::printf("pool %016llx\n", static_cast<unsigned long long>(
		pool_dropped_sum.load() + left));
	std::printf("total: batches %llu produced %016llx consumed %016llx "
		    "bad %llu\n", static_cast<unsigned long long>(n),
		    static_cast<unsigned long long>(produced),
		    static_cast<unsigned long long>(consumed),
		    static_cast<unsigned long long>(bad));
	if (bad || produced != consumed || n != static_cast<uint64_t>(
		batches) * kThreads) {
		std::printf("FAIL\n");
		return 1;
	}
	std::printf("OK\n");
	return 0;
}
