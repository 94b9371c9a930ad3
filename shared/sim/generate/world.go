package generate

import (
	"crypto/sha1"
	"fmt"
	"math/rand/v2"
	"strings"

	"github.com/cilium/tetragon/api/v1/tetragon"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/tetragon-fanout/tetragon-fanout/shared/sim/source"
)

// The world: nodes, pods and live processes. Everything drawn from the
// seeded rng is content; only exec_ids (nonce) and times (clock) are not.

type node struct {
	idx     int
	name    string
	ip      string
	clock   source.NodeClock
	seq     uint64 // ktime sequence for exec_ids
	nextPid uint32
	systemd *proc
	daemons []*proc // containerd, kubelet, sshd: long-lived spawners
	host    procSet // host processes that can spawn or fire hooks
	hooks   *hooks
	pods    []*pod
}

type pod struct {
	idx       int
	node      *node
	app       *app
	ns        string
	name      string
	uid       string
	workload  string
	labels    map[string]string
	cid       string // full container id
	image     *tetragon.Image
	cstart    *timestamppb.Timestamp
	ip        string
	shim      *proc
	init      *proc
	procs     procSet
	nextCPid  uint32
	hooks     *hooks
	wire      podWire
	throttle  [2]tail // start, stop
	throttled bool
}

type proc struct {
	execID  string
	pid     uint32
	binary  string
	node    *node
	pod     *pod
	parent  *proc
	threads bool
	shell   bool
	killed  bool
	// initTree: 0 host, 1 descends from the container's init, 2 entered
	// from outside (kubectl exec).
	initTree int8
	pre      []byte // Process fields 1..15
	post     []byte // fields after tid (in_init_tree)
	slot     [numSlots]int
}

// hooks are the pre-encoded type-specific bodies a pod (or a node's host
// processes) produces.
type hooks struct {
	kprobe, kprobeEnforce []tail
	lsm, lsmEnforce       []tail
	tracepoint            []tail
	uprobe, usdt, loader  []tail
}

type tail struct {
	b      []byte
	policy string
	kill   bool // SIGKILL enforcement: the process exits next
}

// procSet is an unordered set with O(1) add, remove and random pick; a
// process knows its position in each set it belongs to.
const (
	slotActive = iota // fires hook events
	slotExitable
	slotLocal // its pod's (or its node's host) set
	numSlots
)

type procSet struct {
	slot  int
	items []*proc
}

func (s *procSet) add(p *proc) {
	p.slot[s.slot] = len(s.items)
	s.items = append(s.items, p)
}

func (s *procSet) remove(p *proc) {
	i := p.slot[s.slot]
	if i < 0 {
		return
	}
	last := s.items[len(s.items)-1]
	s.items[i] = last
	last.slot[s.slot] = i
	s.items[len(s.items)-1] = nil
	s.items = s.items[:len(s.items)-1]
	p.slot[s.slot] = -1
}

func (s *procSet) pick(r *rand.Rand) *proc {
	if len(s.items) == 0 {
		return nil
	}
	return s.items[r.IntN(len(s.items))]
}

const alnum = "bcdfghjklmnpqrstvwxz2456789"

func (g *Generator) word(n int, alphabet string) string {
	var sb strings.Builder
	for range n {
		sb.WriteByte(alphabet[g.rng.IntN(len(alphabet))])
	}
	return sb.String()
}

func (g *Generator) hex(n int) string { return g.word(n, "0123456789abcdef") }

func (g *Generator) uuid() string {
	h := g.hex(32)
	return h[0:8] + "-" + h[8:12] + "-4" + h[13:16] + "-a" + h[17:20] + "-" + h[20:32]
}

func (g *Generator) buildWorld() {
	pool := g.hex(8)
	for i := range g.cfg.Nodes {
		n := &node{
			idx:     i,
			name:    fmt.Sprintf("gke-prod-default-pool-%s-%s", pool, g.word(4, alnum)),
			ip:      fmt.Sprintf("10.0.%d.%d", i/250, 10+i%250),
			nextPid: 2000 + uint32(g.rng.IntN(30000)),
			host:    procSet{slot: slotLocal},
		}
		g.nodes = append(g.nodes, n)
		g.buildHost(n)
	}
	g.buildPods()
}

func (g *Generator) buildHost(n *node) {
	boot := g.start - int64(3600+g.rng.IntN(30*86400))*1e9
	n.systemd = g.newProc(procSpec{node: n, cmd: cmd{"/usr/lib/systemd/systemd", "--switched-root --system --deserialize 31"},
		cwd: "/", start: boot, flags: "procFS auid rootcwd", auid: 4294967295, pid: 1})
	for _, c := range []cmd{
		{"/usr/bin/containerd", ""},
		{"/usr/bin/kubelet", "--config=/var/lib/kubelet/config.yaml --kubeconfig=/etc/kubernetes/kubelet.conf --container-runtime-endpoint=unix:///run/containerd/containerd.sock --node-ip=" + n.ip},
		{"/usr/sbin/sshd", "-D"},
	} {
		p := g.newProc(procSpec{node: n, parent: n.systemd, cmd: c, cwd: "/", start: boot + 5e9, flags: "procFS auid rootcwd",
			auid: 4294967295, threads: c.bin != "/usr/sbin/sshd"})
		n.daemons = append(n.daemons, p)
		g.activate(p, false)
	}
	sshd := n.daemons[2]
	for range 2 {
		p := g.newProc(procSpec{node: n, parent: sshd, cmd: cmd{"/usr/bin/bash", ""}, cwd: "/home/ops", uid: 1000, auid: 1000,
			start: g.start - int64(60+g.rng.IntN(3600))*1e9, flags: "procFS auid", shell: true})
		g.activate(p, true)
	}
	n.hooks = g.buildHooks(&hostApp, n.ip)
}

func (g *Generator) buildPods() {
	type key struct{ ns, app string }
	rs := map[key]string{}
	replicas := map[key]int{}
	for i := range g.cfg.Pods {
		nsIdx := i % g.cfg.Namespaces
		var nsName string
		var appNames []string
		if nsIdx < len(namespaceApps) {
			nsName, appNames = namespaceApps[nsIdx].name, namespaceApps[nsIdx].apps
		} else {
			nsName, appNames = fmt.Sprintf("team-%02d", nsIdx-len(namespaceApps)+1), teamApps
		}
		a := apps[appNames[(i/g.cfg.Namespaces)%len(appNames)]]
		k := key{nsName, a.name}
		if _, ok := rs[k]; !ok {
			rs[k] = g.word(10, alnum)
		}
		ordinal := replicas[k]
		replicas[k]++
		n := g.nodes[i%len(g.nodes)]
		labels := map[string]string{
			"app.kubernetes.io/name":      a.name,
			"app.kubernetes.io/component": a.component,
			"app.kubernetes.io/part-of":   nsName,
		}
		var name string
		switch a.kind {
		case "StatefulSet":
			name = fmt.Sprintf("%s-%d", a.name, ordinal)
			labels["controller-revision-hash"] = a.name + "-" + rs[k]
			labels["statefulset.kubernetes.io/pod-name"] = name
		case "DaemonSet":
			name = a.name + "-" + g.word(5, alnum)
			labels["controller-revision-hash"] = rs[k]
			labels["pod-template-generation"] = "3"
		default:
			name = a.name + "-" + rs[k] + "-" + g.word(5, alnum)
			labels["pod-template-hash"] = rs[k]
		}
		pd := &pod{
			idx: i, node: n, app: &a, ns: nsName, name: name, uid: g.uuid(), workload: a.name, labels: labels,
			cid:      g.hex(64),
			image:    &tetragon.Image{Id: a.image + "@sha256:" + g.hex(64), Name: a.image + ":" + a.tag},
			cstart:   timestamppb.New(timeOf(g.start - int64(600+g.rng.IntN(7*86400))*1e9).Truncate(1e9)),
			procs:    procSet{slot: slotLocal},
			nextCPid: 1,
		}
		pd.wire = podWire{
			head:     mustMarshal(&tetragon.Pod{Namespace: pd.ns, Name: pd.name, Uid: pd.uid}),
			contHead: mustMarshal(&tetragon.Container{Id: "containerd://" + pd.cid, Name: a.container, Image: pd.image, StartTime: pd.cstart}),
			tail:     mustMarshal(&tetragon.Pod{PodLabels: pd.labels, Workload: pd.workload, WorkloadKind: a.kind}),
		}
		if a.bpf {
			pd.wire.contTail = mustMarshal(&tetragon.Container{SecurityContext: &tetragon.SecurityContext{Privileged: true}})
		}
		if a.hostNet {
			pd.ip = n.ip
		} else {
			pd.ip = fmt.Sprintf("10.%d.%d.%d", 244+n.idx/256, n.idx%256, 2+len(n.pods)%250)
		}
		n.pods = append(n.pods, pd)
		g.pods = append(g.pods, pd)
		g.buildPodProcs(pd)
		pd.hooks = g.buildHooks(pd.app, pd.ip)
		cg := fmt.Sprintf("/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod%s.slice/cri-containerd-%s.scope",
			strings.ReplaceAll(pd.uid, "-", "_"), pd.cid)
		pd.throttle[0] = tail{b: mustMarshal(&tetragon.ProcessThrottle{Type: tetragon.ThrottleType_THROTTLE_START, Cgroup: cg})}
		pd.throttle[1] = tail{b: mustMarshal(&tetragon.ProcessThrottle{Type: tetragon.ThrottleType_THROTTLE_STOP, Cgroup: cg})}
	}
}

func (g *Generator) buildPodProcs(pd *pod) {
	n := pd.node
	cstart := pd.cstart.AsTime().UnixNano()
	pd.shim = g.newProc(procSpec{node: n, parent: n.systemd,
		cmd:  cmd{"/usr/bin/containerd-shim-runc-v2", "-namespace k8s.io -id " + g.hex(64) + " -address /run/containerd/containerd.sock"},
		cwd:  "/run/containerd/io.containerd.runtime.v2.task/k8s.io/" + pd.cid,
		auid: 4294967295, start: cstart - 2e9, flags: "procFS auid"})
	pd.init = g.newProc(procSpec{node: n, pod: pd, parent: pd.shim, cmd: pd.app.init, cwd: pd.app.cwd, uid: pd.app.uid,
		auid: 4294967295, start: cstart + 3e7, flags: flagsFor(pd.app.cwd, "procFS"), initTree: 1, threads: pd.app.threads})
	g.activate(pd.init, false)
	for range min(2, len(pd.app.children)) {
		c := pd.app.children[g.rng.IntN(len(pd.app.children))]
		p := g.newProc(procSpec{node: n, pod: pd, parent: pd.init, cmd: c, cwd: pd.app.cwd, uid: pd.app.uid,
			auid: 4294967295, start: g.start - int64(1+g.rng.IntN(600))*1e9, flags: flagsFor(pd.app.cwd, "procFS"),
			initTree: 1, shell: isShell(c.bin)})
		g.activate(p, true)
	}
}

func flagsFor(cwd, base string) string {
	if cwd == "/" {
		return base + " rootcwd"
	}
	return base
}

func isShell(bin string) bool {
	return strings.HasSuffix(bin, "/sh") || strings.HasSuffix(bin, "/bash")
}

type procSpec struct {
	node     *node
	pod      *pod
	parent   *proc
	cmd      cmd
	cwd      string
	uid      uint32
	auid     uint32
	start    int64
	flags    string
	pid      uint32 // 0: next free pid
	initTree int8   // 0 host process, 1 in the container's init tree, 2 not (kubectl exec)
	threads  bool
	shell    bool
}

// newProc creates a process and encodes its Process message once.
func (g *Generator) newProc(s procSpec) *proc {
	n := s.node
	pid := s.pid
	if pid == 0 {
		n.nextPid += 1 + uint32(g.rng.IntN(40))
		if n.nextPid > 4194000 {
			n.nextPid = 300
		}
		pid = n.nextPid
	}
	n.seq++
	p := &proc{
		execID: source.ExecID(n.name, source.Ktime(g.nonce, n.seq), pid),
		pid:    pid, binary: s.cmd.bin, node: n, pod: s.pod, parent: s.parent,
		threads: s.threads, shell: s.shell || isShell(s.cmd.bin), initTree: s.initTree,
		slot: [numSlots]int{-1, -1, -1},
	}
	f := processFields{
		execID: p.execID, pid: pid, uid: s.uid, cwd: s.cwd, binary: s.cmd.bin, args: s.cmd.args,
		flags: s.flags, start: s.start, auid: s.auid,
	}
	if s.parent != nil {
		f.parentExecID = s.parent.execID
	}
	if pd := s.pod; pd != nil {
		f.pod, f.cpid, f.docker = &pd.wire, pd.nextCPid, pd.cid[:31]
		pd.nextCPid += 1 + uint32(g.rng.IntN(4))
	}
	p.pre = f.encodePre()
	switch s.initTree {
	case 1:
		p.post = protowire.AppendTag(nil, fieldInInitTree, protowire.BytesType)
		p.post = append(p.post, 2, 1<<3, 1) // BoolValue{value: true}: tag (field 1, varint), 1
	case 2:
		p.post = protowire.AppendTag(nil, fieldInInitTree, protowire.BytesType)
		p.post = append(p.post, 0) // BoolValue{value: false}
	}
	return p
}

// activate makes p a source of hook events and, if exitable, a candidate
// for process_exit.
func (g *Generator) activate(p *proc, exitable bool) {
	g.active.add(p)
	if exitable {
		g.exitable.add(p)
	}
	if p.pod != nil {
		p.pod.procs.add(p)
	} else {
		p.node.host.add(p)
	}
}

func (g *Generator) retire(p *proc) {
	g.active.remove(p)
	g.exitable.remove(p)
	if p.pod != nil {
		p.pod.procs.remove(p)
	} else {
		p.node.host.remove(p)
	}
}

func mustMarshal(m proto.Message) []byte {
	b, err := proto.Marshal(m)
	if err != nil {
		panic(fmt.Sprintf("generate: marshal %T: %v", m, err)) // only fixed, valid messages get here
	}
	return b
}

func buildID(path string) []byte {
	h := sha1.Sum([]byte(path))
	return h[:]
}
