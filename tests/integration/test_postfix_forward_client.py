"""A real Postfix that trusts mailgate with XCLIENT and XFORWARD (smtpd_authorized_xclient_hosts,
smtpd_authorized_xforward_hosts): Postfix's own Received header and log name the real client,
not mailgate. The client connects from 127.0.0.2, mailgate reaches Postfix from 127.0.0.1."""

import base64
import re
import subprocess

import pytest

from mailgate_process import smtp_backend
from postfix_instance import HOSTNAME as POSTFIX_HOSTNAME
from postfix_instance import running_postfix
from smtp_client import RawClient, open_session, send_message
from test_postfix_backend import IDEAL, SENDER, fields, message, named

CLIENT_IP = "127.0.0.2"
CLIENT_HELO = "client.example"
HELO_TO_BACKEND = "mailgate.test.example"
TRUST = """
smtpd_authorized_xclient_hosts = 127.0.0.1
smtpd_authorized_xforward_hosts = 127.0.0.1
smtpd_sasl_authenticated_header = yes
"""


@pytest.fixture(scope="module")
def postfix():
    yield from running_postfix(TRUST)


def deliver(port: int, subject: str) -> bytes:
    content, message_id = message(subject)
    with RawClient(port, source=CLIENT_IP, timeout=20) as client:
        open_session(client, CLIENT_HELO)
        reply = send_message(client, SENDER, [IDEAL], content)
        assert reply.code == 250, str(reply)
    return message_id


def test_xclient_client_in_postfix_received(start_gateway, postfix):
    """auto picks XCLIENT (Postfix offers both): Postfix's Received header shows the client's
    HELO name and address, as if the client had connected to Postfix itself."""
    gw = start_gateway(backend=smtp_backend(postfix.port, helo_name=HELO_TO_BACKEND,
                                            command_timeout="20s"))
    message_id = deliver(gw.port, "xclient")
    found, _ = fields(postfix.wait_for_message("ideal", message_id))
    postfix_received = named(found, "Received")[0]
    assert re.match(
        rf"from {re.escape(CLIENT_HELO)} \(unknown \[{re.escape(CLIENT_IP)}\]\)\n"
        rf"\tby {re.escape(POSTFIX_HOSTNAME)} \(Postfix\) with ESMTP id \w+", postfix_received
    ), postfix_received
    assert f"connect from unknown[{CLIENT_IP}]" in postfix.maillog_text()


def test_xforward_client_in_postfix_log(start_gateway, postfix):
    """forward_client: xforward: Postfix logs the forwarded client (XFORWARD only overrides
    logging attributes: Postfix's Received header still names mailgate)."""
    gw = start_gateway(backend=smtp_backend(postfix.port, helo_name=HELO_TO_BACKEND,
                                            command_timeout="20s", forward_client="xforward"))
    message_id = deliver(gw.port, "xforward")
    found, _ = fields(postfix.wait_for_message("ideal", message_id))
    queue_id = re.search(r" id (\w+)\n", named(found, "Received")[0]).group(1)
    # "client=unknown[127.0.0.1], orig_queue_id=<mailgate's transaction id>,
    # orig_client=unknown[127.0.0.2]"
    assert re.search(rf"{queue_id}: client=unknown\[127\.0\.0\.1\], orig_queue_id=\S+\.1, "
                     rf"orig_client=unknown\[{re.escape(CLIENT_IP)}\]",
                     postfix.maillog_text()), postfix.maillog_text()[-3000:]


def test_xclient_off_shows_mailgate(start_gateway, postfix):
    """forward_client: off: Postfix sees mailgate (127.0.0.1 and its HELO name)."""
    gw = start_gateway(backend=smtp_backend(postfix.port, helo_name=HELO_TO_BACKEND,
                                            command_timeout="20s", forward_client="off"))
    message_id = deliver(gw.port, "off")
    found, _ = fields(postfix.wait_for_message("ideal", message_id))
    postfix_received = named(found, "Received")[0]
    assert postfix_received.startswith(
        f"from {HELO_TO_BACKEND} (unknown [127.0.0.1])"), postfix_received


def test_xclient_forwards_the_auth_identity(start_gateway, postfix, tmp_path):
    """After AUTH at mailgate, XCLIENT LOGIN tells Postfix who the client is: Postfix's
    Received header names the authenticated sender."""
    password = "xclient-login-secret"
    sha512 = subprocess.run(["openssl", "passwd", "-6", password], check=True,
                            capture_output=True, text=True).stdout.strip()
    users = tmp_path / "users"
    users.write_text(f"alice:{sha512}\n", encoding="utf-8")
    gw = start_gateway(backend=smtp_backend(postfix.port, helo_name=HELO_TO_BACKEND,
                                            command_timeout="20s"),
                       auth={"users_file": str(users), "allow_plaintext": True,
                             "failure_delay": "0"})
    content, message_id = message("xclient login")
    credentials = base64.b64encode(f"\0alice\0{password}".encode()).decode()
    with RawClient(gw.port, source=CLIENT_IP, timeout=20) as client:
        open_session(client, CLIENT_HELO)
        assert client.command(f"AUTH PLAIN {credentials}").code == 235
        reply = send_message(client, SENDER, [IDEAL], content)
        assert reply.code == 250, str(reply)
    found, _ = fields(postfix.wait_for_message("ideal", message_id))
    postfix_received = named(found, "Received")[0]
    assert "(Authenticated sender: alice)" in postfix_received, postfix_received
    assert f"[{CLIENT_IP}]" in postfix_received, postfix_received
