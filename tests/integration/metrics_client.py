"""Reads the metrics endpoint over HTTP and parses the Prometheus text format 0.0.4."""

import http.client
import re

_SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$')
_LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"(,|$)')


def http_get(port: int, path: str, method: str = "GET", timeout: float = 5.0):
    """(status, headers dict with lowercase names, body text) of one request."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        connection.request(method, path)
        response = connection.getresponse()
        body = response.read().decode("utf-8")
        headers = {name.lower(): value for name, value in response.getheaders()}
        return response.status, headers, body
    finally:
        connection.close()


def parse_labels(text: str) -> dict:
    labels = {}
    position = 0
    while position < len(text):
        match = _LABEL.match(text, position)
        assert match, f"bad labels: {text!r}"
        labels[match.group(1)] = match.group(2)
        position = match.end()
    return labels


def parse_metrics(text: str) -> dict:
    """{(name, frozenset(labels.items())): value}; checks HELP and TYPE precede each family."""
    samples = {}
    typed = {}
    for line in text.splitlines():
        if line.startswith("# HELP "):
            continue
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split(" ", 3)
            assert kind in ("counter", "gauge", "histogram"), line
            typed[name] = kind
            continue
        match = _SAMPLE.match(line)
        assert match, f"not a sample line: {line!r}"
        name, _, labels, value = match.groups()
        family = re.sub(r"_(bucket|sum|count)$", "", name) if name not in typed else name
        assert family in typed, f"{name} has no # TYPE line"
        key = (name, frozenset(parse_labels(labels or "").items()))
        assert key not in samples, f"duplicate sample {line!r}"
        samples[key] = float(value)
    return samples


def value(samples: dict, name: str, **labels) -> float:
    """One sample's value; 0 when the series is absent (series appear at their first event)."""
    return samples.get((name, frozenset(labels.items())), 0.0)


def scrape(port: int) -> dict:
    status, headers, body = http_get(port, "/metrics")
    assert status == 200, body
    assert headers["content-type"].startswith("text/plain; version=0.0.4"), headers
    return parse_metrics(body)
