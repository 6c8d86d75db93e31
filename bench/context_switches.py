#!/usr/bin/python3
"""Context switches of mailgate and of the sink per message, with run.py's parts.

On loopback, mailgate shares the machine's cores with smtp-source and smtp-sink. This counts how
often each is switched out per message: voluntarily (it waits for input) or involuntarily (a
woken peer takes its core), from /proc/PID/task/*/status, over one measurement per load, beside
mailgate's CPU time per message. With --peers-batch, smtp-sink and smtp-source run under
"chrt -b 0" (SCHED_BATCH: their wakeups do not preempt the running task), which shows what
those preemptions cost mailgate.

    bench/context_switches.py [--peers-batch] [--messages N] [--loads "1,20,100"]
"""

import argparse
import sys
import tempfile
from pathlib import Path

import run as bench


def switches(pid: int) -> tuple:
    """(voluntary, involuntary) context switches over all threads of `pid`."""
    voluntary = involuntary = 0
    for status in Path(f"/proc/{pid}/task").glob("*/status"):
        try:
            text = status.read_text()
        except OSError:
            continue  # the thread ended meanwhile
        for line in text.splitlines():
            name, _, value = line.partition(":")
            if name == "voluntary_ctxt_switches":
                voluntary += int(value)
            elif name == "nonvoluntary_ctxt_switches":
                involuntary += int(value)
    return voluntary, involuntary


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--peers-batch", action="store_true",
                        help="run smtp-sink and smtp-source under chrt -b 0")
    parser.add_argument("--messages", type=int, default=6000, help="per load (default 6000)")
    parser.add_argument("--loads", default="1,20,100", help="sessions per load, 5 KB, -d")
    parser.add_argument("--build-dir", type=Path, default=bench.DEFAULT_BUILD)
    args = parser.parse_args(argv)
    if args.peers_batch:
        bench.PEER_COMMAND_PREFIX[:] = ["chrt", "-b", "0"]
    procs = bench.Processes()
    with tempfile.TemporaryDirectory(prefix="mailgate-switches-") as folder:
        workdir = Path(folder)
        try:
            sink = bench.Sink(procs, workdir).start()
            runner = bench.Runner(procs, sink, workdir)
            gate = bench.Mailgate(procs, workdir, sink, args.build_dir).start()
            print("sessions  mailgate vol/msg invol/msg  sink vol/msg invol/msg  "
                  "mailgate CPU ms/msg")
            for sessions in (int(item) for item in args.loads.split(",")):
                load = bench.Load(sessions, 5 * bench.KIB, True)
                runner.measure(gate, load, min(1000, args.messages), timeout=120)  # warm up
                gate_before, sink_before = switches(gate.proc.pid), switches(sink.proc.pid)
                result = runner.measure(gate, load, args.messages, timeout=300)
                gate_after, sink_after = switches(gate.proc.pid), switches(sink.proc.pid)
                per_message = [(after - before) / args.messages for before, after in
                               zip(gate_before + sink_before, gate_after + sink_after)]
                print(f"{sessions:8d}  {per_message[0]:16.2f} {per_message[1]:9.2f}  "
                      f"{per_message[2]:12.2f} {per_message[3]:9.2f}  "
                      f"{result['cpu_ms_per_msg']:19.3f}")
        finally:
            procs.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
