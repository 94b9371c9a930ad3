package generate

import (
	"bytes"
	"testing"
	"time"

	"github.com/cilium/tetragon/api/v1/tetragon"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

// The hand encoder must produce exactly what proto.Marshal does for the
// same Process (labels: one entry, so map order cannot differ).
func TestEncodePreMatchesProtoMarshal(t *testing.T) {
	start := time.Date(2026, 11, 23, 10, 0, 0, 123456789, time.UTC)
	img := &tetragon.Image{Id: "docker.io/library/nginx@sha256:abc", Name: "docker.io/library/nginx:1.27.2"}
	cstart := timestamppb.New(start.Add(-time.Hour).Truncate(time.Second))
	for _, priv := range []bool{false, true} {
		pw := &podWire{
			head:     mustMarshal(&tetragon.Pod{Namespace: "payments", Name: "nginx-abc", Uid: "u-1"}),
			contHead: mustMarshal(&tetragon.Container{Id: "containerd://0123", Name: "nginx", Image: img, StartTime: cstart}),
			tail:     mustMarshal(&tetragon.Pod{PodLabels: map[string]string{"app": "nginx"}, Workload: "nginx", WorkloadKind: "Deployment"}),
		}
		want := &tetragon.Process{
			ExecId: "ZXhlYw==", Pid: wrapperspb.UInt32(4242), Uid: wrapperspb.UInt32(0), Cwd: "/", Binary: "/usr/sbin/nginx",
			Flags: "execve rootcwd clone", StartTime: timestamppb.New(start), Auid: wrapperspb.UInt32(4294967295),
			Pod: &tetragon.Pod{Namespace: "payments", Name: "nginx-abc", Uid: "u-1",
				Container: &tetragon.Container{Id: "containerd://0123", Name: "nginx", Image: img, StartTime: cstart, Pid: wrapperspb.UInt32(7)},
				PodLabels: map[string]string{"app": "nginx"}, Workload: "nginx", WorkloadKind: "Deployment"},
			Docker: "0123", ParentExecId: "cGFyZW50",
		}
		if priv {
			pw.contTail = mustMarshal(&tetragon.Container{SecurityContext: &tetragon.SecurityContext{Privileged: true}})
			want.Pod.Container.SecurityContext = &tetragon.SecurityContext{Privileged: true}
		}
		f := processFields{execID: "ZXhlYw==", pid: 4242, cwd: "/", binary: "/usr/sbin/nginx", flags: "execve rootcwd clone",
			start: start.UnixNano(), auid: 4294967295, pod: pw, cpid: 7, docker: "0123", parentExecID: "cGFyZW50"}
		got := f.encodePre()
		if wb := mustMarshal(want); !bytes.Equal(got, wb) {
			var dec tetragon.Process
			err := proto.Unmarshal(got, &dec)
			t.Fatalf("privileged=%v: encoding differs from proto.Marshal (decode err %v)\n got %x\nwant %x\n%v", priv, err, got, wb, &dec)
		}
	}
}
