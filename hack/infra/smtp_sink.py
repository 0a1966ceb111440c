"""SMTP sink for notification tests: accepts every message and stores it in a Maildir.

Each message lands as one file under <maildir>/new/ (written to tmp/ first, then renamed, so a
reader never sees half a message), with X-MailFrom/X-RcptTo/X-Peer headers recording the envelope.
Started and stopped by hack/infra.sh; run by hand with:
    .venv/bin/python hack/infra/smtp_sink.py --host 127.0.0.1 --port 11025 --maildir DIR
"""

from __future__ import annotations

import argparse
import asyncio
import signal
from pathlib import Path

from aiosmtpd.handlers import Mailbox
from aiosmtpd.smtp import SMTP


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=11025)
    parser.add_argument("--maildir", type=Path, required=True)
    return parser.parse_args()


async def serve(host: str, port: int, maildir: Path) -> None:
    # mailbox.Maildir creates tmp/new/cur only when the folder itself is missing.
    for sub in ("tmp", "new", "cur"):
        (maildir / sub).mkdir(parents=True, exist_ok=True)
    handler = Mailbox(maildir)
    loop = asyncio.get_running_loop()
    # Tests send large notification bodies now and then; 32 MiB is far above any of them.
    server = await loop.create_server(
        lambda: SMTP(handler, data_size_limit=32 * 1024 * 1024), host=host, port=port
    )
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    print(f"smtp sink listening on {host}:{port}, storing mail in {maildir}", flush=True)
    async with server:
        await stop.wait()
    print("smtp sink stopped", flush=True)


def main() -> None:
    args = parse_args()
    asyncio.run(serve(args.host, args.port, args.maildir))


if __name__ == "__main__":
    main()
