package normalize

import (
	"github.com/cilium/tetragon/api/v1/tetragon"
)

// appendProcess writes a Process object. Field names follow Tetragon's
// where they are clear; renamed: cap -> caps, ns -> namespaces,
// process_credentials -> credentials, environment_variables -> environment.
func appendProcess(b []byte, p *tetragon.Process) []byte {
	b = append(b, '{')
	b = fStr(b, "exec_id", p.GetExecId())
	b = fU32W(b, "pid", p.GetPid())
	b = fU32W(b, "tid", p.GetTid())
	b = fU32W(b, "uid", p.GetUid())
	b = fU32W(b, "auid", p.GetAuid())
	if u := p.GetUser(); u != nil {
		b = append(key(b, "user"), '{')
		b = fStr(b, "name", u.GetName())
		b = append(b, '}')
	}
	b = fStr(b, "binary", p.GetBinary())
	b = fStr(b, "arguments", p.GetArguments())
	b = fStr(b, "cwd", p.GetCwd())
	b = fStr(b, "flags", p.GetFlags())
	b = fTime(b, "start_time", p.GetStartTime())
	b = fStr(b, "parent_exec_id", p.GetParentExecId())
	b = fStr(b, "docker", p.GetDocker())
	b = fU64(b, "refcnt", uint64(p.GetRefcnt()))
	b = fBoolW(b, "in_init_tree", p.GetInInitTree())
	if pod := p.GetPod(); pod != nil {
		b = appendPod(key(b, "pod"), pod)
	}
	if c := p.GetCap(); c != nil {
		b = appendCaps(key(b, "caps"), c.GetPermitted(), c.GetEffective(), c.GetInheritable())
	}
	if ns := p.GetNs(); ns != nil {
		b = appendNamespaces(key(b, "namespaces"), ns)
	}
	if c := p.GetProcessCredentials(); c != nil {
		b = appendCreds(key(b, "credentials"), c)
	}
	if bp := p.GetBinaryProperties(); bp != nil {
		b = append(key(b, "binary_properties"), '{')
		b = fU32W(b, "setuid", bp.GetSetuid())
		b = fU32W(b, "setgid", bp.GetSetgid())
		if pc := bp.GetPrivilegesChanged(); len(pc) > 0 {
			b = append(key(b, "privileges_changed"), '[')
			for _, v := range pc {
				b = appendEnum(elem(b), int32(v), privChangedNames)
			}
			b = append(b, ']')
		}
		if f := bp.GetFile(); f != nil {
			b = append(key(b, "file"), '{')
			if in := f.GetInode(); in != nil {
				b = append(key(b, "inode"), '{')
				b = fU64(b, "number", in.GetNumber())
				b = fU32W(b, "links", in.GetLinks())
				b = append(b, '}')
			}
			b = fStr(b, "path", f.GetPath())
			b = append(b, '}')
		}
		b = append(b, '}')
	}
	if env := p.GetEnvironmentVariables(); len(env) > 0 {
		// An array, not an object: names can repeat and order matters.
		b = append(key(b, "environment"), '[')
		for _, e := range env {
			b = append(elem(b), '{')
			b = appendString(key(b, "key"), e.GetKey())
			b = appendString(key(b, "value"), e.GetValue())
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	return append(b, '}')
}

func appendPod(b []byte, pod *tetragon.Pod) []byte {
	b = append(b, '{')
	b = fStr(b, "namespace", pod.GetNamespace())
	b = fStr(b, "name", pod.GetName())
	b = fStr(b, "uid", pod.GetUid())
	b = fStr(b, "workload", pod.GetWorkload())
	b = fStr(b, "workload_kind", pod.GetWorkloadKind())
	b = fMap(b, "labels", pod.GetPodLabels())
	b = fMap(b, "annotations", pod.GetPodAnnotations())
	if c := pod.GetContainer(); c != nil {
		b = append(key(b, "container"), '{')
		b = fStr(b, "id", c.GetId())
		b = fStr(b, "name", c.GetName())
		if img := c.GetImage(); img != nil {
			b = append(key(b, "image"), '{')
			b = fStr(b, "id", img.GetId())
			b = fStr(b, "name", img.GetName())
			b = append(b, '}')
		}
		b = fTime(b, "start_time", c.GetStartTime())
		b = fU32W(b, "pid", c.GetPid())
		b = fBool(b, "maybe_exec_probe", c.GetMaybeExecProbe())
		if sc := c.GetSecurityContext(); sc != nil {
			b = append(key(b, "security_context"), '{')
			b = fBool(b, "privileged", sc.GetPrivileged())
			b = append(b, '}')
		}
		b = append(b, '}')
	}
	return append(b, '}')
}

// appendCaps writes a capability-set object; each set is a list of
// Tetragon capability names ("CAP_SYS_ADMIN"). CAP_CHOWN is enum value 0,
// so list entries are written even when zero.
func appendCaps(b []byte, permitted, effective, inheritable []tetragon.CapabilitiesType) []byte {
	b = append(b, '{')
	b = fCapList(b, "permitted", permitted)
	b = fCapList(b, "effective", effective)
	b = fCapList(b, "inheritable", inheritable)
	return append(b, '}')
}

func fCapList(b []byte, k string, caps []tetragon.CapabilitiesType) []byte {
	if len(caps) == 0 {
		return b
	}
	b = append(key(b, k), '[')
	for _, c := range caps {
		b = appendEnum(elem(b), int32(c), capNames)
	}
	return append(b, ']')
}

func appendNamespaces(b []byte, ns *tetragon.Namespaces) []byte {
	b = append(b, '{')
	b = fNamespace(b, "uts", ns.GetUts())
	b = fNamespace(b, "ipc", ns.GetIpc())
	b = fNamespace(b, "mnt", ns.GetMnt())
	b = fNamespace(b, "pid", ns.GetPid())
	b = fNamespace(b, "pid_for_children", ns.GetPidForChildren())
	b = fNamespace(b, "net", ns.GetNet())
	b = fNamespace(b, "time", ns.GetTime())
	b = fNamespace(b, "time_for_children", ns.GetTimeForChildren())
	b = fNamespace(b, "cgroup", ns.GetCgroup())
	b = fNamespace(b, "user", ns.GetUser())
	return append(b, '}')
}

func fNamespace(b []byte, k string, n *tetragon.Namespace) []byte {
	if n == nil {
		return b
	}
	b = append(key(b, k), '{')
	b = fU64(b, "inum", uint64(n.GetInum()))
	b = fBool(b, "is_host", n.GetIsHost())
	return append(b, '}')
}

func appendCreds(b []byte, c *tetragon.ProcessCredentials) []byte {
	b = append(b, '{')
	b = fU32W(b, "uid", c.GetUid())
	b = fU32W(b, "gid", c.GetGid())
	b = fU32W(b, "euid", c.GetEuid())
	b = fU32W(b, "egid", c.GetEgid())
	b = fU32W(b, "suid", c.GetSuid())
	b = fU32W(b, "sgid", c.GetSgid())
	b = fU32W(b, "fsuid", c.GetFsuid())
	b = fU32W(b, "fsgid", c.GetFsgid())
	if sb := c.GetSecurebits(); len(sb) > 0 {
		b = append(key(b, "securebits"), '[')
		for _, v := range sb {
			b = appendEnum(elem(b), int32(v), secureBitsNames)
		}
		b = append(b, ']')
	}
	if caps := c.GetCaps(); caps != nil {
		b = appendCaps(key(b, "caps"), caps.GetPermitted(), caps.GetEffective(), caps.GetInheritable())
	}
	if un := c.GetUserNs(); un != nil {
		b = appendUserNs(key(b, "user_ns"), un)
	}
	return append(b, '}')
}

func appendUserNs(b []byte, un *tetragon.UserNamespace) []byte {
	b = append(b, '{')
	b = fI32W(b, "level", un.GetLevel())
	b = fU32W(b, "uid", un.GetUid())
	b = fU32W(b, "gid", un.GetGid())
	b = fNamespace(b, "ns", un.GetNs())
	return append(b, '}')
}
