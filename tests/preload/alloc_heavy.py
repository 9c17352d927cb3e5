# SPDX-License-Identifier: MIT
"""alloc_heavy.py - allocation-heavy Python for tests/preload/python.sh.

Worker threads build dicts, lists, strings and bytes, round-trip them
through json, and hand them over queues to other threads, which check and
drop them (so memory is freed by a thread other than the allocator's).
Everything printed is deterministic (no set or hash order, no timing);
run it with PYTHONHASHSEED=0.  Usage: alloc_heavy.py [scale]
"""
import hashlib
import json
import queue
import random
import sys
import threading

SCALE = int(sys.argv[1]) if len(sys.argv) > 1 else 1
THREADS = 4
ITEMS = 300 * SCALE


def make_record(rng, tid, i):
    n = rng.randrange(1, 40)
    return {
        "id": f"{tid}-{i}",
        "tags": [rng.choice("abcdefgh") * rng.randrange(1, 30)
                 for _ in range(n)],
        "nums": [rng.randrange(-10**9, 10**9) for _ in range(n * 3)],
        "blob": "".join(chr(97 + rng.randrange(26))
                        for _ in range(rng.choice((5, 50, 700, 5000)))),
        "nested": {str(k): [k] * (k % 7) for k in range(n)},
        "raw": bytes(rng.randrange(256) for _ in range(rng.randrange(200))),
    }


def digest(rec):
    body = dict(rec)
    body["raw"] = body["raw"].hex()
    text = json.dumps(body, sort_keys=True)
    back = json.loads(text)
    assert json.dumps(back, sort_keys=True) == text
    return hashlib.sha256(text.encode()).hexdigest()


def producer(tid, out_q, produced):
    rng = random.Random(tid)
    acc = hashlib.sha256()
    for i in range(ITEMS):
        rec = make_record(rng, tid, i)
        acc.update(digest(rec).encode())
        out_q.put(rec)
        if i % 50 == 0:
            # churn: a big throw-away structure
            junk = [str(x) * 3 for x in range(2000)]
            acc.update(str(len("".join(junk))).encode())
    out_q.put(None)
    produced[tid] = acc.hexdigest()


def consumer(tid, in_q, consumed):
    acc = hashlib.sha256()
    kept = {}
    while True:
        rec = in_q.get()
        if rec is None:
            break
        acc.update(digest(rec).encode())
        kept[rec["id"]] = rec["blob"][:100]
        if len(kept) > 64:
            # drop the oldest: dicts keep insertion order
            del kept[next(iter(kept))]
    consumed[tid] = (acc.hexdigest(), len(kept))


def main():
    queues = [queue.Queue(maxsize=32) for _ in range(THREADS)]
    produced = [None] * THREADS
    consumed = [None] * THREADS
    threads = []
    for t in range(THREADS):
        threads.append(threading.Thread(
            target=producer, args=(t, queues[t], produced)))
        threads.append(threading.Thread(
            target=consumer, args=(t, queues[t], consumed)))
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    for t in range(THREADS):
        print(f"thread {t}: produced {produced[t][:16]} "
              f"consumed {consumed[t][0][:16]} kept {consumed[t][1]}")
        if produced[t] is None or consumed[t] is None:
            print("FAIL")
            return 1
    # single-threaded churn with growing and shrinking containers
    big = {}
    for i in range(20000 * SCALE):
        big[i] = [i] * (i % 17)
        if i % 3 == 0:
            big.pop(i // 2, None)
    text = json.dumps(big)
    print("big:", len(big), len(text),
          hashlib.sha256(text.encode()).hexdigest()[:16])
    print("OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
