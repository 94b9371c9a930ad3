package eventtype

import "testing"

func BenchmarkOf(b *testing.B) {
	r := withEvent(ByNumber(9))
	for b.Loop() {
		_ = Of(r)
	}
}

func BenchmarkParts(b *testing.B) {
	t := ByNumber(9)
	r := withEvent(t)
	for b.Loop() {
		_ = t.Parts(r)
	}
}
