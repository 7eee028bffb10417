"""A real SMTP server for the tests (Rust and browser): aiosmtpd's Controller on
127.0.0.1:PORT with a handler that decodes every message with Python's email package
(transfer encoding and charset undone) and appends it as one JSON line to OUT_PATH.
Prints "ready" once listening; stops when its standard input closes, so it never
outlives the test process that started it.

    python3 tests/smtp_sink.py OUT_PATH PORT
"""
import sys, json, email, email.policy
from aiosmtpd.controller import Controller

out_path, port = sys.argv[1], int(sys.argv[2])

class Handler:
    async def handle_DATA(self, server, session, envelope):
        raw = envelope.original_content or envelope.content
        if isinstance(raw, str):
            raw = raw.encode("utf-8")
        msg = email.message_from_bytes(raw, policy=email.policy.default)
        part = msg.get_body(preferencelist=("plain",)) if msg.is_multipart() else msg
        body = part.get_content() if part is not None else ""
        record = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": list(envelope.rcpt_tos),
            "from": str(msg.get("From", "")),
            "to": str(msg.get("To", "")),
            "subject": str(msg.get("Subject", "")),
            "transfer_encoding": str(msg.get("Content-Transfer-Encoding", "")),
            "body": body,
            "raw": raw.decode("utf-8", "replace"),
        }
        with open(out_path, "a", encoding="utf-8") as f:
            f.write(json.dumps(record) + "\n")
        return "250 Message accepted for delivery"

controller = Controller(Handler(), hostname="127.0.0.1", port=port)
controller.start()
print("ready", flush=True)
sys.stdin.read()
controller.stop()
