// Package replay turns Tetragon JSON export files (one GetEventsResponse
// per line, protojson with proto names) into an endless event source.
// Each pass over the files yields new, distinct events: fresh per-node
// times and exec_ids that carry the simulator's nonce and the pass, mapped
// consistently within a pass so exec -> kprobe -> exit chains stay linked.
package replay

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/cilium/tetragon/api/v1/tetragon"
	"github.com/cilium/tetragon/api/v1/tetragon/codegen/helpers"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/tetragon-fanout/tetragon-fanout/shared/eventtype"
	"github.com/tetragon-fanout/tetragon-fanout/shared/sim/source"
)

// BadLine is a line that strict decoding rejected (legacy event types
// fail with "unknown field") or that holds no event.
type BadLine struct {
	File string
	Line int
	Err  error
}

func (b BadLine) String() string { return fmt.Sprintf("%s:%d: %v", b.File, b.Line, b.Err) }

// File is what one file contributed.
type File struct {
	Path   string
	Events int
	Bad    int
}

// Set is the decoded content of the replay files.
type Set struct {
	Files []File
	Bad   []BadLine
	items []item
}

// Len is the number of decodable events.
func (s *Set) Len() int { return len(s.items) }

// Events returns copies of the decoded events in file order.
func (s *Set) Events() []*tetragon.GetEventsResponse {
	out := make([]*tetragon.GetEventsResponse, len(s.items))
	for i, it := range s.items {
		out[i] = proto.CloneOf(it.msg)
	}
	return out
}

type item struct {
	msg  *tetragon.GetEventsResponse
	meta source.Event // everything but Bytes, Time, ExecID
}

// ErrNoEvents is returned by Load when no line of any file decodes.
var ErrNoEvents = errors.New("no decodable events")

// Load reads and strictly decodes every file. Undecodable lines are
// collected in Set.Bad, not returned as errors; I/O errors are. Errors are
// not prefixed with the package name: the caller names the setting (the
// sim's --replay), and the os errors already name the file and operation
// ("open x.jsonl: ...", "read adir: is a directory").
func Load(paths ...string) (*Set, error) {
	s := &Set{}
	for _, p := range paths {
		f, err := os.Open(p)
		if err != nil {
			return nil, err
		}
		err = s.read(p, f)
		f.Close()
		if err != nil {
			return nil, err
		}
	}
	if len(s.items) == 0 {
		return s, fmt.Errorf("%s: %w", strings.Join(paths, ", "), ErrNoEvents)
	}
	return s, nil
}

// Drop removes every event of the given type (our spelling) from the set
// and returns how many it removed. The simulator uses it to keep
// rate_limit_info, which Tetragon writes only to its export file, off the
// gRPC stream.
func (s *Set) Drop(typ string) int {
	n := len(s.items)
	s.items = slices.DeleteFunc(s.items, func(it item) bool { return it.meta.Type == typ })
	return n - len(s.items)
}

func (s *Set) read(name string, r io.Reader) error {
	br := bufio.NewReaderSize(r, 1<<16)
	fs := File{Path: name}
	for line := 1; ; line++ {
		b, err := br.ReadBytes('\n')
		if len(bytes.TrimSpace(b)) > 0 {
			var m tetragon.GetEventsResponse
			switch derr := protojson.Unmarshal(b, &m); {
			case derr != nil:
				s.Bad = append(s.Bad, BadLine{name, line, derr})
				fs.Bad++
			case m.Event == nil:
				s.Bad = append(s.Bad, BadLine{name, line, errors.New("no event in line")})
				fs.Bad++
			default:
				s.items = append(s.items, item{msg: &m, meta: metaOf(&m)})
				fs.Events++
			}
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
	}
	s.Files = append(s.Files, fs)
	return nil
}

func metaOf(m *tetragon.GetEventsResponse) source.Event {
	typ := eventtype.FromResponse(m)
	k, _ := eventtype.FilterName(typ)
	ev := source.Event{Kind: k, Type: typ, Node: m.NodeName}
	if p := helpers.ResponseGetProcess(m); p != nil {
		ev.HasProcess, ev.Binary, ev.Tid = true, p.Binary, p.Tid.GetValue()
		if p.Pod != nil {
			ev.HasPod, ev.Namespace, ev.Pod = true, p.Pod.Namespace, p.Pod.Name
		}
	}
	if t := eventtype.Of(m); t != nil {
		ev.Policy = t.Parts(m).PolicyName
	}
	return ev
}

// Source replays a Set forever.
type Source struct {
	set    *Set
	nonce  uint32
	now    func() time.Time
	pos    int
	pass   int
	seq    uint64
	ids    map[string]string // original exec_id -> this pass's
	clocks map[string]*source.NodeClock
}

// NewSource replays set with identities from nonce (0: a random one) and
// times from now (nil: time.Now).
func NewSource(set *Set, nonce uint32, now func() time.Time) *Source {
	if nonce == 0 {
		nonce = source.NewNonce()
	}
	if now == nil {
		now = time.Now
	}
	return &Source{set: set, nonce: nonce, now: now, ids: map[string]string{}, clocks: map[string]*source.NodeClock{}}
}

// Pass is the number of completed passes over the files.
func (s *Source) Pass() int { return s.pass }

// Next returns the next event with fresh identity.
func (s *Source) Next() (source.Event, error) {
	if s.pos == len(s.set.items) {
		s.pos, s.pass = 0, s.pass+1
		clear(s.ids)
	}
	it := s.set.items[s.pos]
	s.pos++
	m := proto.CloneOf(it.msg)
	c := s.clocks[m.NodeName]
	if c == nil {
		c = &source.NodeClock{}
		s.clocks[m.NodeName] = c
	}
	t := c.Stamp(s.now().UnixNano())
	m.Time = timestamppb.New(time.Unix(0, t))
	if e, ok := m.Event.(*tetragon.GetEventsResponse_ProcessExit); ok && e.ProcessExit.Time != nil {
		e.ProcessExit.Time = m.Time
	}
	for _, p := range processes(m) {
		p.ExecId = s.execID(p.ExecId, m.NodeName, p.Pid.GetValue())
		p.ParentExecId = s.execID(p.ParentExecId, m.NodeName, 0)
	}
	b, err := proto.Marshal(m)
	if err != nil {
		return source.Event{}, fmt.Errorf("replay: marshal: %w", err)
	}
	ev := it.meta
	ev.Bytes, ev.Time = b, t
	ev.ExecID = helpers.ResponseGetProcess(m).GetExecId()
	return ev, nil
}

func processes(m *tetragon.GetEventsResponse) []*tetragon.Process {
	var ps []*tetragon.Process
	if p := helpers.ResponseGetProcess(m); p != nil {
		ps = append(ps, p)
	}
	if p := helpers.ResponseGetParent(m); p != nil {
		ps = append(ps, p)
	}
	return append(ps, helpers.ResponseGetAncestors(m)...)
}

// execID maps an original exec_id to this pass's. The node and pid inside
// the original ("node:ktime:pid") are kept; the ktime becomes
// nonce+sequence. Empty stays empty: Tetragon sends those too.
func (s *Source) execID(orig, node string, pid uint32) string {
	if orig == "" {
		return ""
	}
	if id, ok := s.ids[orig]; ok {
		return id
	}
	if raw, err := base64.StdEncoding.DecodeString(orig); err == nil {
		parts := strings.Split(string(raw), ":")
		if len(parts) >= 3 {
			if v, err := strconv.ParseUint(parts[len(parts)-1], 10, 32); err == nil {
				node, pid = strings.Join(parts[:len(parts)-2], ":"), uint32(v)
			}
		}
	}
	s.seq++
	id := source.ExecID(node, source.Ktime(s.nonce, s.seq), pid)
	s.ids[orig] = id
	return id
}
