package sim

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"testing"
	"time"

	"github.com/cilium/tetragon/api/v1/tetragon"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
)

func selfSigned(t *testing.T) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "tetragon-sim"},
		DNSNames: []string{"localhost"}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, pool
}

// The TLS hook later security work builds on: Config.TLS is applied.
func TestTLS(t *testing.T) {
	cert, pool := selfSigned(t)
	cfg := testConfig()
	cfg.Events = 50
	cfg.TLS = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS13}
	s := startServer(t, cfg)
	ctx := testCtx(t)

	plain := dial(t, s.Target())
	if _, err := plain.GetVersion(ctx, &tetragon.GetVersionRequest{}); err == nil {
		t.Fatal("plaintext client served by a TLS server")
	}
	c := dial(t, s.Target(), grpc.WithTransportCredentials(credentials.NewTLS(&tls.Config{RootCAs: pool, ServerName: "localhost"})))
	receive(t, ctx, c, &tetragon.GetEventsRequest{}, 50)
}

// Stop does not hang on a client that stopped reading: after StopTimeout
// it cuts the connection and books what that client lost.
func TestStopWithStuckClient(t *testing.T) {
	cfg := testConfig()
	cfg.Queue, cfg.StopTimeout, cfg.Record = 5, 200*time.Millisecond, true // rate 0: the pump blocks on this client
	s := startServer(t, cfg)
	c := dial(t, s.Target(), grpc.WithInitialWindowSize(65535), grpc.WithInitialConnWindowSize(65535))
	st, err := c.GetEvents(testCtx(t), &tetragon.GetEventsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	recvN(t, st, 1)
	// Not reading: wait until flow control stalls the stream (nothing
	// more is delivered) with the queue full behind it.
	var last uint64
	eventually(t, "stalled with a full queue", func() bool {
		time.Sleep(100 * time.Millisecond)
		cs := s.Stats().Clients[0]
		stalled := cs.Delivered == last && cs.Enqueued-cs.Delivered > uint64(cfg.Queue)
		last = cs.Delivered
		return stalled
	})
	s.Stop()
	eventually(t, "books closed", func() bool { return !s.Stats().Clients[0].Connected })
	cs := s.Stats().Clients[0]
	if cs.Lost == 0 || cs.Enqueued+1 != cs.Delivered+cs.Lost { // +1: the hand-out abandoned at the timeout
		t.Fatalf("books after a cut: %+v", cs)
	}
	if uint64(len(s.Records())) != cs.Enqueued+1 {
		t.Fatalf("%d records, %+v", len(s.Records()), cs)
	}
}
