"""The embedded maildir backend stores each accepted message as one file in new/."""

import os
import time

from smtp_client import RawClient, open_session, send_message
from smtp_text import dot_stuff, split_received

CONTENT = b"Subject: maildir\r\n\r\n.dotted line\r\n8-bit: \xc3\xa9t\xc3\xa9\r\nend\r\n"


def test_message_lands_in_maildir_new(start_gateway, tmp_path):
    """After 250 the message is one file in new/ (Return-Path, Received, content; LF line ends)."""
    maildir = tmp_path / "maildir"
    gw = start_gateway(backend={"type": "maildir", "path": str(maildir)})
    with RawClient(gw.port) as client:
        open_session(client)
        reply = send_message(client, "sender@remote.example", ["user@example.test"], CONTENT)
        assert reply.code == 250, str(reply)
    files = list((maildir / "new").iterdir())
    assert len(files) == 1, files
    stored = files[0].read_bytes()
    return_path = b"Return-Path: <sender@remote.example>\n"
    assert stored.startswith(return_path), stored[:80]
    _, rest = split_received(stored[len(return_path) :].replace(b"\n", b"\r\n"))
    assert rest == CONTENT
    assert list((maildir / "tmp").iterdir()) == []


def test_slow_disk_holds_up_only_its_own_message(start_gateway, build, tmp_path):
    """Every fsync takes 1 s (an LD_PRELOAD shim, like a disk under load). While the Maildir
    write of one message waits on it, another session on the same, only I/O thread is answered
    at once; the message still lands, after its two fsyncs (file and new/)."""
    delay = 1.0
    asan_options = ":".join(filter(None, [os.environ.get("ASAN_OPTIONS"),
                                          "verify_asan_link_order=0"]))
    maildir = tmp_path / "maildir"
    gw = start_gateway(
        server={"threads": 1},
        backend={"type": "maildir", "path": str(maildir)},
        env={"LD_PRELOAD": str(build.test_plugin("slow_fsync")),
             "MAILGATE_TEST_FSYNC_DELAY_MS": str(int(delay * 1000)),
             "ASAN_OPTIONS": asan_options})
    with RawClient(gw.port, timeout=10) as writer:
        open_session(writer)
        for command, code in (("MAIL FROM:<sender@remote.example>", 250),
                              ("RCPT TO:<user@example.test>", 250), ("DATA", 354)):
            reply = writer.command(command)
            assert reply.code == code, str(reply)
        writer.send(dot_stuff(CONTENT) + b".\r\n")
        sent = time.monotonic()
        time.sleep(0.2)  # the write is under way: its fsync sleeps
        with RawClient(gw.port, timeout=10) as other:
            open_session(other)
            assert other.command("NOOP").code == 250
            other_done = time.monotonic() - sent
        reply = writer.read_reply()
        stored = time.monotonic() - sent
    assert reply.code == 250, str(reply)
    assert stored >= 2 * delay - 0.1, f"the shim did not slow fsync ({stored:.2f} s)"
    assert other_done < delay, f"the other session waited {other_done:.2f} s for the disk"
    assert len(list((maildir / "new").iterdir())) == 1
