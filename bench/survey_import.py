#!/usr/bin/env python3
"""The issue-6 benchmark (DESIGN §6): import 1,000,000 survey responses (20 answers each) from
a CSV file through the product's own path, against `parindex demo`, on loopback.

For each backend it:
  1. seeds the demo province with `parindex demo` (SQLite, or a fresh PostgreSQL database it
     drops afterwards), stops it, and serves the same data with `parindex serve`, so the
     server measured holds nothing but what serving needs;
  2. logs in as the demo survey operator (`khaosat`) and finds the demo questionnaire
     (10 questions about 2 departments: 20 answers per response);
  3. uploads the CSV (multipart POST /questionnaires/{id}/import, streamed to the evidence
     store; the server answers with the mapping screen and its preview);
  4. starts the import with the mapping the screen preselected (POST …/start) and polls the
     job page until the job is done: pass 1 checks every row, pass 2 saves every response in
     one transaction with its audit record;
  5. reads the server's peak RSS (VmHWM, reset just before the upload).

Baseline, in the same run on the same file and disk: the sqlite3 shell's `.import` of the CSV
into a plain table of a fresh database file (time and the child's peak RSS).

Only the Python standard library; bounded: every HTTP call has a timeout, the import is polled
for at most BENCH_IMPORT_TIMEOUT seconds, and the server runs under `timeout`.

Usage: bench/survey_import.py
Environment: PARINDEX_BIN (default /tmp/parindex-bench-target/release/parindex),
  BENCH_ROWS (default 1000000), BENCH_BACKENDS ("sqlite postgres"),
  BENCH_PG (postgres://postgres@127.0.0.1:5432), BENCH_PORT (18471),
  BENCH_WORK (/tmp/parindex-bench-survey), BENCH_IMPORT_TIMEOUT (600).
"""

import http.cookiejar
import os
import re
import shutil
import subprocess
import sys
import time
import urllib.parse
import urllib.request

BIN = os.environ.get("PARINDEX_BIN", "/tmp/parindex-bench-target/release/parindex")
ROWS = int(os.environ.get("BENCH_ROWS", "1000000"))
BACKENDS = os.environ.get("BENCH_BACKENDS", "sqlite postgres").split()
PG = os.environ.get("BENCH_PG", "postgres://postgres@127.0.0.1:5432")
PORT = int(os.environ.get("BENCH_PORT", "18471"))
WORK = os.environ.get("BENCH_WORK", "/tmp/parindex-bench-survey")
IMPORT_TIMEOUT = int(os.environ.get("BENCH_IMPORT_TIMEOUT", "600"))
BASE = f"http://127.0.0.1:{PORT}"
UNITS = ("STP", "SNV")
QUESTIONS = 10
OPTIONS = "ABCDK"


def log(msg):
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def die(msg):
    log(f"bench: {msg}")
    sys.exit(1)


def make_csv(path):
    """1 respondent id column and 20 answer columns, deterministic pseudo-random answers."""
    header = ["Mã người trả lời"] + [f"{u}_Q{q}" for u in UNITS for q in range(1, QUESTIONS + 1)]
    state = 2026
    with open(path, "w", encoding="utf-8", newline="") as f:
        f.write(",".join(header) + "\r\n")
        lines = []
        for n in range(1, ROWS + 1):
            state = (state * 6364136223846793005 + 1442695040888963407) % (1 << 64)
            bits = state
            cells = []
            for _ in range(len(UNITS) * QUESTIONS):
                cells.append(OPTIONS[bits % 5])
                bits //= 5
            lines.append(f"R{n:07d}," + ",".join(cells))
            if len(lines) == 50_000:
                f.write("\r\n".join(lines) + "\r\n")
                lines = []
        if lines:
            f.write("\r\n".join(lines) + "\r\n")


def status_kb(pid, key):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return 0


def baseline_sqlite3(csv_path, work):
    """The sqlite3 shell's .import of the same CSV into a plain table: seconds, peak RSS MB."""
    db = os.path.join(work, "baseline.db")
    for suffix in ("", "-journal", "-wal"):
        if os.path.exists(db + suffix):
            os.remove(db + suffix)
    script = f".mode csv\n.import {csv_path} responses\nSELECT COUNT(*) FROM responses;\n"
    start = time.monotonic()
    proc = subprocess.Popen(
        ["sqlite3", db], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    proc.stdin.write(script.encode())
    proc.stdin.close()
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.monotonic() - start
    out = proc.stdout.read().decode().strip()
    if status != 0 or out != str(ROWS):
        die(f"sqlite3 .import failed: status {status}, count {out!r}, {proc.stderr.read()!r}")
    return elapsed, usage.ru_maxrss / 1024


class Client:
    def __init__(self):
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(self.jar), NoRedirect()
        )

    def request(self, method, path, data=None, headers=None, timeout=60):
        req = urllib.request.Request(BASE + path, data=data, method=method, headers=headers or {})
        try:
            with self.opener.open(req, timeout=timeout) as r:
                return r.status, r.headers, r.read().decode("utf-8", "replace")
        except urllib.error.HTTPError as e:
            return e.code, e.headers, e.read().decode("utf-8", "replace")

    def get(self, path):
        return self.request("GET", path)

    def post_form(self, path, fields):
        body = urllib.parse.urlencode(fields).encode()
        return self.request(
            "POST", path, body, {"Content-Type": "application/x-www-form-urlencoded"}
        )

    def upload(self, path, csv_path, timeout=600):
        """A streamed multipart body: the file is read in 1 MiB pieces, never whole."""
        boundary = "----parindex-bench-boundary"
        head = (
            f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; "
            f"filename=\"khao-sat-1-trieu.csv\"\r\nContent-Type: text/csv\r\n\r\n"
        ).encode()
        tail = f"\r\n--{boundary}--\r\n".encode()
        size = len(head) + os.path.getsize(csv_path) + len(tail)

        def body():
            yield head
            with open(csv_path, "rb") as f:
                while chunk := f.read(1 << 20):
                    yield chunk
            yield tail

        return self.request(
            "POST",
            path,
            body(),
            {
                "Content-Type": f"multipart/form-data; boundary={boundary}",
                "Content-Length": str(size),
            },
            timeout=timeout,
        )


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def csrf_of(html):
    m = re.search(r'name="csrf" value="([0-9a-f]{64})"', html)
    if not m:
        die("no CSRF token on the page")
    return m.group(1)


def run_backend(backend, csv_path):
    work = os.path.join(WORK, backend)
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    args = [
        "timeout", "-s", "TERM", str(IMPORT_TIMEOUT + 300), BIN, "demo",
        "--bind", f"127.0.0.1:{PORT}", "--data-dir", os.path.join(work, "data"),
        "--max-upload-mb", "1024",
    ]
    pg_db = None
    if backend == "postgres":
        pg_db = f"bench_survey_{os.getpid()}"
        subprocess.run(["psql", f"{PG}/postgres", "-qAt", "-c", f"CREATE DATABASE {pg_db}"],
                       check=True, stdout=subprocess.DEVNULL)
        args += ["--database-url", f"{PG}/{pg_db}"]
    out = open(os.path.join(work, "server.out"), "w")
    err = open(os.path.join(work, "server.err"), "w")
    # `demo` seeds the province and prints the passwords; its process keeps what seeding
    # allocated (ten argon2 hashes), so the measured server is a plain `serve` started on the
    # same data afterwards.
    demo = subprocess.Popen(args, stdout=out, stderr=err)
    server = None
    try:
        wait_for_password(backend, work, demo)
        demo.terminate()
        demo.wait(20)
        serve_args = [a if a != "demo" else "serve" for a in args]
        data_dir = serve_args.index("--data-dir") + 1
        serve_args[data_dir] = os.path.join(serve_args[data_dir], "demo")
        if backend == "sqlite":
            serve_args += ["--database-url",
                           f"sqlite://{serve_args[data_dir]}/parindex.db?mode=rwc"]
        serve_out = open(os.path.join(work, "serve.out"), "w")
        server = subprocess.Popen(serve_args, stdout=serve_out, stderr=err)
        return measure(backend, work, server, csv_path)
    finally:
        for p in (demo, server):
            if p is None or p.poll() is not None:
                continue
            p.terminate()
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()
        if pg_db:
            subprocess.run(
                ["psql", f"{PG}/postgres", "-qAt", "-c",
                 f"DROP DATABASE IF EXISTS {pg_db} WITH (FORCE)"],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            )


def wait_for_password(backend, work, demo):
    """Waits for the demo to print the survey operator's password and to serve."""
    for _ in range(600):
        if demo.poll() is not None:
            die(f"the {backend} demo exited at start")
        with open(os.path.join(work, "server.out")) as f:
            m = re.search(r"^khaosat\s+(\S+)", f.read(), re.M)
        if m:
            try:
                urllib.request.urlopen(BASE + "/healthz", timeout=2)
                return m.group(1)
            except OSError:
                pass
        time.sleep(0.1)
    die(f"the {backend} demo did not start in 60 s")


def measure(backend, work, server, csv_path):
    with open(os.path.join(work, "server.out")) as f:
        password = re.search(r"^khaosat\s+(\S+)", f.read(), re.M).group(1)
    for _ in range(600):
        if server.poll() is not None:
            die(f"the {backend} server exited at start")
        try:
            urllib.request.urlopen(BASE + "/healthz", timeout=2)
            break
        except OSError:
            time.sleep(0.1)
    else:
        die(f"the {backend} server did not start in 60 s")
    time.sleep(1)
    children = subprocess.run(["pgrep", "-P", str(server.pid)], capture_output=True, text=True)
    pid = int(children.stdout.split()[0])  # the server under `timeout`

    c = Client()
    _, _, page = c.get("/login")
    status, _, _ = c.post_form(
        "/login", {"username": "khaosat", "password": password, "csrf": csrf_of(page)}
    )
    if status != 303:
        die(f"login answered {status}")
    _, _, page = c.get("/survey")
    m = re.search(r'href="/periods/(\d+)/survey"', page)
    period = m.group(1)
    _, _, page = c.get(f"/periods/{period}/survey")
    qid = re.search(r'href="/questionnaires/(\d+)"', page).group(1)
    csrf = csrf_of(page)

    rss_before = status_kb(pid, "VmRSS")
    with open(f"/proc/{pid}/clear_refs", "w") as f:
        f.write("5")  # resets VmHWM to the current RSS
    log(f"{backend}: uploading {os.path.getsize(csv_path) / 1e6:.1f} MB")
    t0 = time.monotonic()
    status, _, page = c.upload(f"/questionnaires/{qid}/import?csrf={csrf}", csv_path)
    t_upload = time.monotonic() - t0
    if status != 200 or "import-mapping" not in page:
        die(f"upload answered {status}: {page[:500]}")
    start = re.search(r'action="(/questionnaires/\d+/import/[0-9a-f]{64}/start)"', page).group(1)
    fields = {"csrf": csrf_of(page)}
    for name in ("file_name", "width"):
        fields[name] = re.search(rf'name="{name}" value="([^"]*)"', page).group(1)
    for select in re.finditer(r'<select name="([^"]+)"[^>]*>(.*?)</select>', page, re.S):
        chosen = re.search(r'<option value="([^"]*)" selected>', select.group(2))
        fields[select.group(1)] = chosen.group(1) if chosen else ""
    mapped = sum(1 for k, v in fields.items() if k.startswith("a:") and v)
    if mapped != len(UNITS) * QUESTIONS:
        die(f"the mapping screen preselected {mapped} answer columns, not 20")

    log(f"{backend}: importing")
    t1 = time.monotonic()
    status, headers, _ = c.post_form(start, fields)
    if status != 303:
        die(f"start answered {status}")
    job = headers["Location"]
    while True:
        _, _, page = c.get(job)
        m = re.search(r'data-status="(\w+)"', page)
        if m and m.group(1) in ("done", "failed"):
            break
        if time.monotonic() - t1 > IMPORT_TIMEOUT:
            die("the import did not finish in time")
        time.sleep(0.2)
    t_import = time.monotonic() - t1
    if m.group(1) != "done":
        die(f"the import failed: {page[:2000]}")
    inserted = int(re.search(r'data-testid="job-inserted">(\d+)<', page).group(1))
    if inserted != ROWS:
        die(f"{inserted} responses inserted, not {ROWS}")
    hwm = status_kb(pid, "VmHWM")
    return {
        "upload_s": t_upload,
        "import_s": t_import,
        "rss_before_mb": rss_before / 1024,
        "peak_rss_mb": hwm / 1024,
        "inserted": inserted,
    }


def main():
    for tool in ("sqlite3", "timeout", "pgrep"):
        if not shutil.which(tool):
            die(f"{tool} is missing (apt-get install -y sqlite3 procps coreutils)")
    if not os.access(BIN, os.X_OK):
        die(f"no binary at {BIN}; build it with:\n  CARGO_TARGET_DIR=/tmp/parindex-bench-target "
            "cargo build --release --locked -p parindex-cli")
    os.makedirs(WORK, exist_ok=True)
    csv_path = os.path.join(WORK, "responses.csv")
    log(f"writing {ROWS} rows to {csv_path}")
    make_csv(csv_path)
    size_mb = os.path.getsize(csv_path) / 1e6
    rows = []
    for backend in BACKENDS:
        base_s, base_rss = baseline_sqlite3(csv_path, WORK)
        log(f"baseline sqlite3 .import: {base_s:.2f} s, {base_rss:.0f} MB")
        r = run_backend(backend, csv_path)
        log(f"{backend}: {r}")
        rows.append((backend, r, base_s, base_rss))
    print(f"\nCSV: {ROWS:,} rows × 20 answers, {size_mb:.1f} MB; load average "
          f"{os.getloadavg()[0]:.2f}\n")
    print("| backend | upload + mapping screen s | import s (check + save) | upload + import s "
          "| server RSS before MB | server peak RSS MB | baseline sqlite3 .import s "
          "| baseline peak RSS MB | import ÷ baseline | (upload + import) ÷ baseline |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for backend, r, base_s, base_rss in rows:
        total = r["upload_s"] + r["import_s"]
        print(f"| {backend} | {r['upload_s']:.2f} | {r['import_s']:.2f} | {total:.2f} "
              f"| {r['rss_before_mb']:.0f} | {r['peak_rss_mb']:.0f} | {base_s:.2f} "
              f"| {base_rss:.0f} | {r['import_s'] / base_s:.2f} | {total / base_s:.2f} |")


if __name__ == "__main__":
    main()
