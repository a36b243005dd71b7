#!/usr/bin/env python3
"""Dispatch throughput as a user gets it: through `breachline serve`, against an
external SMTP server, beside a minimal Python sender to the same server.

    python benches/serve_smtp.py --smtp 127.0.0.1:2525 [--people 5000] [--relay-pid PID]
    python benches/serve_smtp.py --sink [--people 2000] [--rate 50]

Start the SMTP server first, e.g. `python -m aiosmtpd -n -l 127.0.0.1:2525 -c
aiosmtpd.handlers.Sink`; or, with `--sink`, the script's own `socketserver` SMTP server
is the relay (listen backlog 5, a thread per connection) and it checks that every
person got exactly one message. The script starts `serve` (release build) on a scratch
SQLite database (or `BREACHLINE_DATABASE_URL`, which must be an empty database) with
`[channels.rates] email = 5000` (`--rate`), imports N people who prefer e-mail, files, scopes and
plans an incident, creates and approves a dispatch, and times it from the approval
request to the dispatch's `completed_at` (its progress is polled every 0.5 s, as a
page watching it would). Before and after, `smtplib` sends min(N, 5000) copies of a
notice `serve` really sent (a one-person dispatch of a second tenant, "capture",
whose own relay is a small recording SMTP server in this script) over as many
connections as the worker's default pool (8; `--connections` to change): the same
bytes, so the SMTP server does the same work per message for both.
With `--relay-pid`, it also prints how busy the SMTP server's process was (CPU time
over wall time) in each phase: the minimal sender keeps it at about 0.99.
Standard library only.
"""
import argparse
import json
import os
import smtplib
import socketserver
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from datetime import datetime

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.join(ROOT, "target", "release", "breachline")
HEADER = ("external_id,name,email,phone,locale,jurisdiction,birth_date,guardian_name,"
          "guardian_email,guardian_phone,push_token,postal_address,preferred_channel,"
          "systems,data_categories")
ITEM = {
    "summary": "An attacker copied account data from our app between 2 and 9 November. " * 6,
    "likely_impact": "Phishing e-mails that pretend to come from us. " * 6,
    "measures_taken": "We reset every password, closed the hole and called in experts. " * 6,
    "advice": "Change your password and watch for e-mails asking for it. " * 6,
    "remedies": "A support line and free credit monitoring for a year.",
    "contact": {"email": "privacy@example.com"},
}


def main():
    args = parse_args()
    sink = Recorder.start() if args.sink else None
    address = sink.address if sink else args.smtp
    host, port = address.rsplit(":", 1)
    relay = Process(args.relay_pid)
    sends = min(args.people, 5000)
    recorder = Recorder.start()
    with tempfile.TemporaryDirectory() as scratch:
        serve = Serve(scratch, address, recorder.url, args.port, args.rate)
        try:
            message = serve.sample_message(recorder)
            serve.prepare("acme", args.people)
            before = minimal_sender(host, int(port), message, sends, args.connections, relay)
            first = len(sink.messages) if sink else 0
            worker = serve.dispatch(args.people, relay)
            if sink:
                once(sink.messages[first:], args.people)
        finally:
            serve.stop()
    after = minimal_sender(host, int(port), message, sends, args.connections, relay)
    minimal = (before + after) / 2
    print(f"minimal sender: {minimal:.0f} msgs/s (before {before:.0f}, after {after:.0f}; "
          f"{sends} messages of {len(message)} bytes over {args.connections} connections)")
    paced = f"; {worker / args.rate:.0%} of the rate of {args.rate:g}/s" if args.paced else ""
    print(f"serve: {worker:.0f} msgs/s ({args.people} e-mails, approval to completion{paced})")
    print(f"ratio serve / minimal sender: {worker / minimal:.2f}; machine load "
          f"{' '.join(open('/proc/loadavg').read().split()[:3])}")


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--smtp", help="HOST:PORT of the SMTP server")
    p.add_argument("--people", type=int, default=5000)
    p.add_argument("--port", type=int, default=18080, help="port for serve")
    p.add_argument("--rate", type=float,
                   help="serve's [channels.rates] email, messages a second (default 5000, "
                        "above what the relay takes)")
    p.add_argument("--sink", action="store_true",
                   help="relay to the script's own socketserver SMTP server instead of --smtp")
    p.add_argument("--connections", type=int, default=8,
                   help="the minimal sender's connections (default: serve's default pool)")
    p.add_argument("--relay-pid", type=int, help="the SMTP server's process, to report its load")
    args = p.parse_args()
    if not args.sink and not args.smtp:
        p.error("give --smtp HOST:PORT or --sink")
    args.paced = args.rate is not None
    args.rate = args.rate or 5000.0
    return args


def once(messages, people):
    """Every person of the dispatch got exactly one message."""
    recipients = [to for to, _ in messages]
    distinct = set(recipients)
    print(f"  sink: {len(recipients)} messages to {len(distinct)} people "
          f"({len(recipients) - len(distinct)} duplicates)")
    if len(distinct) != people or len(recipients) != people:
        sys.exit("not every person got exactly one message")


class Recorder(socketserver.ThreadingTCPServer):
    """A small SMTP server that keeps the messages it is given with their recipient
    (the "capture" tenant's relay, and the relay of `--sink`): enough of RFC 5321
    for a client that behaves. socketserver's listen backlog is 5."""

    daemon_threads = True
    allow_reuse_address = True

    @classmethod
    def start(cls):
        server = cls(("127.0.0.1", 0), RecorderSession)
        server.messages = []
        threading.Thread(target=server.serve_forever, daemon=True).start()
        server.address = f"127.0.0.1:{server.server_address[1]}"
        server.url = f"smtp://{server.address}?tls=none"
        return server


class RecorderSession(socketserver.StreamRequestHandler):
    def handle(self):
        self.wfile.write(b"220 recorder ESMTP\r\n")
        to = None
        for line in self.rfile:
            verb = line[:4].upper()
            if verb == b"EHLO":
                self.wfile.write(b"250-recorder\r\n250 8BITMIME\r\n")
            elif verb == b"RCPT":
                to = line.split(b":", 1)[1].strip()
                self.wfile.write(b"250 ok\r\n")
            elif verb == b"DATA":
                self.wfile.write(b"354 go ahead\r\n")
                self.server.messages.append((to, self.message()))
                self.wfile.write(b"250 kept\r\n")
            elif verb == b"QUIT":
                self.wfile.write(b"221 bye\r\n")
                return
            else:
                self.wfile.write(b"250 ok\r\n")

    def message(self):
        lines = []
        for line in self.rfile:
            if line == b".\r\n":
                break
            lines.append(line[1:] if line.startswith(b"..") else line)
        return b"".join(lines)


class Process:
    """CPU time of one process: the SMTP server's, to tell how busy we keep it, or
    serve's own."""

    def __init__(self, pid):
        self.pid = pid

    def cpu(self):
        if not self.pid:
            return None
        fields = open(f"/proc/{self.pid}/stat").read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def report(self, phase, cpu_before, seconds):
        if cpu_before is not None:
            print(f"  {phase}: SMTP server busy {(self.cpu() - cpu_before) / seconds:.2f}")


def minimal_sender(host, port, message, count, connections, relay):
    def send(n):
        smtp = smtplib.SMTP(host, port)
        for i in range(n):
            smtp.sendmail("notices@localhost", [f"p{i}@example.com"], message)
        smtp.quit()

    cpu, started = relay.cpu(), time.time()
    share = count // connections
    threads = [threading.Thread(target=send, args=(share,)) for _ in range(connections)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    seconds = time.time() - started
    relay.report("minimal sender", cpu, seconds)
    return (share * connections) / seconds


class Serve:
    """`breachline serve` on a scratch database, driven through its API."""

    def __init__(self, scratch, smtp, capture_relay, port, rate):
        self.base = f"http://127.0.0.1:{port}"
        config = os.path.join(scratch, "bench.toml")
        with open(config, "w") as f:
            f.write(f"[channels.rates]\nemail = {rate:.1f}\n"
                    f'[channels.email.tenant_relays]\ncapture = "{capture_relay}"\n')
        self.env = dict(os.environ, BREACHLINE_DATA_DIR=scratch,
                        BREACHLINE_BIND=f"127.0.0.1:{port}",
                        BREACHLINE_SMTP_URL=f"smtp://{smtp}?tls=none",
                        RUST_LOG=os.environ.get("RUST_LOG", "warn"))
        self.command = [BIN, "--config", config]
        self.log = open(os.path.join(scratch, "serve.log"), "w")
        self.process = subprocess.Popen(self.command + ["serve"], env=self.env,
                                        stdout=self.log, stderr=subprocess.STDOUT)
        for _ in range(150):
            try:
                urllib.request.urlopen(self.base + "/healthz")
                return
            except OSError:
                time.sleep(0.2)
        sys.exit("serve did not start (see serve.log)")

    def cli(self, *args):
        return subprocess.run(self.command + list(args), env=self.env, check=True,
                              capture_output=True, text=True).stdout.strip()

    def call(self, method, path, token, body=None, content_type="application/json"):
        data = body if isinstance(body, bytes) or body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.base + path, data=data, method=method, headers={
            "Authorization": f"Bearer {token}", "Content-Type": content_type})
        with urllib.request.urlopen(request) as response:
            return json.loads(response.read() or b"null")

    def sample_message(self, recorder):
        """The one message `serve` sends for the "capture" tenant (also named Acme,
        same content), as its relay received it."""
        self.prepare("capture", 1)
        self.call("POST", self.dispatch_path + "/approve", self.approver, {})
        for _ in range(100):
            if recorder.messages:
                return recorder.messages[0][1]
            time.sleep(0.1)
        sys.exit("serve sent nothing to the recording relay (see serve.log)")

    def prepare(self, slug, people):
        self.cli("tenants", "create", "--name", "Acme", "--establishment", "JP", slug)
        self.responder = self.cli("tokens", "create", "--tenant", slug, "--role", "responder")
        self.approver = self.cli("tokens", "create", "--tenant", slug, "--role", "approver")
        rows = "\n".join(f"c{i:06},Person {i},c{i:06}@example.com,,en,JP,1980-01-01,,,,,,,app,contact"
                         for i in range(people))
        self.call("POST", "/api/v1/subjects/import", self.responder,
                  f"{HEADER}\n{rows}\n".encode(), "text/csv")
        incident = self.call("POST", "/api/v1/incidents", self.responder, {
            "title": "App breach", "discovered_at": "2026-11-26T00:00:00Z", "cause": "malicious",
            "risk": "high", "data_categories": ["contact"]})["id"]
        self.incident = f"/api/v1/incidents/{incident}"
        self.call("PUT", self.incident + "/scope", self.responder, {"systems": ["app"]})
        self.call("PUT", self.incident + "/notice-content", self.responder,
                  {"default_locale": "en", "locales": {"en": ITEM}})
        self.call("POST", self.incident + "/plan", self.responder, {})
        dispatch = self.call("POST", self.incident + "/dispatches", self.responder, {})["id"]
        self.dispatch_path = f"{self.incident}/dispatches/{dispatch}"

    def dispatch(self, people, relay):
        cpu, started = relay.cpu(), time.time()
        own = Process(self.process.pid)
        own_cpu = own.cpu()
        self.call("POST", self.dispatch_path + "/approve", self.approver, {})
        approval = time.time() - started
        while True:
            time.sleep(0.5)
            progress = self.call("GET", self.dispatch_path, self.responder)
            if progress["status"] == "completed":
                break
        # The server's own completion time, so that the polling interval adds nothing;
        # the SMTP server is idle after completion, so its CPU time since `started`
        # over these seconds is how busy it was while we sent.
        completed = datetime.fromisoformat(progress["completed_at"]).timestamp()
        seconds = completed - started
        print(f"  serve: approval took {approval:.2f} s; serve itself used "
              f"{(own.cpu() - own_cpu) / seconds:.2f} core")
        relay.report("serve", cpu, seconds)
        if progress["counts"]["sent"] != people:
            sys.exit(f"not everyone was sent to: {progress['counts']}")
        return people / seconds

    def stop(self):
        self.process.terminate()
        self.process.wait()


if __name__ == "__main__":
    main()
