"""`make soak`: crash safety and outage behaviour measured from outside, as an operator would see them.

1. Kill trials: a 2,000-unit plan is cascaded by `cascade plan cascade` in its own process, killed with
   SIGKILL at a random moment, run again, killed again (five times a plan, four plans: 20 kills), then let
   finish; a counting SMTP server (a Maildir) says how many notices were lost or sent twice.
2. Outage drill: the server is down for three delivery runs, then answers 450 to some addresses and 550 to
   others, then takes everything; every message must end delivered once or failed with its reason.

Prints the figures and writes RELIABILITY-SOAK.md (`--output`), which RELIABILITY.md quotes.
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections import Counter
from email.parser import BytesHeaderParser
from pathlib import Path
from typing import Any, ClassVar

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sandbox.smtp_sink import LocalMailbox, MaildirHandler

CASCADE = str(Path(sys.executable).parent / "cascade")


class DrillHandler(MaildirHandler):
    """The counting server: stores every message; can answer 450 or 550 to chosen recipients."""

    busy: ClassVar[set[str]] = set()  # set by the drill on the class: the server's handler is built once
    refused: ClassVar[set[str]] = set()

    def recipient_refusal(self, address: str) -> str | None:
        if address.lower() in self.refused:
            return f"550 5.1.1 <{address}>: mailbox unavailable"
        if address.lower() in self.busy:
            return f"450 4.2.1 <{address}>: mailbox busy"
        return None


def received(maildir: Path) -> list[tuple[str, str]]:
    """(Message-ID, To) of every message the server stored."""
    out = []
    for sub in ("new", "cur"):
        for path in (maildir / sub).iterdir() if (maildir / sub).is_dir() else ():
            with path.open("rb") as handle:
                headers = BytesHeaderParser().parse(handle)
            out.append((str(headers["Message-ID"]), str(headers["To"])))
    return out


def write_units(path: Path, count: int) -> None:
    lines = ["units:", "  - {code: so, name: Sở Thử nghiệm, kind: department, issuer_symbol: STN, emails: [vanthu@so.example.vn], place: Biên Hòa}"]
    lines += [f"  - {{code: u{i:04d}, name: Đơn vị {i:04d}, kind: office, parent: so, emails: [u{i:04d}@donvi.example.vn]}}" for i in range(1, count + 1)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def write_plan(path: Path, number: int) -> str:
    path.write_text(
        f"""plan:
  number: "{number}"
  symbol: KH-STN
  issuer: so
  issued_on: 2024-04-02
  place: Biên Hòa
  title: Kế hoạch thử nghiệm số {number}
  recipients: ["Lưu: VT"]
  signer: {{title: GIÁM ĐỐC, name: Nguyễn Văn A}}
  tasks:
    - {{code: nv1, title: Triển khai kế hoạch, content: Các đơn vị triển khai kế hoạch.}}
  targets:
    - {{code: mo_hinh, text: Mỗi đơn vị có ít nhất 1 mô hình, metric: Mô hình, unit_of_measure: mô hình, comparator: ge, value: 1, aggregation: mean}}
  duties:
    - code: bao_cao_nam
      kind: annual
      title: Báo cáo năm 2024
      due_on: 2024-10-30
      sections: [{{code: ket_qua, title: Kết quả thực hiện}}]
""",
        encoding="utf-8",
    )
    return f"{number}-kh-stn-2024"


def cascade(env: dict[str, str], *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    done = subprocess.run([CASCADE, *args], env=env, capture_output=True, text=True, timeout=1800, check=False)
    if check and done.returncode != 0:
        raise SystemExit(f"cascade {' '.join(args)} failed: {done.stdout}\n{done.stderr}")
    return done


def outbox(db: Path, sql: str) -> list[tuple[Any, ...]]:
    with sqlite3.connect(db) as connection:
        return connection.execute(sql).fetchall()


def kill_trials(work: Path, env: dict[str, str], maildir: Path, units: int, target: int, most_each: int, rng: random.Random) -> dict[str, Any]:
    """Plans of `units` units cascaded one after another, each run killed at a random moment (at most
    `most_each` times a plan, then let finish), until `target` kills have landed."""
    write_units(work / "units.yaml", units)
    cascade(env, "units", "import", str(work / "units.yaml"))
    kills, runs, plans, started = 0, 0, 0, time.perf_counter()
    while kills < target:
        plans += 1
        key = write_plan(work / f"plan-{plans}.yaml", plans)
        cascade(env, "plan", "import", str(work / f"plan-{plans}.yaml"))
        here = 0
        while True:
            process = subprocess.Popen(
                [CASCADE, "plan", "cascade", key, "--as-of", "2024-04-05"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
            )
            runs += 1
            if kills < target and here < most_each:
                try:
                    process.wait(timeout=rng.uniform(3.0, 10.0))  # past the command's start (about 3 s), inside its work
                except subprocess.TimeoutExpired:
                    process.send_signal(signal.SIGKILL)
                    process.wait()
                    kills, here = kills + 1, here + 1
                    continue
            if process.wait() != 0:
                raise SystemExit(f"plan {plans}: a run after the kills failed")
            break
        print(f"plan {plans}: {here} kills, cascaded; {kills} kills in all", flush=True)
    for _ in range(3):  # whatever a killed run left queued or 'sending' (lease 0) goes now
        cascade(env, "deliver", "--as-of", "2024-04-05")
    db = work / "ws" / "cascade.db"
    expected = {row[0] for row in outbox(db, "SELECT message_id FROM outbound_email WHERE kind = 'assignment'")}
    stored = received(maildir)
    counts = Counter(mid for mid, _ in stored)
    return {
        "kills": kills,
        "runs": runs,
        "plans": plans,
        "expected": len(expected),
        "lost": len(expected - set(counts)),
        "duplicates": sum(n - 1 for mid, n in counts.items() if mid in expected and n > 1),
        "unsent": outbox(db, "SELECT count(*) FROM outbound_email WHERE status <> 'sent'")[0][0],
        "seconds": time.perf_counter() - started,
    }


def outage_drill(work: Path, env: dict[str, str], sink: LocalMailbox, handler: type[DrillHandler], units: int) -> dict[str, Any]:
    write_units(work / "units.yaml", units)
    cascade(env, "units", "import", str(work / "units.yaml"))
    key = write_plan(work / "plan.yaml", 1)
    cascade(env, "plan", "import", str(work / "plan.yaml"))
    db = work / "ws" / "cascade.db"
    sink.stop()  # down
    started = time.perf_counter()
    cascade(env, "plan", "cascade", key, "--as-of", "2024-04-05")
    for day in (6, 7, 8):
        cascade(env, "deliver", "--as-of", f"2024-04-0{day}")
    down = dict(outbox(db, "SELECT status, count(*) FROM outbound_email GROUP BY status"))
    down_seconds = time.perf_counter() - started
    handler.busy = {f"u{i:04d}@donvi.example.vn" for i in range(1, 11)}
    handler.refused = {f"u{i:04d}@donvi.example.vn" for i in range(11, 16)}
    sink = LocalMailbox(sink.maildir, port=int(env["CASCADE_SMTP_PORT"]), handler=sink.handler)
    sink.start()  # back on its port, refusing some
    cascade(env, "deliver", "--as-of", "2024-04-09")
    refusing = dict(outbox(db, "SELECT status, count(*) FROM outbound_email GROUP BY status"))
    handler.busy = set()
    outbox(db, "UPDATE outbound_email SET not_before = NULL")  # the backoff passes
    cascade(env, "deliver", "--as-of", "2024-04-10")
    final = dict(outbox(db, "SELECT status, count(*) FROM outbound_email GROUP BY status"))
    failed_reasons = outbox(db, "SELECT last_error FROM outbound_email WHERE status = 'failed'")
    status = cascade(env, "status", key, "--as-of", "2024-04-10").stdout
    counts = Counter(mid for mid, _ in received(sink.maildir))
    sink.stop()
    return {
        "messages": sum(final.values()),
        "down": down,
        "down_seconds": down_seconds,
        "refusing": refusing,
        "final": final,
        "failed_with_reason": sum(1 for (reason,) in failed_reasons if reason and "550" in reason),
        "shown_in_status": status.count("550 5.1.1"),
        "delivered_twice": sum(1 for n in counts.values() if n > 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--units", type=int, default=2000)
    parser.add_argument("--kills", type=int, default=20, help="SIGKILLs in all.")
    parser.add_argument("--most-each", type=int, default=5, help="Most kills a plan takes before it is let finish.")
    parser.add_argument("--seed", type=int, default=20261207)
    parser.add_argument("--output", type=Path, default=ROOT / "RELIABILITY-SOAK.md")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    figures: list[str] = []
    for part in ("kills", "drill"):
        work = Path(tempfile.mkdtemp(prefix=f"cascade-soak-{part}-"))
        handler = DrillHandler(work / "maildir")
        sink = LocalMailbox(work / "maildir", port=0, handler=handler)
        sink.start()
        env = {k: v for k, v in os.environ.items() if not k.startswith(("CASCADE_", "PREFECT_API"))} | {
            "CASCADE_WORKSPACE": str(work / "ws"), "CASCADE_SMTP_HOST": "127.0.0.1", "CASCADE_SMTP_PORT": str(sink.port),
            "CASCADE_SMTP_SSL": "false", "CASCADE_SMTP_STARTTLS": "false", "CASCADE_COMMAND_SERVER": "off",
            "CASCADE_OUTBOX_LEASE_SECONDS": "0", "CASCADE_OUTBOX_RETRY_BASE_SECONDS": "0", "PREFECT_HOME": str(work / "prefect"),
        }  # fmt: skip
        try:
            if part == "kills":
                print(f"Kill trials: {args.kills} SIGKILLs during the cascades of {args.units}-unit plans", flush=True)
                k = kill_trials(work, env, work / "maildir", args.units, args.kills, args.most_each, rng)
                print(k, flush=True)
                bound = int(env.get("CASCADE_OUTBOX_COMMIT_EVERY", "20")) * int(env.get("CASCADE_OUTBOX_CONNECTIONS", "2"))
                figures += [
                    f"- SIGKILLs during cascade and delivery: {k['kills']} over {k['runs']} runs of `cascade plan cascade` "
                    f"({k['plans']} plans × {args.units:,} units, {k['seconds']:.0f} s).",
                    f"- Notices expected: {k['expected']:,}; lost: {k['lost']}; left unsent: {k['unsent']}; sent twice: {k['duplicates']} "
                    f"({k['duplicates'] / max(k['kills'], 1):.1f} a kill; the bound is what a kill can catch accepted and not yet recorded: "
                    f"outbox_commit_every × outbox_connections = {bound} a kill).",
                ]
            else:
                print("Outage drill: 200 units, server down for 3 runs, then 450 for 10 addresses and 550 for 5, then back", flush=True)
                d = outage_drill(work, env, sink, DrillHandler, 200)
                print(d, flush=True)
                figures += [
                    f"- Outage drill, {d['messages']} messages: after 3 runs with the server down ({d['down_seconds']:.1f} s in all): {d['down']} (none failed).",
                    f"- Server back answering 450 to 10 addresses and 550 to 5: {d['refusing']}.",
                    f"- All accepted again: {d['final']}; failed with the server's 550 recorded: {d['failed_with_reason']}, "
                    f"listed by `cascade status`: {d['shown_in_status']}; delivered twice: {d['delivered_twice']}.",
                ]
        finally:
            if sink.running:
                sink.stop()
            cascade(env, "server", "stop", check=False)
    text = "# Soak figures (`make soak`)\n\n" + "\n".join(figures) + "\n"
    args.output.write_text(text, encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
