package eventid

import (
	"encoding/base64"
	"fmt"
	"math/rand/v2"

	"github.com/cilium/tetragon/api/v1/tetragon"
	"google.golang.org/protobuf/types/known/timestamppb"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

// gen makes random but realistic events of every type, with the fields the
// id ignores filled too (parents, pods, labels, args), so that the tests see
// Tetragon-sized messages with maps in them.
type gen struct {
	r *rand.Rand
}

func newGen(seed uint64) *gen { return &gen{r: rand.New(rand.NewPCG(seed, 0x5eed))} }

// knownTypes are the oneof field numbers of api v1.7.1.
var knownTypes = []int32{typeExec, typeExit, typeKprobe, typeTracepoint, typeLoader, typeUprobe,
	typeThrottle, typeLsm, typeUsdt, typeTest, typeRateLimitInfo}

func (g *gen) pick(ss ...string) string { return ss[g.r.IntN(len(ss))] }

func (g *gen) str(prefix string) string { return fmt.Sprintf("%s%d", prefix, g.r.IntN(1000)) }

func (g *gen) labels(n int) map[string]string {
	m := make(map[string]string, n)
	for i := 0; i < n; i++ {
		m[fmt.Sprintf("app.kubernetes.io/l%d", i)] = g.str("v")
	}
	return m
}

func (g *gen) process(node string) *tetragon.Process {
	pid := uint32(g.r.IntN(1 << 22))
	ktime := g.r.Uint64() >> 10
	p := &tetragon.Process{
		ExecId:    base64.StdEncoding.EncodeToString(fmt.Appendf(nil, "%s:%d:%d", node, ktime, pid)),
		Pid:       wrapperspb.UInt32(pid),
		Tid:       wrapperspb.UInt32(pid + uint32(g.r.IntN(3))),
		Uid:       wrapperspb.UInt32(uint32(g.r.IntN(2000))),
		Cwd:       "/",
		Binary:    g.pick("/usr/bin/curl", "/bin/sh", "/usr/sbin/nginx", "/usr/bin/python3"),
		Arguments: g.str("--arg "),
		Flags:     "execve clone",
		StartTime: timestamppb.New(timestamppb.Now().AsTime()),
		Auid:      wrapperspb.UInt32(4294967295),
		Pod: &tetragon.Pod{
			Namespace: g.pick("default", "kube-system", "tenant-a"),
			Name:      g.str("pod-"),
			Container: &tetragon.Container{Id: g.str("containerd://"), Name: "main",
				Image: &tetragon.Image{Id: "docker.io/library/nginx@sha256:abc", Name: "nginx:latest"}},
			PodLabels: g.labels(1 + g.r.IntN(8)),
			Workload:  g.str("wl-"),
		},
		ParentExecId: g.str("parent-"),
		Refcnt:       uint32(g.r.IntN(5)),
	}
	switch g.r.IntN(8) {
	case 0: // kernel threads and the like have no exec_id
		p.ExecId = ""
	case 1: // no wrappers at all
		p.Pid, p.Tid = nil, nil
	case 2:
		p.Tid = nil
	}
	return p
}

func (g *gen) args() []*tetragon.KprobeArgument {
	return []*tetragon.KprobeArgument{
		{Arg: &tetragon.KprobeArgument_StringArg{StringArg: g.str("/etc/file")}},
		{Arg: &tetragon.KprobeArgument_IntArg{IntArg: int32(g.r.IntN(100))}},
	}
}

// event returns a random event of oneof field number typ.
func (g *gen) event(typ int32) *tetragon.GetEventsResponse {
	node := g.pick("node-a", "gke-cluster-default-pool-43730fab-l8zr", "ip-10-0-1-17.ec2.internal")
	r := &tetragon.GetEventsResponse{
		NodeName:    node,
		ClusterName: "prod",
		Time:        &timestamppb.Timestamp{Seconds: 1_700_000_000 + g.r.Int64N(1e6), Nanos: g.r.Int32N(1e9)},
		NodeLabels:  g.labels(g.r.IntN(6)),
	}
	if g.r.IntN(20) == 0 {
		r.Time = nil
	}
	p, parent := g.process(node), g.process(node)
	if g.r.IntN(30) == 0 {
		p = nil
	}
	switch typ {
	case typeExec:
		r.Event = &tetragon.GetEventsResponse_ProcessExec{ProcessExec: &tetragon.ProcessExec{
			Process: p, Parent: parent, Ancestors: []*tetragon.Process{g.process(node)}}}
	case typeExit:
		r.Event = &tetragon.GetEventsResponse_ProcessExit{ProcessExit: &tetragon.ProcessExit{
			Process: p, Parent: parent, Signal: g.pick("", "SIGKILL", "SIGSEGV"),
			Status: uint32(g.r.IntN(256)), Time: r.Time}}
	case typeKprobe:
		r.Event = &tetragon.GetEventsResponse_ProcessKprobe{ProcessKprobe: &tetragon.ProcessKprobe{
			Process: p, Parent: parent, FunctionName: g.pick("security_file_permission", "tcp_connect", "fd_install"),
			Args: g.args(), Return: &tetragon.KprobeArgument{Arg: &tetragon.KprobeArgument_IntArg{IntArg: 0}},
			Action: tetragon.KprobeAction_KPROBE_ACTION_POST, PolicyName: g.str("policy-"),
			Tags: []string{"observability.filesystem"}}}
	case typeTracepoint:
		r.Event = &tetragon.GetEventsResponse_ProcessTracepoint{ProcessTracepoint: &tetragon.ProcessTracepoint{
			Process: p, Parent: parent, Subsys: g.pick("syscalls", "sched"), Event: g.pick("sys_enter_openat", "sched_switch"),
			Args: g.args(), PolicyName: g.str("policy-")}}
	case typeLoader:
		r.Event = &tetragon.GetEventsResponse_ProcessLoader{ProcessLoader: &tetragon.ProcessLoader{
			Process: p, Parent: parent, Path: g.str("/usr/lib/libc.so."), Buildid: []byte{byte(g.r.IntN(256)), 0xfe, 0x00, 0x80}}}
	case typeUprobe:
		r.Event = &tetragon.GetEventsResponse_ProcessUprobe{ProcessUprobe: &tetragon.ProcessUprobe{
			Process: p, Parent: parent, Path: g.str("/usr/bin/bash"), Symbol: g.pick("readline", "main"),
			PolicyName: g.str("policy-"), Args: g.args(), Offset: g.r.Uint64()}}
	case typeThrottle:
		r.Event = &tetragon.GetEventsResponse_ProcessThrottle{ProcessThrottle: &tetragon.ProcessThrottle{
			Type: tetragon.ThrottleType(g.r.IntN(3)), Cgroup: g.str("/kubepods/burstable/pod")}}
	case typeLsm:
		r.Event = &tetragon.GetEventsResponse_ProcessLsm{ProcessLsm: &tetragon.ProcessLsm{
			Process: p, Parent: parent, FunctionName: g.pick("bprm_check_security", "file_open"),
			PolicyName: g.str("policy-"), Args: g.args(), ImaHash: g.str("sha256:")}}
	case typeUsdt:
		r.Event = &tetragon.GetEventsResponse_ProcessUsdt{ProcessUsdt: &tetragon.ProcessUsdt{
			Process: p, Parent: parent, Path: g.str("/usr/bin/python3."), Provider: g.pick("python", "libc"),
			Name: g.pick("function__entry", "setjmp"), PolicyName: g.str("policy-"), Args: g.args()}}
	case typeTest:
		r.Event = &tetragon.GetEventsResponse_Test{Test: &tetragon.Test{
			Arg0: g.r.Uint64(), Arg1: g.r.Uint64N(10), Arg2: g.r.Uint64N(3), Arg3: 0}}
	case typeRateLimitInfo:
		r.Event = &tetragon.GetEventsResponse_RateLimitInfo{RateLimitInfo: &tetragon.RateLimitInfo{
			NumberOfDroppedProcessEvents: g.r.Uint64N(1 << 40)}}
	default:
		panic(fmt.Sprintf("gen: type %d", typ))
	}
	return r
}

// any returns a random event of a random known type.
func (g *gen) any() *tetragon.GetEventsResponse {
	return g.event(knownTypes[g.r.IntN(len(knownTypes))])
}
