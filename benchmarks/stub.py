"""A fast stand-in for an Auth0 tenant, for load benchmarks: a few microseconds per answer.

The test stand-in (tests.standins.auth0) checks every request the way Auth0 does, and costs
a thread and about a millisecond of CPU per request: under load it would measure itself.
This one speaks just enough HTTP/1.1 (keep-alive, Content-Length bodies) to answer the
client-credentials token request and ``GET /api/v2/users/{id}``, with canned JSON.

Run it on its own:  .venv/bin/python -m benchmarks.stub PORT
"""

import asyncio
import json
import sys

TOKEN = json.dumps(
    {"access_token": "bench-token", "token_type": "Bearer", "expires_in": 86400, "scope": ""}
).encode()
USER = json.dumps(
    {
        "user_id": "auth0|bench",
        "email": "ada@example.com",
        "name": "Ada",
        "app_metadata": {"plan": "pro"},
        "identities": [{"provider": "auth0", "user_id": "bench", "isSocial": False}],
    }
).encode()
NOT_FOUND = json.dumps(
    {"statusCode": 404, "error": "Not Found", "message": "Not found", "errorCode": "inexistent"}
).encode()


def _answer(method: str, path: str) -> tuple[int, bytes]:
    if method == "POST" and path == "/oauth/token":
        return 200, TOKEN
    if method == "GET" and path.startswith("/api/v2/users/"):
        return 200, USER
    return 404, NOT_FOUND


async def _serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            method, target, _ = lines[0].split(" ", 2)
            length = 0
            for line in lines[1:]:
                name, _, value = line.partition(":")
                if name.lower() == "content-length":
                    length = int(value)
            if length:
                await reader.readexactly(length)
            status, body = _answer(method, target.split("?", 1)[0])
            writer.write(
                b"HTTP/1.1 %d %s\r\ncontent-type: application/json\r\ncontent-length: %d\r\n\r\n"
                % (status, b"OK" if status == 200 else b"Not Found", len(body))
                + body
            )
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    finally:
        writer.close()


async def main(port: int) -> None:
    server = await asyncio.start_server(_serve, "127.0.0.1", port, backlog=1024)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1])))
