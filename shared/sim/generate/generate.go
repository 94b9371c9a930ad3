// Package generate produces a synthetic Tetragon event stream that looks
// like a real cluster's: every current event type, dominated by
// exec/exit/kprobe, from pods of well-known workloads and from the nodes'
// own processes, with parent processes, hook arguments, policies and a
// small share of enforcement actions.
//
// Content is reproducible from the seed; identities are not: exec_ids
// carry a per-start nonce and times follow the wall clock, strictly
// increasing per node, so two runs never produce the same event.
package generate

import (
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/cilium/tetragon/api/v1/tetragon"
	"google.golang.org/protobuf/encoding/protowire"

	"github.com/tetragon-fanout/tetragon-fanout/shared/eventtype"
	"github.com/tetragon-fanout/tetragon-fanout/shared/sim/source"
)

// Config shapes the simulated cluster.
type Config struct {
	Seed       int64
	Nodes      int
	Namespaces int
	Pods       int
	// Cluster fills cluster_name when set.
	Cluster string
	// Nonce goes into every exec_id; 0 picks a random one.
	Nonce uint32
	// Now is the wall clock; nil means time.Now.
	Now func() time.Time
	// RateLimitInfo puts rate_limit_info events in the mix. Off by
	// default: Tetragon writes them only to its JSON export file, never
	// to the gRPC stream (tetra getevents -o compact dies on one), so a
	// stream that stands for Tetragon's gRPC does not carry them. When
	// off, their share goes to process_kprobe.
	RateLimitInfo bool
}

// DefaultConfig is a small cluster: 3 nodes, 8 namespaces, 60 pods.
func DefaultConfig() Config {
	return Config{Seed: 1, Nodes: 3, Namespaces: 8, Pods: 60}
}

// Validate reports the first unusable setting.
func (c Config) Validate() error {
	switch {
	case c.Nodes < 1:
		return fmt.Errorf("nodes must be at least 1, got %d", c.Nodes)
	case c.Pods < 1:
		return fmt.Errorf("pods must be at least 1, got %d", c.Pods)
	case c.Namespaces < 1 || c.Namespaces > c.Pods:
		return fmt.Errorf("namespaces must be between 1 and the number of pods (%d), got %d", c.Pods, c.Namespaces)
	}
	return nil
}

type kind uint8

const (
	kExec kind = iota
	kExit
	kKprobe
	kTracepoint
	kLsm
	kLoader
	kUprobe
	kUsdt
	kThrottle
	kRateLimit
	numKinds
)

// The mix, per block of 200 events: every block holds exactly these counts
// in shuffled order, so any run of 200 events or more has every type, and
// execs equal exits so the process table stays bounded. Config.mix drops
// rate_limit_info unless asked for.
var mix = [numKinds]int{
	kExec: 44, kExit: 44, kKprobe: 80, kTracepoint: 8, kLsm: 6,
	kLoader: 6, kUprobe: 5, kUsdt: 3, kThrottle: 2, kRateLimit: 2,
}

// BlockSize is the period over which the type mix is exact.
const BlockSize = 200

var kindEnum = [numKinds]tetragon.EventType{
	kExec: tetragon.EventType_PROCESS_EXEC, kExit: tetragon.EventType_PROCESS_EXIT,
	kKprobe: tetragon.EventType_PROCESS_KPROBE, kTracepoint: tetragon.EventType_PROCESS_TRACEPOINT,
	kLsm: tetragon.EventType_PROCESS_LSM, kLoader: tetragon.EventType_PROCESS_LOADER,
	kUprobe: tetragon.EventType_PROCESS_UPROBE, kUsdt: tetragon.EventType_PROCESS_USDT,
	kThrottle: tetragon.EventType_PROCESS_THROTTLE, kRateLimit: tetragon.EventType_RATE_LIMIT_INFO,
}

var kindName = func() (n [numKinds]string) {
	for k, e := range kindEnum {
		n[k] = eventtype.FromFieldNumber(int32(e))
	}
	return n
}()

func (c Config) mix() [numKinds]int {
	m := mix
	if !c.RateLimitInfo {
		m[kKprobe] += m[kRateLimit]
		m[kRateLimit] = 0
	}
	return m
}

// Mix returns how many events of each type (our spelling) every block of
// BlockSize events holds with this configuration; types it never makes
// are absent.
func (c Config) Mix() map[string]int {
	m := make(map[string]int, numKinds)
	for k, n := range c.mix() {
		if n > 0 {
			m[kindName[k]] = n
		}
	}
	return m
}

// Generator is a source.Source. It is not safe for concurrent use.
type Generator struct {
	cfg   Config
	rng   *rand.Rand
	nonce uint32
	start int64

	nodes     []*node
	pods      []*pod
	active    procSet
	exitable  procSet
	killed    []*proc
	throttled []*pod

	mix   [numKinds]int
	block [BlockSize]kind
	pos   int

	exitTails []tail
	exitTable [100]uint8
	slab      []byte
}

// New builds the cluster and its initial processes.
func New(cfg Config) (*Generator, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	g := &Generator{
		cfg:      cfg,
		rng:      rand.New(rand.NewPCG(uint64(cfg.Seed), 0x7e7a60)),
		nonce:    cfg.Nonce,
		active:   procSet{slot: slotActive},
		exitable: procSet{slot: slotExitable},
		pos:      BlockSize,
		mix:      cfg.mix(),
	}
	if g.nonce == 0 {
		g.nonce = source.NewNonce()
	}
	g.start = g.now()
	g.buildWorld()
	g.buildExits()
	return g, nil
}

// Nonce is the identity nonce in this generator's exec_ids.
func (g *Generator) Nonce() uint32 { return g.nonce }

// Nodes lists the node names.
func (g *Generator) Nodes() []string {
	out := make([]string, len(g.nodes))
	for i, n := range g.nodes {
		out[i] = n.name
	}
	return out
}

func (g *Generator) now() int64 {
	if g.cfg.Now != nil {
		return g.cfg.Now().UnixNano()
	}
	return time.Now().UnixNano()
}

func timeOf(ns int64) time.Time { return time.Unix(0, ns).UTC() }

func (g *Generator) buildExits() {
	type ex struct {
		signal string
		status uint32
		w      int
	}
	exits := []ex{{"", 0, 78}, {"", 1, 12}, {"", 127, 3}, {"SIGTERM", 0, 4}, {"SIGKILL", 0, 3}}
	i := 0
	for j, e := range exits {
		g.exitTails = append(g.exitTails, tail{b: mustMarshal(&tetragon.ProcessExit{Signal: e.signal, Status: e.status})})
		for range e.w {
			g.exitTable[i] = uint8(j)
			i++
		}
	}
}

// Next returns the next event.
func (g *Generator) Next() (source.Event, error) {
	switch k := g.nextKind(); k {
	case kExec:
		return g.exec(), nil
	case kExit:
		return g.exit(), nil
	case kThrottle:
		return g.throttle(), nil
	case kRateLimit:
		return g.rateLimit(), nil
	default:
		return g.hook(k), nil
	}
}

func (g *Generator) nextKind() kind {
	if g.pos == BlockSize {
		i := 0
		for k, n := range g.mix {
			for range n {
				g.block[i] = kind(k)
				i++
			}
		}
		g.rng.Shuffle(BlockSize, func(i, j int) { g.block[i], g.block[j] = g.block[j], g.block[i] })
		g.pos = 0
	}
	k := g.block[g.pos]
	if k == kExit && len(g.exitable.items) == 0 {
		// Nothing can exit yet: swap with a later exec of this block so
		// the block's counts stay exact.
		k = kExec
		for j := g.pos + 1; j < BlockSize; j++ {
			if g.block[j] == kExec {
				g.block[j] = kExit
				break
			}
		}
	}
	g.pos++
	return k
}

func (p *proc) hooks() *hooks {
	if p.pod != nil {
		return p.pod.hooks
	}
	return p.node.hooks
}

func (g *Generator) exec() source.Event {
	var (
		parent *proc
		c      cmd
		spec   procSpec
	)
	if g.rng.IntN(100) < 85 {
		pd := g.pods[g.rng.IntN(len(g.pods))]
		a := pd.app
		spec = procSpec{node: pd.node, pod: pd, cwd: a.cwd, uid: a.uid, auid: 4294967295, initTree: 1}
		r := g.rng.IntN(100)
		if r < 6 || (len(a.children) == 0 && r < 50) {
			// kubectl exec: a shell under the shim, outside the init tree.
			parent, c, spec.initTree = pd.shim, cmd{"/bin/sh", ""}, 2
		} else {
			parent = pd.procs.pick(g.rng)
			if parent == nil || !(parent.shell || parent == pd.init) {
				parent = pd.init
			}
			switch {
			case parent.initTree == 2 || len(a.children) == 0:
				c, spec.initTree = shells[g.rng.IntN(len(shells))], parent.initTree
			default:
				c = a.children[g.rng.IntN(len(a.children))]
			}
		}
	} else {
		n := g.nodes[g.rng.IntN(len(g.nodes))]
		spec = procSpec{node: n, cwd: "/", auid: 4294967295}
		switch r := g.rng.IntN(100); {
		case r < 35:
			parent = n.daemons[1] // kubelet
		case r < 50:
			parent = n.daemons[0] // containerd
		case r < 60:
			parent = n.systemd
		case r < 70:
			parent = n.daemons[2] // sshd
		default:
			parent = n.host.pick(g.rng)
			if parent == nil || !parent.shell {
				parent = n.daemons[1]
			}
		}
		kids := hostChildren[parent.binary]
		c = kids[g.rng.IntN(len(kids))]
		if parent.shell || c.bin == "/usr/bin/bash" {
			spec.cwd, spec.uid, spec.auid = "/home/ops", 1000, 1000
		}
	}
	n := spec.node
	t := n.clock.Stamp(g.now())
	spec.parent, spec.cmd, spec.start = parent, c, t
	spec.flags = flagsFor(spec.cwd, "execve clone")
	p := g.newProc(spec)
	g.activate(p, true)
	return g.procEvent(kExec, p, p.pid, t, tail{}, false)
}

func (g *Generator) exit() source.Event {
	var p *proc
	tl := tail{}
	for len(g.killed) > 0 && p == nil {
		k := g.killed[len(g.killed)-1]
		g.killed = g.killed[:len(g.killed)-1]
		if k.slot[slotExitable] >= 0 {
			p, tl = k, g.exitTails[len(g.exitTails)-1] // SIGKILL
		}
	}
	if p == nil {
		p = g.exitable.pick(g.rng) // nextKind guarantees one exists
		tl = g.exitTails[g.exitTable[g.rng.IntN(100)]]
	}
	t := p.node.clock.Stamp(g.now())
	ev := g.procEvent(kExit, p, p.pid, t, tl, true)
	g.retire(p)
	return ev
}

func (g *Generator) hook(k kind) source.Event {
	p := g.active.pick(g.rng)
	h := p.hooks()
	var tl tail
	switch k {
	case kKprobe:
		if g.rng.IntN(100) < 3 {
			tl = h.kprobeEnforce[g.rng.IntN(len(h.kprobeEnforce))]
		} else {
			tl = h.kprobe[g.rng.IntN(len(h.kprobe))]
		}
	case kLsm:
		if g.rng.IntN(100) < 10 {
			tl = h.lsmEnforce[g.rng.IntN(len(h.lsmEnforce))]
		} else {
			tl = h.lsm[g.rng.IntN(len(h.lsm))]
		}
	case kTracepoint:
		tl = h.tracepoint[g.rng.IntN(len(h.tracepoint))]
	case kUprobe:
		tl = h.uprobe[g.rng.IntN(len(h.uprobe))]
	case kUsdt:
		tl = h.usdt[g.rng.IntN(len(h.usdt))]
	case kLoader:
		tl = h.loader[g.rng.IntN(len(h.loader))]
	}
	if tl.kill && !p.killed && p.slot[slotExitable] >= 0 {
		p.killed = true
		g.killed = append(g.killed, p)
	}
	tid := p.pid
	if p.threads && g.rng.IntN(100) < 40 {
		tid += 1 + uint32(g.rng.IntN(60))
	}
	t := p.node.clock.Stamp(g.now())
	return g.procEvent(k, p, tid, t, tl, false)
}

// procEvent encodes an event about process p: its body is process,
// parent, then the pre-encoded tail (loader: process, tail, parent; exit:
// then the exit time).
func (g *Generator) procEvent(k kind, p *proc, tid uint32, t int64, tl tail, exitTime bool) source.Event {
	oneof := protowire.Number(kindEnum[k])
	parentNum := protowire.Number(2)
	if k == kLoader {
		parentNum = 4
	}
	par := p.parent
	var ppid uint32
	if par != nil {
		ppid = par.pid
	}
	bodyLen := procFieldSize(1, p, tid) + procFieldSize(parentNum, par, ppid) + len(tl.b)
	if exitTime {
		bodyLen += tsFieldSize(5, t)
	}
	n := p.node
	b := g.alloc(protowire.SizeTag(oneof) + protowire.SizeBytes(bodyLen) + g.trailerSize(n, t))
	b = appendEnvelope(b, oneof, bodyLen)
	b = appendProc(b, 1, p, tid)
	if parentNum == 2 {
		b = appendProc(b, 2, par, ppid)
		b = append(b, tl.b...)
	} else {
		b = append(b, tl.b...)
		b = appendProc(b, 4, par, ppid)
	}
	if exitTime {
		b = appendTs(b, 5, t)
	}
	b = appendTrailer(b, n.name, t, g.cfg.Cluster)
	ev := source.Event{
		Bytes: b, Kind: kindEnum[k], Type: kindName[k], Node: n.name, Time: t,
		ExecID: p.execID, Tid: tid, HasProcess: true, Binary: p.binary, Policy: tl.policy,
	}
	if p.pod != nil {
		ev.HasPod, ev.Namespace, ev.Pod = true, p.pod.ns, p.pod.name
	}
	return ev
}

// alloc returns an empty slice with capacity n, carved from a slab: one
// allocation per ~40 events instead of one each, which halves the
// generator's allocator and GC cost. A slab is freed once every event cut
// from it is. Capacity is exact, so appending past it cannot spill into
// the next event.
func (g *Generator) alloc(n int) []byte {
	if n > slabSize/4 {
		return make([]byte, 0, n)
	}
	if len(g.slab)+n > cap(g.slab) {
		g.slab = make([]byte, 0, slabSize)
	}
	off := len(g.slab)
	g.slab = g.slab[:off+n]
	return g.slab[off : off : off+n]
}

const slabSize = 64 << 10

func (g *Generator) trailerSize(n *node, t int64) int {
	s := protowire.SizeTag(fieldNodeName) + protowire.SizeBytes(len(n.name)) + tsFieldSize(fieldTime, t)
	if g.cfg.Cluster != "" {
		s += protowire.SizeTag(fieldClusterName) + protowire.SizeBytes(len(g.cfg.Cluster))
	}
	return s
}

// bare encodes an event with no process (throttle, rate_limit_info).
func (g *Generator) bare(k kind, n *node, body []byte) source.Event {
	oneof := protowire.Number(kindEnum[k])
	t := n.clock.Stamp(g.now())
	b := g.alloc(protowire.SizeTag(oneof) + protowire.SizeBytes(len(body)) + g.trailerSize(n, t))
	b = appendEnvelope(b, oneof, len(body))
	b = append(b, body...)
	b = appendTrailer(b, n.name, t, g.cfg.Cluster)
	return source.Event{Bytes: b, Kind: kindEnum[k], Type: kindName[k], Node: n.name, Time: t}
}

func (g *Generator) throttle() source.Event {
	if len(g.throttled) > 0 && (g.rng.IntN(2) == 0 || len(g.throttled) == len(g.pods)) {
		i := g.rng.IntN(len(g.throttled))
		pd := g.throttled[i]
		g.throttled[i] = g.throttled[len(g.throttled)-1]
		g.throttled = g.throttled[:len(g.throttled)-1]
		pd.throttled = false
		return g.bare(kThrottle, pd.node, pd.throttle[1].b)
	}
	pd := g.pods[g.rng.IntN(len(g.pods))]
	for pd.throttled {
		pd = g.pods[g.rng.IntN(len(g.pods))]
	}
	pd.throttled = true
	g.throttled = append(g.throttled, pd)
	return g.bare(kThrottle, pd.node, pd.throttle[0].b)
}

func (g *Generator) rateLimit() source.Event {
	n := g.nodes[g.rng.IntN(len(g.nodes))]
	var body [12]byte
	b := protowire.AppendTag(body[:0], 1, protowire.VarintType)
	b = protowire.AppendVarint(b, uint64(1+g.rng.IntN(5000)))
	return g.bare(kRateLimit, n, b)
}
