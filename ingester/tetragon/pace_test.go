package tetragon

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"path/filepath"
	"testing"
	"time"
)

// pacedPair is a paced client end and the plain server end of a unix
// socket, dialled the way the receiver dials Tetragon.
func pacedPair(t *testing.T, p Pacing) (*pacedConn, net.Conn) {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "s")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			close(accepted)
			return
		}
		accepted <- c
	}()
	c, err := pacedDialer(p)(context.Background(), "unix://"+sock)
	if err != nil {
		t.Fatal(err)
	}
	srv := <-accepted
	if srv == nil {
		t.Fatal("accept failed")
	}
	t.Cleanup(func() { _ = c.Close(); _ = srv.Close() })
	return c.(*pacedConn), srv
}

// Events written a millisecond apart are read in a few batches, not one
// read per event: that is the whole point.
func TestPacedReadsBatchSmallWrites(t *testing.T) {
	c, srv := pacedPair(t, Pacing{MaxWait: 50 * time.Millisecond, BatchBytes: 1 << 20})
	const events, size = 200, 1400
	go func() {
		ev := bytes.Repeat([]byte{'e'}, size)
		for range events {
			if _, err := srv.Write(ev); err != nil {
				return
			}
			time.Sleep(time.Millisecond)
		}
		_ = srv.Close()
	}()
	// As gRPC reads: into a large buffer.
	buf, got := make([]byte, 256<<10), 0
	for {
		n, err := c.Read(buf)
		got += n
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if got != events*size {
		t.Fatalf("read %d bytes, want %d", got, events*size)
	}
	// 200 writes over >= 200 ms with waits of up to 50 ms: a handful of
	// reads. Unpaced, a reader that keeps up reads each write on its own.
	if c.reads > events/5 {
		t.Fatalf("%d reads returned bytes for %d writes: reads are not batched", c.reads, events)
	}
	t.Logf("%d writes of %d bytes: %d reads, %d waits", events, size, c.reads, c.waits)
}

// A sender faster than the socket can hold is never held back by waits: a
// read of half the socket's buffer is followed by another at once.
func TestPacedReadsKeepUpWithAFastSender(t *testing.T) {
	c, srv := pacedPair(t, Pacing{MaxWait: 100 * time.Millisecond, BatchBytes: 1 << 20})
	const total = 16 << 20
	go func() {
		chunk := bytes.Repeat([]byte{'x'}, 64<<10)
		for sent := 0; sent < total; sent += len(chunk) {
			if _, err := srv.Write(chunk); err != nil {
				return
			}
		}
		_ = srv.Close()
	}()
	buf := make([]byte, 256<<10)
	n := 0
	for {
		m, err := c.Read(buf)
		n += m
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if n != total {
		t.Fatalf("read %d bytes, want %d", n, total)
	}
	// Each wait lets at most a socket's worth through: 16 MiB over a
	// ~200 KiB socket takes ~80 waits if they throttle the stream. The cap
	// halves from 100 ms to nothing in 8 waits; after that a wait of 1 ms
	// now and then probes whether the rate fell.
	if c.waits > 20 {
		t.Fatalf("%d waits while reading %d MiB from a sender that never paused: waits throttle the stream", c.waits, total>>20)
	}
	t.Logf("%d MiB: %d reads, %d waits", total>>20, c.reads, c.waits)
}

// Close ends a read that waits in the kernel for bytes that never come.
func TestPacedCloseEndsABlockedRead(t *testing.T) {
	c, _ := pacedPair(t, Pacing{MaxWait: 10 * time.Millisecond, BatchBytes: 1 << 20})
	done := make(chan error, 1)
	go func() {
		_, err := c.Read(make([]byte, 1024))
		done <- err
	}()
	time.Sleep(50 * time.Millisecond) // let it block in the kernel
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err == nil {
			t.Fatal("read after Close returned no error")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Close did not end the blocked read")
	}
	if _, err := c.Read(make([]byte, 8)); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("read on a closed conn: %v, want net.ErrClosed", err)
	}
}

// Writes go through too (gRPC's window updates, pings and the request).
func TestPacedWrite(t *testing.T) {
	c, srv := pacedPair(t, Pacing{MaxWait: 10 * time.Millisecond, BatchBytes: 1 << 20})
	if _, err := c.Write([]byte("hello")); err != nil {
		t.Fatal(err)
	}
	got := make([]byte, 5)
	if _, err := io.ReadFull(srv, got); err != nil || string(got) != "hello" {
		t.Fatalf("server read %q, %v", got, err)
	}
}
