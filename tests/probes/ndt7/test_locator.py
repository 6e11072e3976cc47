import asyncio
import socket

from probes.ndt7 import spec
from probes.ndt7.client import ClientOptions
from probes.ndt7.locator import run_nearest
from probes.ndt7.servers import ServerEntry, ServerList, rank
from probes.ndt7.server import ServerConfig
from tests.helpers.ndt7 import server_thread

SERVERS = (
    ServerEntry(name="astana-kt", url="ws://a", region="astana", isp="Kazakhtelecom"),
    ServerEntry(name="almaty-ttc", url="ws://b", region="almaty", isp="Transtelecom"),
    ServerEntry(name="almaty-kt", url="ws://c", region="almaty", isp="Kazakhtelecom"),
    ServerEntry(name="shymkent", url="ws://d", region="shymkent"),
)


def test_servers_are_ranked_by_region_then_isp():
    assert [s.name for s in rank(SERVERS, "almaty", "Kazakhtelecom")] == [
        "almaty-kt", "almaty-ttc", "astana-kt", "shymkent"]
    assert [s.name for s in rank(SERVERS, "abai", "Kcell")] == ["astana-kt", "almaty-ttc", "almaty-kt", "shymkent"]


def test_a_busy_or_dead_server_falls_back_to_the_next_and_the_one_used_is_recorded():
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        dead_url = f"ws://127.0.0.1:{closed.getsockname()[1]}"

    async def scenario(busy_url, good_url):
        from websockets.asyncio.client import connect

        servers = ServerList(version="1", servers=(
            ServerEntry(name="dead", url=dead_url, region="almaty"),
            ServerEntry(name="busy", url=busy_url, region="almaty"),
            ServerEntry(name="good", url=good_url, region="abai"),
        ))
        # Hold the busy server's only slot with a test that does not read.
        async with connect(busy_url + spec.DOWNLOAD_PATH, subprotocols=[spec.SUBPROTOCOL]):
            return await run_nearest(servers, "almaty", "Kazakhtelecom", ClientOptions(max_bytes=1_000_000))

    with server_thread(ServerConfig(max_concurrent=1)) as busy, server_thread() as good:
        located = asyncio.run(scenario(busy.url, good.url))
    assert located.server.name == "good"
    assert [entry.name for entry, _ in located.refused] == ["dead", "busy"]
    assert "HTTP 503" in located.refused[1][1]
    assert all(result.server == good.url for result in located.results)
