// Package eventid derives the event id: the key of every message on the raw
// topic and of every output, and the dedup table key.
//
// An id is 32 lowercase hex characters (128 bits). It is derived only from
// the fields that identify one event, never from the whole bytes: Tetragon
// writes maps (pod labels, node labels) in no fixed order, so one event can
// arrive as different bytes, and a hash of the bytes would let duplicates
// through. Two entry points compute it and agree exactly:
// [FromBytes] parses raw GetEventsResponse bytes without unmarshalling them
// (the ingester's hot path), [FromResponse] reads a decoded message.
//
// # Scheme, version 1
//
// The fields are written into one canonical byte string, which is hashed:
//
//	id = lowercase_hex( SHA-256(canon)[0:16] )
//
//	canon = 0x01                          scheme version
//	      | uvarint(type)                 oneof field number of the event (= tetragon.EventType); 0: no event
//	      | be64(time.seconds) be32(time.nanos)   GetEventsResponse.time (1001), raw two's-complement values
//	      | lp(node_name)                 GetEventsResponse.node_name (1000)
//	      | process part                  only for exec, exit, kprobe, tracepoint, loader, uprobe, lsm, usdt
//	      | discriminators                per type, below
//
//	process part   = lp(process.exec_id) be32(process.pid.value) be32(process.tid.value)
//	lp(s)          = uvarint(len(s)) | s
//	discriminators = the type's string/bytes fields as lp(...), in the order listed,
//	                 then its integer fields as be64(...), in the order listed
//	                 (32-bit fields as their uint32 bit pattern, zero-extended)
//
//	type                  field  strings (field numbers in the event message)          integers
//	process_exec             1   -                                                     -
//	process_exit             5   signal(3)                                             status(4)
//	process_kprobe           9   function_name(3) policy_name(8)                       -
//	process_tracepoint      10   subsys(4) event(5) policy_name(7)                     -
//	process_loader          11   path(2) buildid(3, bytes)                             -
//	process_uprobe          12   path(3) symbol(4) policy_name(5)                      -
//	process_throttle        27   cgroup(2)                                             type(1)
//	process_lsm             28   function_name(3) policy_name(5)                       -
//	process_usdt            29   path(3) provider(4) name(5) policy_name(6)            -
//	test                 40000   -                                                     arg0(1) arg1(2) arg2(3) arg3(4)
//	rate_limit_info      40001   -                                                     number_of_dropped_process_events(1)
//
// An absent message or wrapper reads as its zero value (a missing pid is pid
// 0, a missing process is an empty exec_id and zeros), so presence never
// changes an id. Every variable-length field is length-prefixed and the type
// fixes the layout, so distinct field values never produce the same canon.
//
// Unknown types (a newer Tetragon): a top-level length-delimited field whose
// number this package does not know and that lies in the oneof's ranges
// (below 1000 or from 40000; 1000-1004 are the response's own fields) is taken
// as the event, and canon ends, after node_name, with SHA-256 of that field's
// payload instead of the process part and discriminators. This fallback IS
// byte-sensitive: if the newer event contains a map, its duplicates may get
// different ids until this package learns the type. A known event wins over
// such a field; among several, the last occurrence wins. Teaching the package
// a type changes the id of that type's events (the version byte stays 1: ids
// of known types never change).
//
// # Why these fields are enough
//
// The time is the kernel's ktime of the BPF event converted to wall clock at
// ns resolution; exec_id is base64("node:ktime:pid") of the process. Two
// distinct events of one thread (tid) at the same ns would need two BPF
// programs to read the same ktime on one CPU one after the other, which takes
// far more than 1 ns. Hooks that could coincide are told apart by the
// discriminators (function/policy, subsys/event, ...). A kprobe with a return
// probe is one event: Tetragon merges the entry and return messages in user
// space into one event carrying the entry's time (and drops an unmatched
// half), so no `return` field is needed; recursion on one thread has later
// entry times. Arguments are left out on purpose: they are large, and field
// filters or redaction may remove them. Events without exec_id (kernel
// threads, for one) still differ by pid, tid and time.
// cluster_name is not in the id: exec_id already embeds the node name and a
// boot-relative ktime. Throttle events differ by cgroup, type and time; rate
// limit info by time and count.
//
// # Properties
//
// SHA-256 because it is in every standard library (a Java or Python producer
// can compute the same id from this page), it is stable by definition (no
// seeds), it runs on SHA-NI here (canon is ~200 bytes: a few hundred ns), and
// being collision resistant means no one who controls a process name or path
// can make a security event collide with another and be dropped as a
// duplicate. 128 bits: the chance of any collision among 10^9 ids in a dedup
// window is about 10^-21.
//
// The ingester must refuse field filters or redaction that remove a field
// named above, or ids change between copies of one event.
package eventid
