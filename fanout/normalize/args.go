package normalize

import (
	"encoding/base64"
	"strconv"

	"github.com/cilium/tetragon/api/v1/tetragon"
)

// Argument kinds: the "type" discriminator of a generic-hook argument, and
// also the name of the key that holds its value. Keying the value by kind
// ({"type":"int","int":3}, {"type":"sock","sock":{...}}) rather than one
// "value" key keeps each JSON path at one JSON type, which column stores and
// search-index mappings need.
const (
	ArgString             = "string"
	ArgInt                = "int"
	ArgUint               = "uint"
	ArgLong               = "long"
	ArgSize               = "size"
	ArgBytes              = "bytes"
	ArgTruncatedBytes     = "truncated_bytes"
	ArgPath               = "path"
	ArgFile               = "file"
	ArgLinuxBinprm        = "linux_binprm"
	ArgSock               = "sock"
	ArgSkb                = "skb"
	ArgSockaddr           = "sockaddr"
	ArgSockaddrUn         = "sockaddr_un"
	ArgNetDev             = "net_dev"
	ArgCred               = "cred"
	ArgCapability         = "capability"
	ArgUserNamespace      = "user_namespace"
	ArgUserNs             = "user_ns"
	ArgProcessCredentials = "process_credentials"
	ArgModule             = "module"
	ArgKernelCapT         = "kernel_cap_t"
	ArgCapInheritable     = "cap_inheritable"
	ArgCapPermitted       = "cap_permitted"
	ArgCapEffective       = "cap_effective"
	ArgBpfAttr            = "bpf_attr"
	ArgBpfProg            = "bpf_prog"
	ArgPerfEvent          = "perf_event"
	ArgBpfMap             = "bpf_map"
	ArgBpfCmd             = "bpf_cmd"
	ArgSyscallID          = "syscall_id"
	ArgError              = "error"
	// ArgUnknown is an argument whose kind this build does not know (a
	// newer Tetragon): only its label and raw wire bytes ("raw") survive.
	ArgUnknown = "unknown"
)

func fArgs(b []byte, k string, args []*tetragon.KprobeArgument) []byte {
	if len(args) == 0 {
		return b
	}
	b = append(key(b, k), '[')
	for _, a := range args {
		b = appendArg(elem(b), a)
	}
	return append(b, ']')
}

// kindKey writes the discriminator, the label and the value's key.
func kindKey(b []byte, kind, label string) []byte {
	b = append(b, `{"type":"`...)
	b = append(b, kind...)
	b = append(b, '"')
	b = fStr(b, "label", label)
	return key(b, kind)
}

// appendArg writes one argument. Scalar values are written even when zero:
// the oneof says the value is set, and int 0 or syscall 0 (read) is data.
func appendArg(b []byte, a *tetragon.KprobeArgument) []byte {
	label := a.GetLabel()
	switch x := a.GetArg().(type) {
	case *tetragon.KprobeArgument_StringArg:
		b = appendString(kindKey(b, ArgString, label), x.StringArg)
	case *tetragon.KprobeArgument_IntArg:
		b = strconv.AppendInt(kindKey(b, ArgInt, label), int64(x.IntArg), 10)
	case *tetragon.KprobeArgument_UintArg:
		b = strconv.AppendUint(kindKey(b, ArgUint, label), uint64(x.UintArg), 10)
	case *tetragon.KprobeArgument_LongArg:
		b = strconv.AppendInt(kindKey(b, ArgLong, label), x.LongArg, 10)
	case *tetragon.KprobeArgument_SizeArg:
		b = strconv.AppendUint(kindKey(b, ArgSize, label), x.SizeArg, 10)
	case *tetragon.KprobeArgument_BytesArg:
		b = append(kindKey(b, ArgBytes, label), '"')
		b = base64.StdEncoding.AppendEncode(b, x.BytesArg)
		b = append(b, '"')
	case *tetragon.KprobeArgument_TruncatedBytesArg:
		v := x.TruncatedBytesArg
		b = append(kindKey(b, ArgTruncatedBytes, label), '{')
		b = fBase64(b, "bytes", v.GetBytesArg())
		b = fU64(b, "orig_size", v.GetOrigSize())
		b = append(b, '}')
	case *tetragon.KprobeArgument_PathArg:
		v := x.PathArg
		b = appendPathLike(kindKey(b, ArgPath, label), v.GetMount(), v.GetPath(), v.GetFlags(), v.GetPermission())
	case *tetragon.KprobeArgument_FileArg:
		v := x.FileArg
		b = appendPathLike(kindKey(b, ArgFile, label), v.GetMount(), v.GetPath(), v.GetFlags(), v.GetPermission())
	case *tetragon.KprobeArgument_LinuxBinprmArg:
		v := x.LinuxBinprmArg
		b = appendPathLike(kindKey(b, ArgLinuxBinprm, label), "", v.GetPath(), v.GetFlags(), v.GetPermission())
	case *tetragon.KprobeArgument_SockArg:
		v := x.SockArg
		b = append(kindKey(b, ArgSock, label), '{')
		b = fStr(b, "family", v.GetFamily())
		b = fStr(b, "type", v.GetType())
		b = fStr(b, "protocol", v.GetProtocol())
		b = fU64(b, "mark", uint64(v.GetMark()))
		b = fU64(b, "priority", uint64(v.GetPriority()))
		b = fStr(b, "saddr", v.GetSaddr())
		b = fStr(b, "daddr", v.GetDaddr())
		b = fU64(b, "sport", uint64(v.GetSport()))
		b = fU64(b, "dport", uint64(v.GetDport()))
		b = fU64(b, "cookie", v.GetCookie())
		b = fStr(b, "state", v.GetState())
		b = append(b, '}')
	case *tetragon.KprobeArgument_SkbArg:
		v := x.SkbArg
		b = append(kindKey(b, ArgSkb, label), '{')
		b = fU64(b, "hash", uint64(v.GetHash()))
		b = fU64(b, "len", uint64(v.GetLen()))
		b = fU64(b, "priority", uint64(v.GetPriority()))
		b = fU64(b, "mark", uint64(v.GetMark()))
		b = fStr(b, "saddr", v.GetSaddr())
		b = fStr(b, "daddr", v.GetDaddr())
		b = fU64(b, "sport", uint64(v.GetSport()))
		b = fU64(b, "dport", uint64(v.GetDport()))
		b = fU64(b, "proto", uint64(v.GetProto()))
		b = fU64(b, "sec_path_len", uint64(v.GetSecPathLen()))
		b = fU64(b, "sec_path_olen", uint64(v.GetSecPathOlen()))
		b = fStr(b, "protocol", v.GetProtocol())
		b = fStr(b, "family", v.GetFamily())
		b = append(b, '}')
	case *tetragon.KprobeArgument_SockaddrArg:
		v := x.SockaddrArg
		b = append(kindKey(b, ArgSockaddr, label), '{')
		b = fStr(b, "family", v.GetFamily())
		b = fStr(b, "addr", v.GetAddr())
		b = fU64(b, "port", uint64(v.GetPort()))
		b = append(b, '}')
	case *tetragon.KprobeArgument_SockaddrunArg:
		v := x.SockaddrunArg
		b = append(kindKey(b, ArgSockaddrUn, label), '{')
		b = fStr(b, "family", v.GetFamily())
		b = fStr(b, "path", v.GetPath())
		b = append(b, '}')
	case *tetragon.KprobeArgument_NetDevArg:
		b = append(kindKey(b, ArgNetDev, label), '{')
		b = fStr(b, "name", x.NetDevArg.GetName())
		b = append(b, '}')
	case *tetragon.KprobeArgument_CredArg:
		v := x.CredArg
		b = appendCaps(kindKey(b, ArgCred, label), v.GetPermitted(), v.GetEffective(), v.GetInheritable())
	case *tetragon.KprobeArgument_CapabilityArg:
		v := x.CapabilityArg
		b = append(kindKey(b, ArgCapability, label), '{')
		b = fI32W(b, "value", v.GetValue())
		b = fStr(b, "name", v.GetName())
		b = append(b, '}')
	case *tetragon.KprobeArgument_UserNamespaceArg:
		v := x.UserNamespaceArg
		b = append(kindKey(b, ArgUserNamespace, label), '{')
		b = fI32W(b, "level", v.GetLevel())
		b = fU32W(b, "owner", v.GetOwner())
		b = fU32W(b, "group", v.GetGroup())
		b = fNamespace(b, "ns", v.GetNs())
		b = append(b, '}')
	case *tetragon.KprobeArgument_UserNsArg:
		b = appendUserNs(kindKey(b, ArgUserNs, label), x.UserNsArg)
	case *tetragon.KprobeArgument_ProcessCredentialsArg:
		b = appendCreds(kindKey(b, ArgProcessCredentials, label), x.ProcessCredentialsArg)
	case *tetragon.KprobeArgument_ModuleArg:
		v := x.ModuleArg
		b = append(kindKey(b, ArgModule, label), '{')
		b = fStr(b, "name", v.GetName())
		b = fBoolW(b, "signature_ok", v.GetSignatureOk())
		if t := v.GetTainted(); len(t) > 0 {
			b = append(key(b, "tainted"), '[')
			for _, bit := range t {
				b = appendEnum(elem(b), int32(bit), taintNames)
			}
			b = append(b, ']')
		}
		b = append(b, '}')
	case *tetragon.KprobeArgument_KernelCapTArg:
		b = appendString(kindKey(b, ArgKernelCapT, label), x.KernelCapTArg)
	case *tetragon.KprobeArgument_CapInheritableArg:
		b = appendString(kindKey(b, ArgCapInheritable, label), x.CapInheritableArg)
	case *tetragon.KprobeArgument_CapPermittedArg:
		b = appendString(kindKey(b, ArgCapPermitted, label), x.CapPermittedArg)
	case *tetragon.KprobeArgument_CapEffectiveArg:
		b = appendString(kindKey(b, ArgCapEffective, label), x.CapEffectiveArg)
	case *tetragon.KprobeArgument_BpfAttrArg:
		v := x.BpfAttrArg
		b = appendBpfProg(kindKey(b, ArgBpfAttr, label), v.GetProgType(), v.GetInsnCnt(), v.GetProgName())
	case *tetragon.KprobeArgument_BpfProgArg:
		v := x.BpfProgArg
		b = appendBpfProg(kindKey(b, ArgBpfProg, label), v.GetProgType(), v.GetInsnCnt(), v.GetProgName())
	case *tetragon.KprobeArgument_PerfEventArg:
		v := x.PerfEventArg
		b = append(kindKey(b, ArgPerfEvent, label), '{')
		b = fStr(b, "kprobe_func", v.GetKprobeFunc())
		b = fStr(b, "type", v.GetType())
		b = fU64(b, "config", v.GetConfig())
		b = fU64(b, "probe_offset", v.GetProbeOffset())
		b = append(b, '}')
	case *tetragon.KprobeArgument_BpfMapArg:
		v := x.BpfMapArg
		b = append(kindKey(b, ArgBpfMap, label), '{')
		b = fStr(b, "map_type", v.GetMapType())
		b = fU64(b, "key_size", uint64(v.GetKeySize()))
		b = fU64(b, "value_size", uint64(v.GetValueSize()))
		b = fU64(b, "max_entries", uint64(v.GetMaxEntries()))
		b = fStr(b, "map_name", v.GetMapName())
		b = append(b, '}')
	case *tetragon.KprobeArgument_BpfCmdArg:
		// BPF_MAP_CREATE is 0: written anyway, the oneof says it is set.
		b = appendEnum(kindKey(b, ArgBpfCmd, label), int32(x.BpfCmdArg), bpfCmdNames)
	case *tetragon.KprobeArgument_SyscallId:
		v := x.SyscallId
		b = append(kindKey(b, ArgSyscallID, label), '{')
		// Always written: syscall 0 is read(2) on x86-64.
		b = strconv.AppendUint(key(b, "id"), uint64(v.GetId()), 10)
		b = fStr(b, "abi", v.GetAbi())
		b = append(b, '}')
	case *tetragon.KprobeArgument_ErrorArg:
		b = append(kindKey(b, ArgError, label), '{')
		b = fStr(b, "message", x.ErrorArg.GetMessage())
		b = append(b, '}')
	default:
		b = append(b, `{"type":"unknown"`...)
		b = fStr(b, "label", label)
		if a != nil {
			b = fBase64(b, "raw", a.ProtoReflect().GetUnknown())
		}
	}
	return append(b, '}')
}

func appendPathLike(b []byte, mount, path, flags, perm string) []byte {
	b = append(b, '{')
	b = fStr(b, "mount", mount)
	b = fStr(b, "path", path)
	b = fStr(b, "flags", flags)
	b = fStr(b, "permission", perm)
	return append(b, '}')
}

func appendBpfProg(b []byte, progType string, insnCnt uint32, name string) []byte {
	b = append(b, '{')
	b = fStr(b, "prog_type", progType)
	b = fU64(b, "insn_cnt", uint64(insnCnt))
	b = fStr(b, "prog_name", name)
	return append(b, '}')
}
