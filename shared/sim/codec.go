package sim

import (
	"google.golang.org/grpc/encoding"
	_ "google.golang.org/grpc/encoding/proto" // registers the "proto" codec we delegate to
	"google.golang.org/grpc/mem"
)

// rawCodec lets the server send pre-encoded events: a *frame is written as
// its bytes, shared by every client, so sending costs a queue push and a
// write, never a marshal. Everything else (requests, the unary RPCs) goes
// through the standard proto codec. Installed with grpc.ForceServerCodecV2,
// and named "proto" so clients see the content-type they expect.
type rawCodec struct{ proto encoding.CodecV2 }

func newRawCodec() rawCodec { return rawCodec{proto: encoding.GetCodecV2("proto")} }

func (c rawCodec) Marshal(v any) (mem.BufferSlice, error) {
	if f, ok := v.(*frame); ok {
		// SliceBuffer's Free is a no-op: gRPC cannot recycle shared bytes.
		return mem.BufferSlice{mem.SliceBuffer(f.ev.Bytes)}, nil
	}
	return c.proto.Marshal(v)
}

func (c rawCodec) Unmarshal(data mem.BufferSlice, v any) error { return c.proto.Unmarshal(data, v) }

func (rawCodec) Name() string { return "proto" }
