package processor

import (
	"sort"
	"testing"
)

// The end-to-end histogram must resolve the p99/p999 the latency target is
// about: between 5 ms and 1 s no bucket is more than 1.5x the one before.
func TestEndToEndBucketsResolveTail(t *testing.T) {
	b := endToEndBuckets
	if !sort.Float64sAreSorted(b) {
		t.Fatalf("buckets not sorted: %v", b)
	}
	if b[0] > .001 || b[len(b)-1] < 60 {
		t.Errorf("buckets %v do not span 1 ms .. 60 s", b)
	}
	for i := 1; i < len(b); i++ {
		if b[i-1] >= .005 && b[i] <= 1 && b[i]/b[i-1] > 1.5 {
			t.Errorf("bucket %g follows %g: %.2fx, want at most 1.5x in 5 ms .. 1 s", b[i], b[i-1], b[i]/b[i-1])
		}
	}
}
