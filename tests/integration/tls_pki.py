"""A throwaway test CA and certificates, made at test time with the openssl command line."""

import ssl
import subprocess
from dataclasses import dataclass
from pathlib import Path

OPENSSL_TIMEOUT = 30


@dataclass(frozen=True)
class Certificate:
    cert: Path
    key: Path


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True,
                   timeout=OPENSSL_TIMEOUT, stdin=subprocess.DEVNULL)


class TestPki:
    """A CA in `directory`, and leaf certificates it signs on demand."""

    __test__ = False  # not a pytest class

    def __init__(self, directory: Path, ca_name: str = "mailgate test CA"):
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)
        self.ca = Certificate(directory / f"{_slug(ca_name)}.pem",
                              directory / f"{_slug(ca_name)}.key")
        _openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                 "-nodes", "-keyout", str(self.ca.key), "-out", str(self.ca.cert), "-days", "3",
                 "-subj", f"/CN={ca_name}", "-addext", "basicConstraints=critical,CA:TRUE",
                 "-addext", "keyUsage=critical,keyCertSign,cRLSign", cwd=directory)
        self._serial = 1000

    def issue(self, common_name: str, dns: tuple = (), ips: tuple = (),
              file_stem: str = "") -> Certificate:
        """A certificate for common_name with these SANs (the CN alone when none is given)."""
        stem = file_stem or _slug(common_name)
        cert = Certificate(self.directory / f"{stem}.pem", self.directory / f"{stem}.key")
        csr = self.directory / f"{stem}.csr"
        _openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                 "-keyout", str(cert.key), "-out", str(csr), "-subj", f"/CN={common_name}",
                 cwd=self.directory)
        extensions = self.directory / f"{stem}.ext"
        sans = [f"DNS:{name}" for name in dns] + [f"IP:{ip}" for ip in ips]
        lines = ["basicConstraints=CA:FALSE", "keyUsage=digitalSignature",
                 "extendedKeyUsage=serverAuth"]
        if sans:
            lines.append("subjectAltName=" + ",".join(sans))
        extensions.write_text("\n".join(lines) + "\n", encoding="ascii")
        self._serial += 1
        _openssl("x509", "-req", "-in", str(csr), "-CA", str(self.ca.cert), "-CAkey",
                 str(self.ca.key), "-set_serial", str(self._serial), "-days", "2", "-out",
                 str(cert.cert), "-extfile", str(extensions), cwd=self.directory)
        return cert

    def client_context(self, check_hostname: bool = True) -> ssl.SSLContext:
        """A client context that trusts this CA only."""
        context = ssl.create_default_context(cafile=str(self.ca.cert))
        context.check_hostname = check_hostname
        return context


def server_context(certificate: Certificate) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(str(certificate.cert), str(certificate.key))
    return context


def peer_common_name(tls_socket) -> str:
    """The CN of the certificate the server presented (the socket must verify it)."""
    subject = dict(item[0] for item in tls_socket.getpeercert()["subject"])
    return subject["commonName"]


def _slug(name: str) -> str:
    return "".join(c if c.isalnum() else "-" for c in name)
