package eventid

import (
	"testing"

	"github.com/cilium/tetragon/api/v1/tetragon"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

func protoreflectName(s string) protoreflect.Name { return protoreflect.Name(s) }

// checkInvariant is what FuzzFromBytes asserts on any input:
//   - FromBytes never panics and is deterministic;
//   - when proto.Unmarshal accepts raw, FromBytes accepts it too and equals
//     FromResponse of the result, also after re-marshalling it; the node
//     and type agree.
//
// The converse does not hold and is not tested: FromBytes accepts bytes that
// proto.Unmarshal rejects (invalid UTF-8 in strings, broken fields it skips
// without looking inside).
func checkInvariant(t *testing.T, raw []byte) {
	t.Helper()
	id, info, err := FromBytes(raw)
	id2, _, err2 := FromBytes(raw)
	if id != id2 || (err == nil) != (err2 == nil) {
		t.Fatal("FromBytes is not deterministic")
	}
	if err == nil && id.IsZero() {
		t.Fatal("zero id without error")
	}
	var ev tetragon.GetEventsResponse
	if proto.Unmarshal(raw, &ev) != nil {
		return
	}
	if err != nil {
		t.Fatalf("proto.Unmarshal accepts %x, FromBytes says %v", raw, err)
	}
	if want := FromResponse(&ev); id != want {
		t.Fatalf("%x: FromBytes %s, FromResponse %s", raw, id, want)
	}
	if string(info.Node) != ev.GetNodeName() {
		t.Fatalf("%x: node %q, want %q", raw, info.Node, ev.GetNodeName())
	}
	if typ := typeOf(&ev); typ != 0 && typ != info.Type {
		t.Fatalf("%x: type %d, want %d", raw, info.Type, typ)
	}
	again, err := proto.Marshal(&ev)
	if err != nil {
		t.Fatal(err)
	}
	if id3, _, err := FromBytes(again); err != nil || id3 != id {
		t.Fatalf("%x: re-marshalled id %s (%v), want %s", raw, id3, err, id)
	}
}

func FuzzFromBytes(f *testing.F) {
	for _, fx := range loadFixtures(f) {
		f.Add(mustMarshal(f, fx.ev, true))
	}
	g := newGen(4)
	for _, typ := range knownTypes {
		f.Add(mustMarshal(f, g.event(typ), false))
	}
	f.Add([]byte{})
	f.Add([]byte{0xf2, 0x01, 0x02, 0x0a, 0x00}) // unknown type 30
	f.Fuzz(checkInvariant)
}
