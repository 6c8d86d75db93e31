"""Byte-level helpers for SMTP message text: dot-stuffing, the Received header, wire checks."""

import re

# A CR not followed by LF, or an LF not preceded by CR.
_BARE_LINE_ENDING = re.compile(rb"\r(?!\n)|(?<!\r)\n")


def dot_stuff(content: bytes) -> bytes:
    """RFC 5321 4.5.2: doubles the leading '.' of every CRLF line (content ends in CRLF)."""
    lines = content.split(b"\r\n")
    return b"\r\n".join(b"." + line if line.startswith(b".") else line for line in lines)


def dot_unstuff(wire: bytes) -> bytes:
    """The inverse of dot_stuff: removes one leading '.' from every CRLF line."""
    lines = wire.split(b"\r\n")
    return b"\r\n".join(line[1:] if line.startswith(b".") else line for line in lines)


def split_received(message: bytes) -> tuple[bytes, bytes]:
    """Splits off the first header, which must be Received:, with its continuation lines."""
    if not message.startswith(b"Received: "):
        raise AssertionError(f"message does not start with a Received header: {message[:80]!r}")
    lines = message.splitlines(keepends=True)
    end = len(lines[0])
    for line in lines[1:]:
        if not line.startswith((b" ", b"\t")):
            break
        end += len(line)
    return message[:end], message[end:]


def header_block(message: bytes) -> bytes:
    """The header section of a message: everything before the first empty line."""
    end = message.find(b"\r\n\r\n")
    return message if end < 0 else message[: end + 2]


def wire_problems(wire: bytes, max_line: int = 1000) -> list[str]:
    """What makes DATA bytes (dot-stuffed, before the final '.') not well-formed on the wire."""
    problems = []
    if _BARE_LINE_ENDING.search(wire):
        problems.append("bare CR or LF")
    if b"\x00" in wire:
        problems.append("NUL byte")
    if wire and not wire.endswith(b"\r\n"):
        problems.append("does not end with CRLF")
    for number, line in enumerate(wire.split(b"\r\n")[:-1], start=1):
        if line.startswith(b".") and not line.startswith(b".."):
            problems.append(f"line {number} starts with an unstuffed '.'")
        if len(line) + 2 > max_line:
            problems.append(f"line {number} is {len(line) + 2} octets")
    return problems


def envelope_address(argument: str) -> str:
    """The address in a MAIL FROM/RCPT TO argument: inside <...>, or the first word."""
    argument = argument.strip()
    if argument.startswith("<") and ">" in argument:
        return argument[1 : argument.index(">")]
    return argument.split(" ", 1)[0]
