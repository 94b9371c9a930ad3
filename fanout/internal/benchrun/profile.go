package main

import (
	"fmt"
	"os/exec"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/tetragon-fanout/tetragon-fanout/fanout/dedup"
)

// Profile is one saved profile and what report shows of it.
type Profile struct {
	Name, Kind, Binary, File, Base string
	Seconds                        float64
	// Events processed while the allocation window was open.
	Events float64
	// Top is `go tool pprof -top` (flat), trimmed.
	Top string
	// Areas is the flat share by area (sarama, goka, compression, GC ...),
	// which says what bounds the hot path.
	Areas []Area
	// Stages is the cumulative share of the hot path's stages.
	Stages []Area
}

// stages are the frames whose cumulative share tells where a hot path's
// CPU goes, by the name report shows.
var stages = []struct{ name, fn string }{
	{"sarama: produce request encoding (incl. compression)", "github.com/IBM/sarama.encode"},
	{"zstd compression", "github.com/klauspost/compress/zstd.(*Encoder).EncodeAll"},
	{"sarama: fetch decoding (incl. decompression)", "github.com/IBM/sarama.(*FetchResponse).decode"},
	{"gRPC: receiving events", "google.golang.org/grpc.(*clientStream).RecvMsg"},
	{"ingester: receive path (event id, queue)", "github.com/tetragon-fanout/tetragon-fanout/ingester/pipeline.(*Pipeline).onEvent"},
	{"ingester: publisher loop", "github.com/tetragon-fanout/tetragon-fanout/ingester/publish.(*Publisher).sendLoop"},
	{"fanout: the callback (dedup, decode, route, JSON)", "github.com/tetragon-fanout/tetragon-fanout/fanout/processor.(*Pipeline).Process"},
	{"fanout: decode", "github.com/tetragon-fanout/tetragon-fanout/fanout/normalize.(*Decoder).Decode"},
	{"fanout: JSON", "github.com/tetragon-fanout/tetragon-fanout/fanout/normalize.Append"},
	{"goka: table write", "github.com/lovoo/goka.(*cbContext).SetValue"},
	{"memory allocation (mallocgc)", "runtime.mallocgc"},
	{"GC background marking", "runtime.gcBgMarkWorker"},
}

// Area is a share of a profile.
type Area struct {
	Name  string
	Share float64 // percent of the profile total
}

func analyzeProfiles(profiles []*Profile) {
	for _, p := range profiles {
		args := []string{"tool", "pprof", "-top", "-nodecount=100000"}
		if p.Kind != "cpu" {
			args = append(args, "-sample_index="+p.Kind)
			if p.Base != "" {
				args = append(args, "-base", p.Base)
			}
		}
		args = append(args, p.Binary, p.File)
		out, err := exec.Command("go", args...).Output()
		if err != nil {
			logf("pprof %s %s: %v", p.Name, p.Kind, err)
			continue
		}
		p.Top, p.Areas = summarizeTop(string(out), 22)
		if p.Kind == "cpu" {
			out, err := exec.Command("go", "tool", "pprof", "-top", "-cum", "-nodecount=100000", p.Binary, p.File).Output()
			if err == nil {
				p.Stages = cumStages(string(out))
			}
		}
	}
}

// cumStages picks the stages' cumulative shares out of a -top -cum listing.
func cumStages(out string) []Area {
	cum := map[string]float64{}
	for _, l := range strings.Split(out, "\n") {
		f := strings.Fields(l)
		if len(f) < 6 {
			continue
		}
		if v, err := strconv.ParseFloat(strings.TrimSuffix(f[4], "%"), 64); err == nil {
			cum[strings.Join(f[5:], " ")] = v
		}
	}
	var as []Area
	for _, st := range stages {
		if v, ok := cum[st.fn]; ok && v >= 0.5 {
			as = append(as, Area{st.name, v})
		}
	}
	return as
}

// summarizeTop keeps the header and the first n rows of a -top listing and
// adds up flat shares by area.
func summarizeTop(out string, n int) (string, []Area) {
	lines := strings.Split(out, "\n")
	var keep []string
	areas := map[string]float64{}
	rows := 0
	inTable := false
	for _, l := range lines {
		if strings.HasPrefix(strings.TrimSpace(l), "flat") {
			inTable = true
			keep = append(keep, l)
			continue
		}
		if !inTable {
			if strings.HasPrefix(l, "Showing") || strings.HasPrefix(l, "Type:") || strings.HasPrefix(l, "Duration:") {
				keep = append(keep, l)
			}
			continue
		}
		f := strings.Fields(l)
		if len(f) < 6 {
			continue
		}
		if rows < n {
			keep = append(keep, l)
		}
		rows++
		pct, err := strconv.ParseFloat(strings.TrimSuffix(f[1], "%"), 64)
		if err != nil {
			continue
		}
		areas[area(strings.Join(f[5:], " "))] += pct
	}
	var as []Area
	for k, v := range areas {
		as = append(as, Area{k, v})
	}
	sort.Slice(as, func(i, j int) bool { return as[i].Share > as[j].Share })
	return strings.Join(keep, "\n"), as
}

// area names the part of the program a function belongs to.
func area(fn string) string {
	switch {
	case strings.Contains(fn, "tetragon-fanout/tetragon-fanout/"):
		return "ours (tetragon-fanout)"
	case strings.Contains(fn, "IBM/sarama"):
		return "sarama (Kafka client)"
	case strings.Contains(fn, "lovoo/goka"):
		return "goka"
	case strings.Contains(fn, "klauspost/compress"), strings.Contains(fn, "pierrec/lz4"), strings.Contains(fn, "golang/snappy"),
		strings.Contains(fn, "eapache/go-xerial-snappy"), strings.HasPrefix(fn, "compress/"), strings.HasPrefix(fn, "hash/crc32"):
		return "compression, CRC"
	case strings.Contains(fn, "syndtr/goleveldb"):
		return "goleveldb"
	case strings.Contains(fn, "google.golang.org/grpc"), strings.Contains(fn, "golang.org/x/net/http2"):
		return "gRPC, HTTP/2"
	case strings.Contains(fn, "google.golang.org/protobuf"), strings.Contains(fn, "cilium/tetragon"):
		return "protobuf"
	case strings.Contains(fn, "prometheus"):
		return "prometheus client"
	case strings.HasPrefix(fn, "runtime.memmove"), strings.HasPrefix(fn, "runtime.memclrNoHeapPointers"):
		return "runtime: memmove, memclr (copying, zeroing buffers)"
	case strings.HasPrefix(fn, "runtime.asyncPreempt"):
		return "runtime: asyncPreempt (preempted: CPU contention)"
	case strings.HasPrefix(fn, "runtime.map"), strings.HasPrefix(fn, "internal/runtime/maps"), strings.HasPrefix(fn, "aeshash"):
		return "Go maps"
	case strings.HasPrefix(fn, "runtime.findObject"), strings.HasPrefix(fn, "runtime.nextFreeFast"), strings.HasPrefix(fn, "runtime.heapBits"),
		strings.HasPrefix(fn, "runtime.spanOf"), strings.HasPrefix(fn, "runtime.(*mspan)"), strings.HasPrefix(fn, "runtime.(*spanSet)"),
		strings.HasPrefix(fn, "runtime.gcStart"), strings.HasPrefix(fn, "runtime.gcBits"), strings.HasPrefix(fn, "runtime.(*gcControllerState)"):
		return "runtime: allocation and GC"
	case strings.HasPrefix(fn, "runtime.gcBgMarkWorker"), strings.HasPrefix(fn, "runtime.gcDrain"), strings.HasPrefix(fn, "runtime.scanobject"),
		strings.HasPrefix(fn, "runtime.greyobject"), strings.HasPrefix(fn, "runtime.markBits"), strings.HasPrefix(fn, "runtime.findObject"),
		strings.HasPrefix(fn, "runtime.(*gcWork)"), strings.HasPrefix(fn, "runtime.(*mspan)"), strings.HasPrefix(fn, "runtime.sweepone"),
		strings.HasPrefix(fn, "runtime.(*sweepLocked)"), strings.HasPrefix(fn, "runtime.bgsweep"), strings.HasPrefix(fn, "runtime.wbBuf"),
		strings.HasPrefix(fn, "runtime.gcmarknewobject"), strings.HasPrefix(fn, "runtime.(*gcBits)"), strings.HasPrefix(fn, "runtime.scanblock"),
		strings.HasPrefix(fn, "runtime.markroot"), strings.HasPrefix(fn, "runtime.bulkBarrierPreWrite"), strings.HasPrefix(fn, "runtime.typePointers"),
		strings.HasPrefix(fn, "runtime.(*mheap)"), strings.HasPrefix(fn, "runtime.(*mcentral)"), strings.HasPrefix(fn, "runtime.(*mcache)"),
		strings.HasPrefix(fn, "runtime.mallocgc"), strings.HasPrefix(fn, "runtime.newobject"),
		strings.HasPrefix(fn, "runtime.makeslice"), strings.HasPrefix(fn, "runtime.growslice"), strings.HasPrefix(fn, "runtime.heapSetType"),
		strings.HasPrefix(fn, "runtime.nextFreeFast"), strings.HasPrefix(fn, "runtime.(*consistentHeapStats)"), strings.HasPrefix(fn, "runtime.publicationBarrier"),
		strings.HasPrefix(fn, "runtime.tryDeferToSpanScan"), strings.HasPrefix(fn, "runtime.(*spanInlineMarkBits)"), strings.HasPrefix(fn, "runtime.scanSpan"),
		strings.HasPrefix(fn, "runtime.scanObjectsSmall"), strings.HasPrefix(fn, "runtime.(*spanQueue)"), strings.HasPrefix(fn, "runtime.mallocgcSmall"),
		strings.HasPrefix(fn, "runtime.mallocgcTiny"), strings.HasPrefix(fn, "runtime.mallocgcLarge"), strings.HasPrefix(fn, "runtime.(*gcControllerState)"),
		strings.HasPrefix(fn, "runtime.gcAssist"), strings.HasPrefix(fn, "runtime.deductAssistCredit"):
		return "runtime: allocation and GC"
	case strings.HasPrefix(fn, "syscall."), strings.HasPrefix(fn, "internal/runtime/syscall"), strings.HasPrefix(fn, "internal/poll"),
		strings.HasPrefix(fn, "runtime.netpoll"), strings.HasPrefix(fn, "runtime/internal/syscall"), strings.HasPrefix(fn, "net."),
		strings.HasPrefix(fn, "runtime.epoll"), strings.HasPrefix(fn, "runtime.write1"), strings.HasPrefix(fn, "runtime.read"):
		return "syscalls, network"
	case strings.HasPrefix(fn, "runtime."), strings.HasPrefix(fn, "internal/runtime"), strings.HasPrefix(fn, "sync."),
		strings.HasPrefix(fn, "internal/sync"), strings.HasPrefix(fn, "sync/atomic"), strings.HasPrefix(fn, "gcWriteBarrier"):
		return "runtime: scheduler, channels, locks"
	case strings.HasPrefix(fn, "time."), strings.HasPrefix(fn, "strconv."), strings.HasPrefix(fn, "strings."), strings.HasPrefix(fn, "bytes."),
		strings.HasPrefix(fn, "fmt."), strings.HasPrefix(fn, "sort."), strings.HasPrefix(fn, "encoding/"), strings.HasPrefix(fn, "math/"),
		strings.HasPrefix(fn, "bufio."), strings.HasPrefix(fn, "unicode/"), strings.HasPrefix(fn, "slices."), strings.HasPrefix(fn, "maps."),
		strings.HasPrefix(fn, "context."), strings.HasPrefix(fn, "reflect."), strings.HasPrefix(fn, "io."), strings.HasPrefix(fn, "internal/"),
		strings.HasPrefix(fn, "aeshash"), strings.HasPrefix(fn, "memeqbody"), strings.HasPrefix(fn, "indexbytebody"):
		return "Go standard library"
	}
	return "other"
}

// tableMemory is the memory table's heap per entry, measured in this
// process: n event-id keys with first-seen values through the store's
// own Set (map, expiry FIFO, key string, value).
func tableMemory(n int) float64 {
	s, err := dedup.NewStore(dedup.StoreOptions{Window: time.Hour, Kind: dedup.Memory})
	if err != nil {
		return 0
	}
	st, err := s.Builder()("t", 0)
	if err != nil || st.Open() != nil {
		return 0
	}
	var m0, m1 runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&m0)
	now := time.Now().UnixNano()
	for i := range n {
		key := fmt.Sprintf("%016x%016x", uint64(i)*0x9e3779b97f4a7c15, uint64(i))
		_ = st.Set(key, dedup.AppendEntry(nil, &dedup.Entry{Partition: 3, Offset: int64(i), SeenNS: now}))
	}
	runtime.GC()
	runtime.ReadMemStats(&m1)
	runtime.KeepAlive(st)
	return float64(m1.HeapAlloc-m0.HeapAlloc) / float64(n)
}
