"""A DNS server stand-in on a loopback UDP port, answering MX queries from a table.

``mx`` maps a domain to its MX records (``(preference, exchange)``; ``[(0, ".")]`` is a null
MX), ``hosts`` names domains that exist with no MX record, ``servfail`` domains whose
lookups fail, and ``silent`` makes it read queries and never answer (for timeouts). Any
other name is NXDOMAIN. Every question it was asked is kept in ``questions``.
"""

import socket
import threading

import dns.flags
import dns.message
import dns.rcode
import dns.rdatatype
import dns.rrset


class DnsStandin:
    def __init__(self):
        self.mx: dict[str, list[tuple[int, str]]] = {}
        self.hosts: set[str] = set()
        self.servfail: set[str] = set()
        self.silent = False
        self.questions: list[tuple[str, str]] = []
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._socket.bind(("127.0.0.1", 0))
        self._socket.settimeout(0.05)
        self.port = self._socket.getsockname()[1]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self._socket.close()

    def _serve(self):
        while not self._stop.is_set():
            try:
                wire, peer = self._socket.recvfrom(4096)
            except TimeoutError:
                continue
            reply = self.answer(wire)
            if reply is not None:
                self._socket.sendto(reply, peer)

    def answer(self, wire: bytes) -> bytes | None:
        query = dns.message.from_wire(wire)
        question = query.question[0]
        name = question.name.to_text(omit_final_dot=True).lower()
        self.questions.append((name, dns.rdatatype.to_text(question.rdtype)))
        if self.silent:
            return None
        response = dns.message.make_response(query)
        response.flags |= dns.flags.RA
        if name in self.servfail:
            response.set_rcode(dns.rcode.SERVFAIL)
        elif name in self.mx and question.rdtype == dns.rdatatype.MX:
            records = [f"{pref} {host.rstrip('.')}." for pref, host in self.mx[name]]
            response.answer.append(dns.rrset.from_text(question.name, 300, "IN", "MX", *records))
        elif name not in self.mx and name not in self.hosts:
            response.set_rcode(dns.rcode.NXDOMAIN)
        return response.to_wire()
