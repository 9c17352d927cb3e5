#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""redis_bench.py - Debian's redis-server under a chosen allocator, driven by
redis-benchmark: requests per second and the server's peak RSS.

    bench/redis_bench.py [--smoke] [--preload=LIB|glibc] [--probe=SO] [SCALE]

Starts redis-server (no config file, no persistence) on 127.0.0.1 only, on a
free port above 1024 that is never Redis's default 6379, with
LD_PRELOAD="LIB SO" in the server's environment only (the client runs on
plain libc).  SO is bench/probe/hakmem_probe.c, built as
build/release/bench/hakmem_probe.so.  --preload=glibc preloads the C
library itself: Debian's
redis-server is linked against libjemalloc, so without a preload the
"default" allocator would be jemalloc, not glibc.  Then it runs

    redis-benchmark -h 127.0.0.1 -p PORT -P 16 -c 50 -r 100000 -d 64
        -n N -t set,get,lpush,lpop --csv

with N = 200000 * SCALE requests per command (--smoke: 2000), reads the
server's used_memory (INFO memory) and VmHWM (/proc/PID/status), shuts the
server down (SIGKILL if it will not go) and prints one line:

    redis: requests=R seconds=S ops_per_sec=X set_rps=.. get_rps=..
      lpush_rps=.. lpop_rps=.. used_memory_kb=U rss_peak_kb=K hakmem=H

seconds is the sum of N / rps over the four commands, so ops_per_sec is
their combined rate.  hakmem=1 only when the probe's exit line says that
hak_owns() claimed a block from the server's malloc and that hakmem's
mapped peak was at least redis's live memory (used_memory): hakmem, not
the jemalloc that redis links, held redis's data.  Exit status 0, or 1 with
a message when the server or the client fails.
"""

import csv
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

PROG = "redis_bench"
TESTS = ("set", "get", "lpush", "lpop")


def die(msg):
    print(f"{PROG}: {msg}", file=sys.stderr)
    sys.exit(1)


def free_port():
    """A port the kernel just gave us on 127.0.0.1 (so not 6379)."""
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if port != 6379:
            return port


def libc_path(binary):
    """The C library redis-server loads, as ldd resolves it."""
    out = subprocess.run(["ldd", binary], capture_output=True, text=True,
                         check=False).stdout
    m = re.search(r"libc\.so\.6 => (\S+)", out)
    if not m:
        die(f"cannot find the C library of {binary}")
    return m.group(1)


def ping(port, deadline):
    """Wait until the server answers PING; False on timeout."""
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), 0.5) as s:
                s.sendall(b"PING\r\n")
                if s.recv(64).startswith(b"+PONG"):
                    return True
        except OSError:
            pass
        time.sleep(0.02)
    return False


def command(port, *args):
    """One RESP command; the reply's bulk payload as text."""
    req = f"*{len(args)}\r\n" + "".join(
        f"${len(a)}\r\n{a}\r\n" for a in args)
    with socket.create_connection(("127.0.0.1", port), 5) as s:
        s.sendall(req.encode())
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
            m = re.match(rb"\$(\d+)\r\n", data)
            if m and len(data) >= m.end() + int(m.group(1)):
                break
            if data[:1] in (b"+", b"-") and data.endswith(b"\r\n"):
                break
    return data.decode(errors="replace")


def vm_hwm_kb(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return -1


def stop(proc, port):
    """SHUTDOWN NOSAVE, then SIGTERM, then SIGKILL: the server always goes."""
    if proc.poll() is not None:
        return
    try:
        command(port, "SHUTDOWN", "NOSAVE")
    except OSError:
        pass
    for sig in (None, signal.SIGTERM, signal.SIGKILL):
        if sig is not None and proc.poll() is None:
            proc.send_signal(sig)
        try:
            proc.wait(timeout=10)
            return
        except subprocess.TimeoutExpired:
            continue


def main(argv):
    smoke, preload, probe, scale = False, None, None, 1.0
    for a in argv:
        if a == "--smoke":
            smoke = True
        elif a.startswith("--preload="):
            preload = a[len("--preload="):]
        elif a.startswith("--probe="):
            probe = os.path.abspath(a[len("--probe="):])
            if not os.path.isfile(probe):
                die(f"no probe library {probe} (make benches)")
        elif not a.startswith("--"):
            try:
                scale = float(a)
            except ValueError:
                scale = -1
            if not scale > 0:
                die(f"bad SCALE '{a}'")
        else:
            print(f"usage: {PROG} [--smoke] [--preload=LIB|glibc] "
                  "[--probe=SO] [SCALE]", file=sys.stderr)
            return 2
    server = shutil.which("redis-server")
    client = shutil.which("redis-benchmark")
    if not server or not client:
        die("redis-server or redis-benchmark missing "
            "(apt-get install redis-server redis-tools)")
    n = 2000 if smoke else max(1000, int(200000 * scale))

    env = dict(os.environ)
    env.pop("LD_PRELOAD", None)
    client_env = dict(env)
    if preload == "glibc":
        preload = libc_path(server)
    libs = [x for x in (preload, probe) if x]
    if libs:
        env["LD_PRELOAD"] = " ".join(libs)

    tmp = tempfile.mkdtemp(prefix="hakmem-redis-")
    proc = None
    port = 0
    try:
        for _ in range(3):
            port = free_port()
            err = open(os.path.join(tmp, "server.err"), "w+")
            out = open(os.path.join(tmp, "server.out"), "w+")
            proc = subprocess.Popen(
                [server, "--port", str(port), "--bind", "127.0.0.1",
                 "--protected-mode", "yes", "--save", "", "--appendonly",
                 "no", "--dir", tmp, "--logfile", "", "--daemonize", "no",
                 "--databases", "1"],
                env=env, stdout=out, stderr=err, cwd=tmp)
            if ping(port, time.monotonic() + 10):
                break
            stop(proc, port)
            proc = None
        if proc is None:
            out.seek(0)
            err.seek(0)
            die("redis-server did not start:\n" + out.read()[-2000:] +
                err.read()[-2000:])

        args = [client, "-h", "127.0.0.1", "-p", str(port), "-P", "16",
                "-c", "50", "-r", "100000", "-d", "64", "-n", str(n),
                "-t", ",".join(TESTS), "--csv"]
        try:
            res = subprocess.run(args, env=client_env, capture_output=True,
                                 text=True, timeout=60 + n / 1000)
        except subprocess.TimeoutExpired:
            die("redis-benchmark timed out")
        if res.returncode != 0 or proc.poll() is not None:
            die(f"redis-benchmark failed (status {res.returncode}, server "
                f"{'gone' if proc.poll() is not None else 'up'}):\n"
                + res.stdout[-2000:] + res.stderr[-2000:])
        rps = {}
        for row in csv.reader(res.stdout.splitlines()):
            if len(row) >= 2 and row[0].lower() in TESTS:
                rps[row[0].lower()] = float(row[1])
        if set(rps) != set(TESTS) or min(rps.values()) <= 0:
            die("unexpected redis-benchmark output:\n" + res.stdout[-2000:])

        info = command(port, "INFO", "memory")
        m = re.search(r"^used_memory:(\d+)", info, re.M)
        used = int(m.group(1)) if m else -1
        hwm = vm_hwm_kb(proc.pid)
        stop(proc, port)
        err.seek(0)
        seen = re.search(r"^hakmem-probe: owns=1 mapped_peak_kb=(\d+)",
                         err.read(), re.M)
        hakmem = int(bool(seen) and used > 0 and
                     int(seen.group(1)) * 1024 >= used)
    finally:
        if proc is not None:
            stop(proc, port)
        shutil.rmtree(tmp, ignore_errors=True)

    secs = sum(n / r for r in rps.values())
    print(f"redis: requests={n * len(TESTS)} seconds={secs:.3f} "
          f"ops_per_sec={n * len(TESTS) / secs:.0f} "
          + " ".join(f"{t}_rps={rps[t]:.0f}" for t in TESTS)
          + f" used_memory_kb={used // 1024} rss_peak_kb={hwm} "
          f"hakmem={hakmem}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
