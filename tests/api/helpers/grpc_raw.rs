//! gRPC calls whose message is raw bytes: whatever a test puts on the wire
//! goes out as the message (well-formed or not), and the answer's message
//! comes back unread.

use http::uri::PathAndQuery;
use prost::bytes::{Buf, BufMut, Bytes};
use tonic::client::Grpc;
use tonic::codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder};
use tonic::transport::Channel;
use tonic::{Request, Status};

/// Whether a method answers with one message or a stream of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answers {
    One,
    Stream,
}

/// Calls `path` with `request`'s bytes as the message. The outer error is a
/// connection that is gone; the inner result is the call's status (a stream
/// is dropped once its headers say it started).
pub async fn call_raw(
    channel: Channel,
    path: &'static str,
    answers: Answers,
    request: Request<Bytes>,
) -> Result<Result<(), Status>, tonic::transport::Error> {
    let mut grpc = Grpc::new(channel);
    grpc.ready().await?;
    let path = PathAndQuery::from_static(path);
    Ok(match answers {
        Answers::One => grpc.unary(request, path, RawCodec).await.map(drop),
        Answers::Stream => grpc
            .server_streaming(request, path, RawCodec)
            .await
            .map(drop),
    })
}

/// A codec that sends the bytes it is given and keeps the bytes it gets.
#[derive(Clone, Copy)]
struct RawCodec;

impl Codec for RawCodec {
    type Encode = Bytes;
    type Decode = Bytes;
    type Encoder = RawCodec;
    type Decoder = RawCodec;

    fn encoder(&mut self) -> RawCodec {
        RawCodec
    }

    fn decoder(&mut self) -> RawCodec {
        RawCodec
    }
}

impl Encoder for RawCodec {
    type Item = Bytes;
    type Error = Status;

    fn encode(&mut self, item: Bytes, dst: &mut EncodeBuf<'_>) -> Result<(), Status> {
        dst.put(item);
        Ok(())
    }
}

impl Decoder for RawCodec {
    type Item = Bytes;
    type Error = Status;

    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<Bytes>, Status> {
        Ok(Some(src.copy_to_bytes(src.remaining())))
    }
}
