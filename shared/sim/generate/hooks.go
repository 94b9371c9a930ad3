package generate

import (
	"strings"

	"github.com/cilium/tetragon/api/v1/tetragon"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

// Pre-encoded hook bodies: each a ProcessKprobe (or Lsm, Tracepoint, ...)
// without process and parent, which proto.Marshal leaves out, so the bytes
// hold exactly the fields that follow them.

const (
	variantsKprobe     = 32
	variantsTracepoint = 6
	variantsLsm        = 8
	variantsUprobe     = 4
	variantsUsdt       = 4
)

func (g *Generator) buildHooks(a *app, ip string) *hooks {
	h := &hooks{}
	total := 0
	for _, w := range hookWeights {
		total += w.w
	}
	for range variantsKprobe {
		x := g.rng.IntN(total)
		kind := hookWeights[0].kind
		for _, w := range hookWeights {
			if x < w.w {
				kind = w.kind
				break
			}
			x -= w.w
		}
		h.kprobe = append(h.kprobe, g.kprobeTail(a, ip, kind))
	}
	h.kprobeEnforce = []tail{
		marshalKprobe(&tetragon.ProcessKprobe{
			FunctionName: "security_file_permission",
			Args:         []*tetragon.KprobeArgument{fileArg("/etc/shadow", "-rw-r-----"), intArg(4)},
			Action:       tetragon.KprobeAction_KPROBE_ACTION_SIGKILL,
			PolicyName:   "block-sensitive-files",
			Message:      "Blocked access to a sensitive file",
			Tags:         []string{"security.enforcement", "observability.filesystem"},
		}),
		marshalKprobe(&tetragon.ProcessKprobe{
			FunctionName: "__x64_sys_setns",
			Args:         []*tetragon.KprobeArgument{intArg(int32(3 + g.rng.IntN(20))), intArg(1073741824)},
			Return:       intArg(-1),
			Action:       tetragon.KprobeAction_KPROBE_ACTION_OVERRIDE,
			PolicyName:   "deny-setns",
			Message:      "setns denied outside the init tree",
			Tags:         []string{"security.enforcement", "observability.namespace"},
		}),
		marshalKprobe(&tetragon.ProcessKprobe{
			FunctionName: "__x64_sys_ptrace",
			Args:         []*tetragon.KprobeArgument{intArg(16), intArg(int32(100 + g.rng.IntN(30000)))},
			Action:       tetragon.KprobeAction_KPROBE_ACTION_SIGKILL,
			PolicyName:   "deny-ptrace",
			Message:      "ptrace attach killed",
			Tags:         []string{"security.enforcement", "observability.process"},
		}),
	}
	for range variantsTracepoint {
		h.tracepoint = append(h.tracepoint, g.tracepointTail(a))
	}
	for range variantsLsm {
		h.lsm = append(h.lsm, g.lsmTail(a))
	}
	h.lsmEnforce = []tail{
		marshalLsm(&tetragon.ProcessLsm{
			FunctionName: "file_open",
			PolicyName:   "lsm-deny-shadow",
			Message:      "Denied open of /etc/shadow",
			Args:         []*tetragon.KprobeArgument{fileArg("/etc/shadow", "-rw-r-----")},
			Action:       tetragon.KprobeAction_KPROBE_ACTION_OVERRIDE,
			Tags:         []string{"security.enforcement"},
		}),
		marshalLsm(&tetragon.ProcessLsm{
			FunctionName: "bprm_check_security",
			PolicyName:   "lsm-block-tmp-exec",
			Message:      "Execution from /tmp killed",
			Args:         []*tetragon.KprobeArgument{{Arg: &tetragon.KprobeArgument_LinuxBinprmArg{LinuxBinprmArg: &tetragon.KprobeLinuxBinprm{Path: "/tmp/.x/xmrig", Permission: "-rwxr-xr-x"}}}},
			Action:       tetragon.KprobeAction_KPROBE_ACTION_SIGKILL,
			Tags:         []string{"security.enforcement", "observability.process"},
			ImaHash:      "sha256:" + g.hex(64),
		}),
	}
	for range variantsUprobe {
		u := a.uprobes[g.rng.IntN(len(a.uprobes))]
		policy := "uprobe-" + policySuffix(u.symbol)
		h.uprobe = append(h.uprobe, tail{policy: policy, b: mustMarshal(&tetragon.ProcessUprobe{
			Path: u.path, Symbol: u.symbol, PolicyName: policy, Action: tetragon.KprobeAction_KPROBE_ACTION_POST,
		})})
	}
	for range variantsUsdt {
		u := a.usdts[g.rng.IntN(len(a.usdts))]
		policy := "usdt-" + u.provider
		m := &tetragon.ProcessUsdt{Path: u.path, Provider: u.provider, Name: u.name, PolicyName: policy,
			Action: tetragon.KprobeAction_KPROBE_ACTION_POST}
		for _, s := range u.args {
			m.Args = append(m.Args, &tetragon.KprobeArgument{Arg: &tetragon.KprobeArgument_StringArg{StringArg: s}})
		}
		h.usdt = append(h.usdt, tail{policy: policy, b: mustMarshal(m)})
	}
	for _, lib := range a.libs {
		h.loader = append(h.loader, tail{b: mustMarshal(&tetragon.ProcessLoader{Path: lib, Buildid: buildID(lib)})})
	}
	return h
}

// policySuffix turns a symbol into a policy-name-ish word.
func policySuffix(sym string) string {
	if i := strings.LastIndexAny(sym, "./"); i >= 0 {
		sym = sym[i+1:]
	}
	sym = strings.Trim(strings.ToLower(strings.ReplaceAll(sym, "_", "-")), "-")
	if sym == "" {
		return "probe"
	}
	return sym
}

func marshalKprobe(m *tetragon.ProcessKprobe) tail {
	return tail{b: mustMarshal(m), policy: m.PolicyName, kill: m.Action == tetragon.KprobeAction_KPROBE_ACTION_SIGKILL}
}

func marshalLsm(m *tetragon.ProcessLsm) tail {
	return tail{b: mustMarshal(m), policy: m.PolicyName, kill: m.Action == tetragon.KprobeAction_KPROBE_ACTION_SIGKILL}
}

func intArg(v int32) *tetragon.KprobeArgument {
	return &tetragon.KprobeArgument{Arg: &tetragon.KprobeArgument_IntArg{IntArg: v}}
}

func fileArg(path, perm string) *tetragon.KprobeArgument {
	return &tetragon.KprobeArgument{Arg: &tetragon.KprobeArgument_FileArg{FileArg: &tetragon.KprobeFile{Path: path, Permission: perm}}}
}

func (g *Generator) file(a *app) string {
	if g.rng.IntN(4) == 0 {
		return commonFiles[g.rng.IntN(len(commonFiles))]
	}
	return a.files[g.rng.IntN(len(a.files))]
}

func (g *Generator) sock(a *app, ip, state string) (*tetragon.KprobeArgument, peer) {
	p := dnsPeer
	if len(a.peers) > 0 {
		p = a.peers[g.rng.IntN(len(a.peers))]
	}
	s := &tetragon.KprobeSock{Family: "AF_INET", Type: "SOCK_STREAM", Protocol: "IPPROTO_TCP",
		Saddr: ip, Daddr: p.addr, Sport: 32768 + uint32(g.rng.IntN(28000)), Dport: p.port,
		Cookie: g.rng.Uint64() & 0xffffffffffff, State: state}
	if p.udp {
		s.Type, s.Protocol, s.State = "SOCK_DGRAM", "IPPROTO_UDP", "TCP_CLOSE"
	}
	return &tetragon.KprobeArgument{Arg: &tetragon.KprobeArgument_SockArg{SockArg: s}}, p
}

var netTags = []string{"observability.network"}

func (g *Generator) kprobeTail(a *app, ip string, kind hookKind) tail {
	post := tetragon.KprobeAction_KPROBE_ACTION_POST
	m := &tetragon.ProcessKprobe{Action: post}
	switch kind {
	case hookFilePerm:
		mask := int32(4)
		if g.rng.IntN(3) == 0 {
			mask = 2
		}
		m.FunctionName, m.PolicyName = "security_file_permission", "file-monitoring"
		m.Args = []*tetragon.KprobeArgument{fileArg(g.file(a), "-rw-r--r--"), intArg(mask)}
		m.Return, m.ReturnAction = intArg(0), post
		m.Tags = []string{"observability.filesystem"}
	case hookFdInstall:
		m.FunctionName, m.PolicyName = "fd_install", "file-monitoring"
		m.Args = []*tetragon.KprobeArgument{intArg(int32(3 + g.rng.IntN(60))), fileArg(g.file(a), "")}
		m.Tags = []string{"observability.filesystem"}
	case hookTCPConnect, hookTCPSendmsg, hookTCPClose:
		state := map[hookKind]string{hookTCPConnect: "TCP_SYN_SENT", hookTCPSendmsg: "TCP_ESTABLISHED", hookTCPClose: "TCP_CLOSE"}[kind]
		arg, p := g.sock(a, ip, state)
		m.PolicyName, m.Tags = "network-monitoring", netTags
		m.Args = []*tetragon.KprobeArgument{arg}
		switch {
		case p.udp:
			m.FunctionName = "udp_sendmsg"
			m.Args = append(m.Args, intArg(int32(40+g.rng.IntN(400))))
		case kind == hookTCPConnect:
			m.FunctionName = "tcp_connect"
		case kind == hookTCPSendmsg:
			m.FunctionName = "tcp_sendmsg"
			m.Args = append(m.Args, intArg(int32(64+g.rng.IntN(16000))))
		default:
			m.FunctionName = "tcp_close"
		}
		if p.extrn {
			m.PolicyName, m.Message = "monitor-egress-outside-cluster", "Connection outside the cluster"
		}
	case hookSysWrite:
		line := []byte(`{"level":"info","ts":"` + g.hex(8) + `","msg":"request served","status":200}` + "\n")
		m.FunctionName, m.PolicyName = "__x64_sys_write", "sys-write-follow-fd"
		m.Args = []*tetragon.KprobeArgument{
			intArg(int32(1 + g.rng.IntN(30))),
			{Arg: &tetragon.KprobeArgument_BytesArg{BytesArg: line}},
			{Arg: &tetragon.KprobeArgument_SizeArg{SizeArg: uint64(len(line))}},
		}
	case hookCommitCreds:
		m.FunctionName, m.PolicyName = "commit_creds", "privileges-raise"
		z := wrapperspb.UInt32(0)
		m.Args = []*tetragon.KprobeArgument{{Arg: &tetragon.KprobeArgument_ProcessCredentialsArg{ProcessCredentialsArg: &tetragon.ProcessCredentials{
			Uid: z, Gid: z, Euid: z, Egid: z, Suid: z, Sgid: z, Fsuid: z, Fsgid: z,
			Caps: &tetragon.Capabilities{
				Permitted: []tetragon.CapabilitiesType{tetragon.CapabilitiesType_CAP_CHOWN, tetragon.CapabilitiesType_DAC_OVERRIDE, tetragon.CapabilitiesType_CAP_SETUID, tetragon.CapabilitiesType_CAP_SETGID, tetragon.CapabilitiesType_CAP_NET_BIND_SERVICE},
				Effective: []tetragon.CapabilitiesType{tetragon.CapabilitiesType_CAP_CHOWN, tetragon.CapabilitiesType_DAC_OVERRIDE, tetragon.CapabilitiesType_CAP_SETUID, tetragon.CapabilitiesType_CAP_SETGID},
			},
		}}}}
		m.Tags = []string{"security.privilege-escalation"}
	case hookCapCapable:
		c := capNames[g.rng.IntN(len(capNames))]
		m.FunctionName, m.PolicyName = "cap_capable", "capabilities-check"
		m.Args = []*tetragon.KprobeArgument{
			{Arg: &tetragon.KprobeArgument_UserNsArg{UserNsArg: &tetragon.UserNamespace{
				Level: wrapperspb.Int32(0), Uid: wrapperspb.UInt32(0), Gid: wrapperspb.UInt32(0),
				Ns: &tetragon.Namespace{Inum: 4026531837, IsHost: true}}}},
			{Arg: &tetragon.KprobeArgument_CapabilityArg{CapabilityArg: &tetragon.KprobeCapability{Value: wrapperspb.Int32(c.v), Name: c.name}}},
		}
		ret := int32(0)
		if g.rng.IntN(3) == 0 {
			ret = -1
		}
		m.Return = intArg(ret)
	case hookSetns:
		m.FunctionName, m.PolicyName = "__x64_sys_setns", "namespace-access"
		m.Args = []*tetragon.KprobeArgument{intArg(int32(3 + g.rng.IntN(20))), intArg(134217728)}
		m.ReturnAction = post
	case hookModuleRequest:
		mods := []string{"fs-xfs", "nf_conntrack", "ip6_tables", "xt_socket", "br_netfilter"}
		m.FunctionName, m.PolicyName = "security_kernel_module_request", "kernel-module-audit"
		m.Args = []*tetragon.KprobeArgument{{Arg: &tetragon.KprobeArgument_StringArg{StringArg: mods[g.rng.IntN(len(mods))]}}}
		m.Return = intArg(0)
	case hookBPF:
		progs := []string{"cil_from_container", "cil_to_container", "cil_from_netdev", "tail_handle_ipv4"}
		m.FunctionName, m.PolicyName = "bpf_check", "bpf-audit"
		m.Args = []*tetragon.KprobeArgument{{Arg: &tetragon.KprobeArgument_BpfAttrArg{BpfAttrArg: &tetragon.KprobeBpfAttr{
			ProgType: "BPF_PROG_TYPE_SCHED_CLS", InsnCnt: uint32(200 + g.rng.IntN(4000)), ProgName: progs[g.rng.IntN(len(progs))]}}}}
	case hookBprmCreds:
		bin := a.init.bin
		if len(a.children) > 0 && g.rng.IntN(2) == 0 {
			bin = a.children[g.rng.IntN(len(a.children))].bin
		}
		if bin == "" {
			bin = "/usr/bin/bash"
		}
		m.FunctionName, m.PolicyName = "security_bprm_creds_from_file", "process-exec-creds"
		m.Args = []*tetragon.KprobeArgument{fileArg(bin, "")}
	}
	return marshalKprobe(m)
}

func (g *Generator) tracepointTail(a *app) tail {
	m := &tetragon.ProcessTracepoint{Action: tetragon.KprobeAction_KPROBE_ACTION_POST}
	long := func(v int64) *tetragon.KprobeArgument {
		return &tetragon.KprobeArgument{Arg: &tetragon.KprobeArgument_LongArg{LongArg: v}}
	}
	switch g.rng.IntN(4) {
	case 0:
		nrs := []int64{0, 1, 3, 42, 59, 232, 257, 281}
		m.Subsys, m.Event, m.PolicyName = "raw_syscalls", "sys_enter", "raw-syscalls"
		m.Args = []*tetragon.KprobeArgument{long(nrs[g.rng.IntN(len(nrs))])}
	case 1:
		m.Subsys, m.Event, m.PolicyName = "syscalls", "sys_enter_openat", "openat-trace"
		m.Args = []*tetragon.KprobeArgument{intArg(-100), {Arg: &tetragon.KprobeArgument_StringArg{StringArg: g.file(a)}}, intArg(524288)}
	case 2:
		m.Subsys, m.Event, m.PolicyName = "signal", "signal_generate", "signals"
		m.Args = []*tetragon.KprobeArgument{intArg([]int32{9, 15, 17, 2}[g.rng.IntN(4)]), intArg(0)}
	default:
		m.Subsys, m.Event, m.PolicyName = "sched", "sched_process_fork", "sched-fork"
		m.Args = []*tetragon.KprobeArgument{intArg(int32(300 + g.rng.IntN(60000)))}
	}
	return tail{b: mustMarshal(m), policy: m.PolicyName}
}

func (g *Generator) lsmTail(a *app) tail {
	m := &tetragon.ProcessLsm{Action: tetragon.KprobeAction_KPROBE_ACTION_POST}
	switch g.rng.IntN(3) {
	case 0:
		m.FunctionName, m.PolicyName = "file_open", "lsm-file-open"
		m.Args = []*tetragon.KprobeArgument{fileArg(g.file(a), "-rw-r--r--")}
		if g.rng.IntN(2) == 0 {
			m.ImaHash = "sha256:" + g.hex(64)
		}
	case 1:
		bin := a.init.bin
		if bin == "" {
			bin = "/usr/bin/bash"
		}
		m.FunctionName, m.PolicyName = "bprm_check_security", "lsm-bprm-ima"
		m.Args = []*tetragon.KprobeArgument{{Arg: &tetragon.KprobeArgument_LinuxBinprmArg{LinuxBinprmArg: &tetragon.KprobeLinuxBinprm{Path: bin, Permission: "-rwxr-xr-x"}}}}
		m.ImaHash = "sha256:" + g.hex(64)
	default:
		p := dnsPeer
		if len(a.peers) > 0 {
			p = a.peers[g.rng.IntN(len(a.peers))]
		}
		m.FunctionName, m.PolicyName = "socket_connect", "lsm-socket-connect"
		m.Args = []*tetragon.KprobeArgument{{Arg: &tetragon.KprobeArgument_SockaddrArg{SockaddrArg: &tetragon.KprobeSockaddr{Family: "AF_INET", Addr: p.addr, Port: p.port}}}}
	}
	return marshalLsm(m)
}
