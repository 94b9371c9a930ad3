package tetragon

import (
	"google.golang.org/grpc/encoding"
	"google.golang.org/grpc/encoding/proto"
	"google.golang.org/grpc/mem"
)

// passthroughCodec marshals requests as real protobuf messages but hands each
// response over as its wire bytes, undecoded: the ingester publishes those
// bytes unchanged and reads only the id fields from them (eventid.FromBytes).
// Decoding a full GetEventsResponse (maps, nested processes, arguments) would
// cost more CPU than everything else on the hot path together.
//
// It is forced on the GetEvents call only (grpc.ForceCodecV2), never
// registered globally. Its name is "proto", so the content-type on the wire
// stays application/grpc+proto and any Tetragon server accepts the call.
type passthroughCodec struct {
	proto encoding.CodecV2
}

func newPassthroughCodec() passthroughCodec {
	return passthroughCodec{proto: encoding.GetCodecV2(proto.Name)}
}

func (c passthroughCodec) Name() string { return proto.Name }

func (c passthroughCodec) Marshal(v any) (mem.BufferSlice, error) {
	return c.proto.Marshal(v)
}

// Unmarshal copies the message into *[]byte: gRPC frees data when this
// returns, and the bytes must live until Kafka acknowledges them. One
// allocation of exactly the message's size is the only copy the ingester
// makes of an event.
func (c passthroughCodec) Unmarshal(data mem.BufferSlice, v any) error {
	if p, ok := v.(*[]byte); ok {
		*p = data.Materialize()
		return nil
	}
	return c.proto.Unmarshal(data, v)
}
