package commit

import "testing"

// BenchmarkTracker is one message through a tracker: delivered, then
// finished with up to 64 others in flight (out of order within a window).
func BenchmarkTracker(b *testing.B) {
	tr := NewTracker()
	b.ReportAllocs()
	for i := int64(0); i < int64(b.N); i++ {
		tr.Delivered(i + 1)
		if i >= 64 {
			// finish in a scrambled order inside the window
			tr.DoneAndForward(i-64+((i*7)%64)/64+1, func(int64) {})
			tr.Done(i - 63)
		}
	}
}
