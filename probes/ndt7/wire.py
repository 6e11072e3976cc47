"""ndt7 measurement messages: the JSON text frames both sides may send (field names as in the spec)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from probes.ndt7.tcpinfo import KernelTcpInfo


class AppInfoData(BaseModel):
    """Application-level progress: µs since the handshake and payload bytes so far."""

    model_config = ConfigDict(extra="allow")
    ElapsedTime: int = Field(ge=0)
    NumBytes: int = Field(ge=0)


class ConnectionInfoData(BaseModel):
    """Who is talking: client and server addresses, and the test's UUID."""

    model_config = ConfigDict(extra="allow")
    Client: str = ""
    Server: str = ""
    UUID: str = ""


class TCPInfoData(BaseModel):
    """The sender's or receiver's kernel TCP_INFO, in bytes and µs, with ElapsedTime in µs."""

    model_config = ConfigDict(extra="allow")
    BusyTime: int | None = None
    BytesAcked: int | None = None
    BytesReceived: int | None = None
    BytesSent: int | None = None
    BytesRetrans: int | None = None
    ElapsedTime: int | None = None
    MinRTT: int | None = None
    RTT: int | None = None
    RTTVar: int | None = None
    RWndLimited: int | None = None
    SndBufLimited: int | None = None

    @classmethod
    def from_kernel(cls, info: KernelTcpInfo, elapsed_us: int) -> "TCPInfoData":
        """The spec's TCPInfo object from the kernel's figures."""
        return cls(BusyTime=info.busy_time, BytesAcked=info.bytes_acked, BytesReceived=info.bytes_received,
                   BytesSent=info.bytes_sent, BytesRetrans=info.bytes_retrans, ElapsedTime=elapsed_us,
                   MinRTT=info.min_rtt, RTT=info.rtt, RTTVar=info.rttvar, RWndLimited=info.rwnd_limited,
                   SndBufLimited=info.sndbuf_limited)


class BBRInfoData(BaseModel):
    """BBR's estimates where the sender runs BBR: bandwidth in bytes/s, MinRTT in µs."""

    model_config = ConfigDict(extra="allow")
    BW: int | None = None
    MinRTT: int | None = None


class Ndt7Measurement(BaseModel):
    """One ndt7 measurement message (the wire format; `core.measurement.Measurement` is our record)."""

    model_config = ConfigDict(extra="allow")
    AppInfo: AppInfoData | None = None
    ConnectionInfo: ConnectionInfoData | None = None
    Origin: str | None = Field(default=None, pattern="^(client|server)$")
    Test: str | None = Field(default=None, pattern="^(download|upload)$")
    TCPInfo: TCPInfoData | None = None
    BBRInfo: BBRInfoData | None = None

    def to_json(self) -> str:
        """The message as sent on the wire (fields left unset are omitted)."""
        return self.model_dump_json(exclude_none=True)


class MalformedMessage(ValueError):
    """A text frame that is not an ndt7 measurement message."""


def parse_message(text: str | bytes) -> Ndt7Measurement:
    """Parse a received text frame; raise MalformedMessage saying what was wrong."""
    try:
        return Ndt7Measurement.model_validate_json(text)
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        where = ".".join(str(p) for p in first["loc"]) or "message"
        raise MalformedMessage(f"{where}: {first['msg']}") from None
