#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""wset_bench.py — working-set prefetch (docs/snapshots.md), measured.

Boots the test guest's `snap` scenario (wtest.mib=MIB of pattern in a 128 MiB
guest), snapshots it, records a working set once (record while the guest
runs its `V` self-check), then for lazy / prefetch x cold / warm page cache
(cold: posix_fadvise(DONTNEED) on the memory file) and RUNS runs each,
measures in a new wisp process:
  load_ms  PUT /snapshot/load (resume_vm true) round trip
  v_ms     from sending `V` to the guest's `WTEST snap PASS`
  mem_ms   from sending `V` to `SNAP check memory ok` (the part that reads
           the pattern pages; the rest of the check waits on timers)
Usage: bench/wset_bench.py BUILD_DIR [RUNS] [MIB] [DIR]   (root, /dev/kvm)
"""
import http.client, json, os, socket, statistics, subprocess, sys, tempfile, time

build = sys.argv[1]
runs = int(sys.argv[2]) if len(sys.argv) > 2 else 3
mib = int(sys.argv[3]) if len(sys.argv) > 3 else 64
work = tempfile.mkdtemp(prefix="wset-bench-", dir=sys.argv[4] if len(sys.argv) > 4 else None)


class UConn(http.client.HTTPConnection):
    def __init__(self, path):
        super().__init__("localhost")
        self.path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(self.path)


class Wisp:
    def __init__(self, name):
        self.sock = f"{work}/{name}.sock"
        self.p = subprocess.Popen([f"{build}/wisp", "--api-sock", self.sock, "--id", name,
                                   "--level", "Info"], stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, stderr=open(f"{work}/{name}.log", "w"))
        os.set_blocking(self.p.stdout.fileno(), False)
        self.out = b""
        for _ in range(400):
            if os.path.exists(self.sock):
                break
            time.sleep(0.01)

    def call(self, method, path, body=None):
        c = UConn(self.sock)
        c.request(method, path, json.dumps(body) if body is not None else None,
                  {"Content-Type": "application/json"})
        r = c.getresponse()
        data = r.read()
        c.close()
        if r.status >= 300:
            raise RuntimeError(f"{method} {path}: {r.status} {data}")
        return data

    def wait_for(self, needle, timeout=60):
        end = time.monotonic() + timeout
        while needle.encode() not in self.out:
            if time.monotonic() > end:
                raise RuntimeError(f"no {needle!r}: {self.out[-2000:]!r}")
            try:
                d = os.read(self.p.stdout.fileno(), 65536)
                if d:
                    self.out += d
                    continue
            except BlockingIOError:
                pass
            time.sleep(0.0005)

    def send(self, s):
        self.p.stdin.write(s.encode())
        self.p.stdin.flush()

    def end(self):
        try:
            self.p.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.p.kill()
            self.p.wait()


state, mem, ws = f"{work}/vm.state", f"{work}/vm.mem", f"{work}/vm.wset"


def load_body(extra=None):
    b = {"snapshot_path": state, "mem_backend": {"backend_type": "File", "backend_path": mem},
         "resume_vm": True}
    if extra:
        b["working_set"] = extra
    return b


def drop_cache():
    fd = os.open(mem, os.O_RDONLY)
    os.fsync(fd)
    os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    os.close(fd)


def warm_cache():
    with open(mem, "rb") as f:
        while f.read(1 << 20):
            pass


def one(extra, name):
    w = Wisp(name)
    t0 = time.monotonic()
    w.call("PUT", "/snapshot/load", load_body(extra))
    t1 = time.monotonic()
    w.send("V")
    w.wait_for("SNAP check memory ok")
    tm = time.monotonic()
    w.wait_for("WTEST snap ")
    t2 = time.monotonic()
    w.end()
    os.set_blocking(w.p.stdout.fileno(), True)
    w.out += w.p.stdout.read()
    ok = b"WTEST snap PASS" in w.out
    if not ok or w.p.returncode != 0:
        raise RuntimeError(f"{name}: no PASS (status {w.p.returncode})")
    return (t1 - t0) * 1000, (t2 - t1) * 1000, (tm - t1) * 1000


a = Wisp("boot")
a.call("PUT", "/boot-source", {"kernel_image_path": f"{build}/wisp-testguest",
                               "boot_args": f"wtest=snap wtest.mib={mib}"})
a.call("PUT", "/machine-config", {"vcpu_count": 1, "mem_size_mib": 128})
a.call("PUT", "/actions", {"action_type": "InstanceStart"})
a.wait_for("SNAP 2\r")
a.call("PATCH", "/vm", {"state": "Paused"})
a.call("PUT", "/snapshot/create", {"snapshot_type": "Full", "snapshot_path": state,
                                   "mem_file_path": mem})
a.p.kill()
a.p.wait()
lm, vm, mm = one({"path": ws, "record": True, "record_ms": 600000}, "record")
n = (os.path.getsize(ws) - 32) // 8
print(f"guest: 128 MiB, {mib} MiB pattern; memory file {os.stat(mem).st_blocks * 512 >> 20} MiB "
      f"allocated; working set {n} pages ({n * 4 >> 10} MiB)")
print(f"record run (warm): load {lm:.1f} ms, V->memory ok {mm:.1f} ms, V->PASS {vm:.1f} ms")
res = {}
for i in range(runs):
    for cache in ("cold", "warm"):
        for mode in ("lazy", "prefetch"):
            (drop_cache if cache == "cold" else warm_cache)()
            r = one({"path": ws} if mode == "prefetch" else None, f"{mode}-{cache}-{i}")
            res.setdefault((cache, mode), []).append(r)
print(f"{'cache':6} {'mode':9} {'load ms (median, min-max)':28} {'V->PASS ms':24} {'sum':>8}"
      f"   V->'memory ok' ms")
for (cache, mode), rs in sorted(res.items()):
    L = [r[0] for r in rs]
    V = [r[1] for r in rs]
    M = [r[2] for r in rs]
    print(f"{cache:6} {mode:9} {statistics.median(L):7.1f} ({min(L):.1f}-{max(L):.1f}){'':9} "
          f"{statistics.median(V):7.1f} ({min(V):.1f}-{max(V):.1f}){'':4} "
          f"{statistics.median(L) + statistics.median(V):8.1f}   "
          f"{statistics.median(M):7.1f} ({min(M):.1f}-{max(M):.1f})")
subprocess.run(["rm", "-rf", work])
