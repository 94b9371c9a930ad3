// Package tetragon receives events from Tetragon's gRPC GetEvents stream as
// raw protobuf bytes, reconnecting forever with backoff, and parses and
// checks the server-side filters the stream is opened with.
package tetragon

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strings"
	"sync/atomic"
	"time"

	"github.com/cilium/tetragon/api/v1/tetragon"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/experimental"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/status"

	"github.com/tetragon-fanout/tetragon-fanout/ingester/metrics"
	"github.com/tetragon-fanout/tetragon-fanout/shared/backoff"
)

// MinRecvBytes is the smallest accepted TETRAGON_MAX_RECV_BYTES: exec events
// with long argument lists exceed gRPC's 4 MiB default, and a message over
// the limit fails the whole stream instead of one event.
const MinRecvBytes = 10 << 20

// TLSOptions secure a TCP connection to Tetragon.
type TLSOptions struct {
	Enabled    bool
	CAFile     string
	CertFile   string
	KeyFile    string
	ServerName string
}

// Options configure a Receiver.
type Options struct {
	// Addr is the parsed TETRAGON_ADDR (ParseAddr; config parses it once).
	Addr             Addr
	TLS              TLSOptions
	MaxRecvBytes     int
	KeepaliveTime    time.Duration
	KeepaliveTimeout time.Duration
	ReconnectMin     time.Duration
	ReconnectMax     time.Duration
	// HealthyAfter: a stream that stayed up this long, or delivered any
	// event, resets the reconnect backoff.
	HealthyAfter time.Duration
	Request      *tetragon.GetEventsRequest
	// Pacing batches socket reads (pace.go); zero MaxWait reads as data comes.
	Pacing Pacing
}

// Addr is a parsed TETRAGON_ADDR.
type Addr struct {
	// Target is what grpc.NewClient dials.
	Target string
	Unix   bool
	// Host of a TCP address, for the loopback check.
	Host string
	// Raw is the address as given, for messages.
	Raw string
}

// ParseAddr reads unix:///path (or a bare absolute path) and host:port.
func ParseAddr(s string) (Addr, error) {
	switch {
	case s == "":
		return Addr{}, errors.New("is empty")
	case strings.HasPrefix(s, "unix://"):
		if len(s) <= len("unix://") || !strings.HasPrefix(s, "unix:///") {
			return Addr{}, fmt.Errorf("%q: want unix:///absolute/path", s)
		}
		return Addr{Target: s, Unix: true, Raw: s}, nil
	case strings.HasPrefix(s, "unix:"):
		if len(s) == len("unix:") {
			return Addr{}, fmt.Errorf("%q: no socket path", s)
		}
		return Addr{Target: s, Unix: true, Raw: s}, nil
	case strings.HasPrefix(s, "/"):
		return Addr{Target: "unix://" + s, Unix: true, Raw: s}, nil
	}
	host, port, err := net.SplitHostPort(s)
	if err != nil || port == "" {
		return Addr{}, fmt.Errorf("%q: want unix:///path or host:port", s)
	}
	return Addr{Target: "dns:///" + s, Host: host, Raw: s}, nil
}

// Loopback reports whether a TCP host is this machine, where plaintext is
// acceptable. Names other than localhost are not resolved: DNS could answer
// differently later.
func (a Addr) Loopback() bool {
	if a.Unix {
		return true
	}
	if strings.EqualFold(a.Host, "localhost") {
		return true
	}
	ip := net.ParseIP(a.Host)
	return ip != nil && ip.IsLoopback()
}

// Receiver holds one gRPC connection to Tetragon and reads its event stream.
type Receiver struct {
	opts      Options
	conn      *grpc.ClientConn
	codec     passthroughCodec
	m         *metrics.Metrics
	log       *slog.Logger
	connected atomic.Bool
}

// NewReceiver prepares the connection; nothing is dialled until Run.
func NewReceiver(o Options, m *metrics.Metrics, log *slog.Logger) (*Receiver, error) {
	if o.Addr.Target == "" {
		return nil, errors.New("tetragon address: is empty")
	}
	creds := insecure.NewCredentials()
	if o.TLS.Enabled {
		tc, err := tlsConfig(o.TLS)
		if err != nil {
			return nil, err
		}
		creds = credentials.NewTLS(tc)
	}
	if o.MaxRecvBytes <= 0 {
		o.MaxRecvBytes = MinRecvBytes
	}
	if o.Request == nil {
		o.Request = &tetragon.GetEventsRequest{}
	}
	opts := []grpc.DialOption{
		grpc.WithTransportCredentials(creds),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(o.MaxRecvBytes)),
		// Large reads: each event is small, but they come by the ten thousand.
		grpc.WithReadBufferSize(256 << 10),
		grpc.WithInitialWindowSize(4 << 20),
		grpc.WithInitialConnWindowSize(8 << 20),
		experimental.WithBufferPool(&dirtyPool{}),
	}
	if o.Pacing.MaxWait > 0 {
		opts = append(opts, grpc.WithContextDialer(pacedDialer(o.Pacing)))
	}
	if o.KeepaliveTime > 0 {
		opts = append(opts, grpc.WithKeepaliveParams(keepalive.ClientParameters{
			Time: o.KeepaliveTime, Timeout: o.KeepaliveTimeout,
		}))
	}
	conn, err := grpc.NewClient(o.Addr.Target, opts...)
	if err != nil {
		return nil, fmt.Errorf("tetragon client for %s: %w", o.Addr.Raw, err)
	}
	return &Receiver{opts: o, conn: conn, codec: newPassthroughCodec(), m: m, log: log}, nil
}

func tlsConfig(o TLSOptions) (*tls.Config, error) {
	tc := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: o.ServerName}
	if o.CAFile != "" {
		pem, err := os.ReadFile(o.CAFile)
		if err != nil {
			return nil, fmt.Errorf("TETRAGON_TLS_CA_FILE: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("TETRAGON_TLS_CA_FILE: %s holds no PEM certificate", o.CAFile)
		}
		tc.RootCAs = pool
	}
	if o.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(o.CertFile, o.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("TETRAGON_TLS_CERT_FILE/TETRAGON_TLS_KEY_FILE: %w", err)
		}
		tc.Certificates = []tls.Certificate{cert}
	}
	return tc, nil
}

// Connected reports whether the stream is open.
func (r *Receiver) Connected() bool { return r.connected.Load() }

// Close releases the connection.
func (r *Receiver) Close() error { return r.conn.Close() }

// Run reads the stream until ctx ends, calling fn with each event's bytes
// (fn owns them). Any stream error or end reconnects after an exponential,
// jittered backoff that resets after a healthy stream. It returns nil when
// ctx ends.
func (r *Receiver) Run(ctx context.Context, fn func(raw []byte)) error {
	bo := backoff.New(r.opts.ReconnectMin, r.opts.ReconnectMax)
	for {
		start := time.Now()
		n, err := r.stream(ctx, fn)
		r.setConnected(false)
		if ctx.Err() != nil {
			return nil
		}
		up := time.Since(start)
		if n > 0 || up >= r.opts.HealthyAfter {
			bo.Reset()
		}
		wait := bo.Next()
		r.m.TetragonReconnects.Inc()
		code := status.Code(err)
		if errors.Is(err, io.EOF) {
			code = codes.OK
		}
		r.m.TetragonStreamErrs.WithLabelValues(code.String()).Inc()
		r.m.TetragonBackoff.Set(wait.Seconds())
		r.log.Warn("tetragon stream ended, reconnecting", "addr", r.opts.Addr.Raw, "err", err,
			"events", n, "up", up.Round(time.Millisecond).String(), "wait", wait.Round(time.Millisecond).String(), "attempt", bo.Attempts())
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
	}
}

// stream runs one GetEvents call and returns how many events it delivered.
func (r *Receiver) stream(ctx context.Context, fn func(raw []byte)) (int, error) {
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	cs, err := r.conn.NewStream(sctx, &tetragon.FineGuidanceSensors_ServiceDesc.Streams[0],
		tetragon.FineGuidanceSensors_GetEvents_FullMethodName, grpc.ForceCodecV2(r.codec))
	if err != nil {
		return 0, fmt.Errorf("open GetEvents: %w", err)
	}
	if err := cs.SendMsg(r.opts.Request); err != nil {
		return 0, fmt.Errorf("send GetEventsRequest: %w", err)
	}
	if err := cs.CloseSend(); err != nil {
		return 0, fmt.Errorf("close send: %w", err)
	}
	r.setConnected(true)
	r.log.Info("tetragon stream open", "addr", r.opts.Addr.Raw)
	n := 0
	for {
		var raw []byte
		if err := cs.RecvMsg(&raw); err != nil {
			return n, err
		}
		n++
		fn(raw)
	}
}

func (r *Receiver) setConnected(up bool) {
	r.connected.Store(up)
	if up {
		r.m.TetragonConnected.Set(1)
		r.m.TetragonBackoff.Set(0)
	} else {
		r.m.TetragonConnected.Set(0)
	}
}
