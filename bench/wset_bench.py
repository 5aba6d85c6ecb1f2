#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""wset_bench.py — working-set prefetch (docs/snapshots.md), measured.

Boots the test guest's `snap` scenario (wtest.mib=MIB of pattern in a guest
of --ram MiB, 128 by default), snapshots it, records a working set once (a
restored guest echoes a byte, then does the work; recording ends when it
signals readiness), then for lazy / prefetch x cold / warm page cache (cold:
the state, memory and working-set files fsynced and evicted with
posix_fadvise(DONTNEED); warm: the three read once) and RUNS runs each,
interleaved, measures in a new wisp process; modes: lazy (no working set),
prefetch (the working set's page copies mapped and populated) and copy
(`"copy": true`: the copies placed in anonymous memory with UFFDIO_COPY, the
rest served by wisp from the memory file):
  load      PUT /snapshot/load (resume_vm true) round trip
  echo      process start -> the guest's first reply (the echo of a byte
            sent right after the load)
  work      from sending the command byte to the guest's end line
  total     process start -> end of the work
  majflt, minflt   the wisp process's page faults (/proc/PID/stat) at the
            end of the work: KVM's faults on guest memory count for the
            vCPU thread that takes them
The work (--work):
  touch  (default) `T`: read TPAGES scattered pattern pages in a fixed
         pseudo-random order (a function's working set: a small, scattered
         part of guest memory), checking TWORDS words of each (more words:
         more guest work per page) -> `SNAP touched N pages in U us`
  check  `V`: the full self-check, which reads the whole pattern in order
         -> `SNAP check memory ok` (then waits for PASS)
Usage: bench/wset_bench.py BUILD_DIR [RUNS] [MIB] [DIR] [--work touch|check]
                           [--tpages N] [--twords K] [--ram MIB]   (root, /dev/kvm)
"""
import argparse, http.client, json, os, signal, socket, statistics, subprocess, tempfile, time

ap = argparse.ArgumentParser(description="working-set prefetch benchmark")
ap.add_argument("build")
ap.add_argument("runs", nargs="?", type=int, default=20)
ap.add_argument("mib", nargs="?", type=int, default=64)
ap.add_argument("dir", nargs="?", default=None)
ap.add_argument("--work", choices=("touch", "check"), default="touch")
ap.add_argument("--tpages", type=int, default=1024)
ap.add_argument("--twords", type=int, default=1, help="words `T` checks per page (1)")
ap.add_argument("--ram", type=int, default=128, help="guest RAM in MiB (128)")
args = ap.parse_args()
build, runs, mib = args.build, args.runs, args.mib
work = tempfile.mkdtemp(prefix="wset-bench-", dir=args.dir)


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
        self.log = f"{work}/{name}.log"
        self.t0 = time.monotonic()
        self.p = subprocess.Popen([f"{build}/wisp", "--api-sock", self.sock, "--id", name,
                                   "--level", "Info"], stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, stderr=open(self.log, "w"))
        os.set_blocking(self.p.stdout.fileno(), False)
        self.out = b""
        for _ in range(4000):   # until the API socket accepts
            try:
                t = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                t.connect(self.sock)
                t.close()
                break
            except (FileNotFoundError, ConnectionRefusedError):
                t.close()
                time.sleep(0.0005)

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

    def wait_for(self, needle, timeout=120, after=None):
        end = time.monotonic() + timeout
        def seen():
            i = self.out.find(after.encode()) if after else 0
            return i >= 0 and needle.encode() in self.out[i:]

        while not seen():
            if time.monotonic() > end:
                raise RuntimeError(f"no {needle!r}: {self.out[-2000:]!r}")
            try:
                d = os.read(self.p.stdout.fileno(), 65536)
                if d:
                    self.out += d
                    continue
            except BlockingIOError:
                pass
            time.sleep(0.0002)
        return time.monotonic()

    def send(self, s):
        self.p.stdin.write(s.encode())
        self.p.stdin.flush()

    def faults(self):
        with open(f"/proc/{self.p.pid}/stat") as f:
            st = f.read().rsplit(")", 1)[1].split()
        return int(st[7]), int(st[9])    # minflt, majflt (fields 10 and 12)

    def kill(self):
        self.p.send_signal(signal.SIGKILL)
        self.p.wait()

    def end(self):
        try:
            self.p.wait(timeout=60)
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
    for path in (state, mem, ws):
        fd = os.open(path, os.O_RDONLY)
        os.fsync(fd)
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        os.close(fd)


def warm_cache():
    for path in (state, mem, ws):
        with open(path, "rb") as f:
            while f.read(1 << 20):
                pass


def do_work(w):
    """Send the command byte; return the time the work ended."""
    if args.work == "touch":
        w.send("T")
        return w.wait_for(" us\r\n", after="SNAP touched")
    w.send("V")
    return w.wait_for("SNAP check memory ok")


def one(extra, name):
    w = Wisp(name)
    w.call("PUT", "/snapshot/load", load_body(extra))
    t_load = time.monotonic()
    w.send("x")
    t_echo = w.wait_for("Ex\r\n")
    t_w0 = time.monotonic()
    t_w1 = do_work(w)
    minf, majf = w.faults()
    guest_us = None
    if args.work == "touch":
        line = w.out[w.out.index(b"SNAP touched"):].split(b"\r\n")[0].split()
        guest_us = int(line[-2])
        w.kill()
    else:
        w.wait_for("WTEST snap ")
        w.end()
        os.set_blocking(w.p.stdout.fileno(), True)
        w.out += w.p.stdout.read()
        if b"WTEST snap PASS" not in w.out or w.p.returncode != 0:
            raise RuntimeError(f"{name}: no PASS (status {w.p.returncode})")
    pf = None
    with open(w.log) as lf:
        for line in lf:
            if "made present" in line:   # "... readahead request(s), N us"
                pf = int(line.rsplit(", ", 1)[1].split()[0]) / 1000
    if not os.environ.get("WSET_BENCH_KEEP"):
        os.unlink(w.log)
    ms = lambda a, b: (b - a) * 1000
    return {"load": ms(w.t0, t_load), "echo": ms(w.t0, t_echo), "work": ms(t_w0, t_w1),
            "total": ms(w.t0, t_w1), "majflt": majf, "minflt": minf,
            "guest": guest_us / 1000 if guest_us is not None else None,
            "prefetch": pf if pf is not None else 0.0}


a = Wisp("boot")
a.call("PUT", "/boot-source", {"kernel_image_path": f"{build}/wisp-testguest",
                               "boot_args": f"wtest=snap wtest.mib={mib} "
                                            f"wtest.tpages={args.tpages} "
                                            f"wtest.twords={args.twords}"})
a.call("PUT", "/machine-config", {"vcpu_count": 1, "mem_size_mib": args.ram})
a.call("PUT", "/actions", {"action_type": "InstanceStart"})
a.wait_for("SNAP 2\r")
a.call("PATCH", "/vm", {"state": "Paused"})
a.call("PUT", "/snapshot/create", {"snapshot_type": "Full", "snapshot_path": state,
                                   "mem_file_path": mem})
a.kill()

# Record: echo, the work, then `R` (ready) ends the recording.
r = Wisp("record")
r.call("PUT", "/snapshot/load", load_body({"path": ws, "record": True, "record_ms": 600000}))
r.send("x")
r.wait_for("Ex\r\n")
t = time.monotonic()
do_work(r)
rec_ms = (time.monotonic() - t) * 1000
r.send("R")
r.wait_for("SNAP ready")
for _ in range(2000):
    if os.path.exists(ws):
        break
    time.sleep(0.005)
r.kill()
with open(ws, "rb") as f:
    n = int.from_bytes(f.read(32)[24:32], "little")
work_desc = (f"`T`: {args.tpages} scattered pattern pages, {args.twords} word(s) checked "
             f"in each" if args.work == "touch"
             else f"`V`: the {mib} MiB pattern in order")
print(f"guest: {args.ram} MiB, {mib} MiB pattern; work {work_desc}; memory file "
      f"{os.stat(mem).st_blocks * 512 >> 20} MiB allocated; working set {n} pages "
      f"({n * 4 >> 10} MiB), recorded while the work took {rec_ms:.0f} ms")

res = {}
modes = [(c, m) for c in ("cold", "warm") for m in ("lazy", "prefetch", "copy")]
extra = {"lazy": None, "prefetch": {"path": ws}, "copy": {"path": ws, "copy": True}}
for i in range(runs):
    for cache, mode in modes:
        (drop_cache if cache == "cold" else warm_cache)()
        rr = one(extra[mode], f"{mode}-{cache}-{i}")
        res.setdefault((cache, mode), []).append(rr)

cols = [("load", "load ms"), ("prefetch", "of which prefetch ms"), ("echo", "start->echo ms"), ("work", "work ms"),
        ("total", "start->work done ms"), ("majflt", "major faults"),
        ("minflt", "minor faults")]
if args.work == "touch":
    cols.insert(3, ("guest", "guest's own ms"))


def med(cache, mode, k):
    return statistics.median(r[k] for r in res[(cache, mode)])


def cell(cache, mode, k):
    v = [r[k] for r in res[(cache, mode)]]
    f = "{:.0f}" if k in ("majflt", "minflt") else "{:.1f}"
    return f"{f.format(statistics.median(v))} ({f.format(min(v))}-{f.format(max(v))})"


print(f"\nmedians (min-max) of {runs} runs each, interleaved")
print(f"| {'':24} | " + " | ".join(f"{c} {m}" for c, m in modes) + " |")
print("|---|" + "---:|" * len(modes))
for k, label in cols:
    print(f"| {label:24} | " + " | ".join(cell(c, m, k) for c, m in modes) + " |")
print()
for k in ("total", "work"):
    wl = med("warm", "lazy", k)
    cl = med("cold", "lazy", k)
    for m in ("prefetch", "copy"):
        cp, wp = med("cold", m, k), med("warm", m, k)
        print(f"{k}, {m}: cold lazy / cold {m} = {cl / cp:.2f}x; cold {m} / warm lazy = "
              f"{cp / wl:.2f}; cold {m} / warm {m} = {cp / wp:.2f}")
    print(f"{k}: cold lazy / warm lazy = {cl / wl:.2f}")
if os.environ.get("WSET_BENCH_KEEP"):
    print(f"kept: {work}")
else:
    subprocess.run(["rm", "-rf", work])
