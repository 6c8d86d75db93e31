"""The embedded maildir backend stores each accepted message as one file in new/."""

from smtp_client import RawClient, open_session, send_message
from smtp_text import split_received

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
