package tetragon

import "testing"

func TestDirtyPoolSizes(t *testing.T) {
	var p dirtyPool
	for _, n := range []int{0, 1, 256, 257, 4096, 4097, 16 << 10, 1 << 20, 1<<20 + 1, 5 << 20} {
		b := p.Get(n)
		if len(*b) != n || cap(*b) < n {
			t.Fatalf("Get(%d): len %d cap %d", n, len(*b), cap(*b))
		}
		p.Put(b)
		again := p.Get(n)
		if len(*again) != n {
			t.Fatalf("Get(%d) after Put: len %d", n, len(*again))
		}
	}
	// A buffer that is not a tier size is never pooled (it could be too
	// small for the next Get of its tier).
	odd := make([]byte, 3000)
	p.Put(&odd)
	if b := p.Get(4000); cap(*b) < 4000 {
		t.Fatalf("Get(4000) returned cap %d", cap(*b))
	}
}
