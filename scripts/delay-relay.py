#!/usr/bin/env python3
"""Delays a host's TCP traffic by a fixed time in each direction: the partition harness's
stand-in for `tc netem delay`, which needs the kernel's sch_netem (the test machines have none).

`netns-cluster.sh delay RUN HOST MS` starts it inside HOST's network namespace and redirects the
host's outgoing TCP connections to it (nftables `redirect`, nat output hook). For each connection
it reads the destination the client asked for (SO_ORIGINAL_DST), waits the delay, connects there
with its own socket mark (which the redirect rule lets through), and relays both ways, handing
every chunk on `delay` after it arrived, in order. A reset on one side resets the other; an end
of stream is passed on after the data before it.

It ends by itself after --lifetime seconds, so that a test that died leaves nothing running, and
it never connects anywhere but where the host's own clients were going.
"""
import argparse
import asyncio
import socket
import struct
import sys
import time

SO_ORIGINAL_DST = 80  # linux/netfilter_ipv4.h
CONNECT_TIMEOUT = 10.0


def original_destination(connection):
    raw = connection.getsockopt(socket.SOL_IP, SO_ORIGINAL_DST, 16)
    port = struct.unpack_from("!H", raw, 2)[0]
    return socket.inet_ntoa(raw[4:8]), port


async def pump(reader, writer, delay):
    """Copies reader to writer, each chunk `delay` seconds after it was read."""
    queue = asyncio.Queue()

    async def read():
        try:
            while True:
                data = await reader.read(65536)
                queue.put_nowait((time.monotonic() + delay, data))
                if not data:
                    return
        except OSError:
            queue.put_nowait((time.monotonic() + delay, None))

    async def write():
        while True:
            due, data = await queue.get()
            wait = due - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            if data is None:
                writer.transport.abort()
                return
            if not data:
                if writer.can_write_eof():
                    writer.write_eof()
                return
            writer.write(data)
            await writer.drain()

    await asyncio.gather(read(), write())


async def relay(client_reader, client_writer, delay, mark):
    upstream_writer = None
    try:
        host, port = original_destination(client_writer.get_extra_info("socket"))
        await asyncio.sleep(delay)
        upstream = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        upstream.setsockopt(socket.SOL_SOCKET, socket.SO_MARK, mark)
        upstream.setblocking(False)
        loop = asyncio.get_running_loop()
        await asyncio.wait_for(loop.sock_connect(upstream, (host, port)), CONNECT_TIMEOUT)
        upstream_reader, upstream_writer = await asyncio.open_connection(sock=upstream)
        await asyncio.gather(pump(client_reader, upstream_writer, delay), pump(upstream_reader, client_writer, delay))
    except (OSError, asyncio.TimeoutError):
        pass
    finally:
        for writer in (client_writer, upstream_writer):
            if writer is not None:
                writer.transport.abort()


async def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True, help="port on 127.0.0.1 the redirect rule sends connections to")
    parser.add_argument("--delay-ms", type=int, required=True, help="delay of every chunk, each direction")
    parser.add_argument("--mark", type=lambda text: int(text, 0), required=True, help="socket mark of the relay's own connections")
    parser.add_argument("--lifetime", type=float, default=900, help="seconds after which the relay ends by itself")
    parser.add_argument("--ready-file", required=True, help="written once the relay listens")
    arguments = parser.parse_args()
    if not 0 <= arguments.delay_ms <= 10_000:
        parser.error("--delay-ms must be 0 to 10000")
    delay = arguments.delay_ms / 1000
    server = await asyncio.start_server(lambda r, w: relay(r, w, delay, arguments.mark), "127.0.0.1", arguments.port)
    with open(arguments.ready_file, "w") as ready:
        ready.write("%d\n" % arguments.port)
    async with server:
        try:
            await asyncio.wait_for(server.serve_forever(), arguments.lifetime)
        except asyncio.TimeoutError:
            pass


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        sys.exit(130)
