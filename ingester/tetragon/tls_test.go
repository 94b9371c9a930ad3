package tetragon

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tetragon-fanout/tetragon-fanout/ingester/metrics"
	"github.com/tetragon-fanout/tetragon-fanout/shared/sim"
)

type pki struct {
	ca           *x509.Certificate
	caKey        *ecdsa.PrivateKey
	caFile       string
	serverCert   tls.Certificate
	clientCert   string
	clientKey    string
	otherCert    string
	otherCertKey string
}

func writePEM(t *testing.T, path, typ string, der []byte) {
	t.Helper()
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
}

func newCA(t *testing.T, name string) (*x509.Certificate, *ecdsa.PrivateKey, []byte) {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := x509.ParseCertificate(der)
	return c, key, der
}

func issue(t *testing.T, ca *x509.Certificate, caKey *ecdsa.PrivateKey, cn string, usage x509.ExtKeyUsage, ip net.IP) ([]byte, *ecdsa.PrivateKey) {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{usage},
		DNSNames: []string{cn},
	}
	if ip != nil {
		tmpl.IPAddresses = []net.IP{ip}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	return der, key
}

func newPKI(t *testing.T) *pki {
	dir := t.TempDir()
	p := &pki{}
	var caDER []byte
	p.ca, p.caKey, caDER = newCA(t, "test-ca")
	p.caFile = filepath.Join(dir, "ca.pem")
	writePEM(t, p.caFile, "CERTIFICATE", caDER)

	sDER, sKey := issue(t, p.ca, p.caKey, "tetragon.test", x509.ExtKeyUsageServerAuth, net.ParseIP("127.0.0.1"))
	sKeyDER, _ := x509.MarshalECPrivateKey(sKey)
	var err error
	p.serverCert, err = tls.X509KeyPair(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: sDER}), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: sKeyDER}))
	if err != nil {
		t.Fatal(err)
	}
	cDER, cKey := issue(t, p.ca, p.caKey, "ingester", x509.ExtKeyUsageClientAuth, nil)
	cKeyDER, _ := x509.MarshalECPrivateKey(cKey)
	p.clientCert, p.clientKey = filepath.Join(dir, "client.pem"), filepath.Join(dir, "client-key.pem")
	writePEM(t, p.clientCert, "CERTIFICATE", cDER)
	writePEM(t, p.clientKey, "EC PRIVATE KEY", cKeyDER)

	// A client certificate from a CA the server does not trust.
	other, otherKey, _ := newCA(t, "other-ca")
	oDER, oKey := issue(t, other, otherKey, "intruder", x509.ExtKeyUsageClientAuth, nil)
	oKeyDER, _ := x509.MarshalECPrivateKey(oKey)
	p.otherCert, p.otherCertKey = filepath.Join(dir, "other.pem"), filepath.Join(dir, "other-key.pem")
	writePEM(t, p.otherCert, "CERTIFICATE", oDER)
	writePEM(t, p.otherCertKey, "EC PRIVATE KEY", oKeyDER)
	return p
}

// mTLS against the simulator speaking TLS on TCP: the right client
// certificate streams events; a wrong one or none never connects.
func TestMutualTLS(t *testing.T) {
	p := newPKI(t)
	pool := x509.NewCertPool()
	pool.AddCert(p.ca)
	cfg := sim.DefaultConfig()
	cfg.Rate = 1000
	cfg.Logger = quietLog()
	cfg.TLS = &tls.Config{Certificates: []tls.Certificate{p.serverCert}, ClientCAs: pool, ClientAuth: tls.RequireAndVerifyClientCert, MinVersion: tls.VersionTLS12}
	s, err := sim.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}

	receive := func(tlsOpts TLSOptions, wait time.Duration) (int, *Receiver) {
		m := metrics.New(prometheus.NewRegistry())
		r, err := NewReceiver(Options{Addr: mustAddr(t, s.Target()), TLS: tlsOpts, ReconnectMin: 20 * time.Millisecond, ReconnectMax: 100 * time.Millisecond, HealthyAfter: time.Second}, m, quietLog())
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		ctx, cancel := context.WithTimeout(context.Background(), wait)
		defer cancel()
		n := 0
		_ = r.Run(ctx, func([]byte) { n++ })
		return n, r
	}
	good := TLSOptions{Enabled: true, CAFile: p.caFile, CertFile: p.clientCert, KeyFile: p.clientKey, ServerName: "tetragon.test"}
	if n, _ := receive(good, 2*time.Second); n < 100 {
		t.Fatalf("mTLS client received %d events", n)
	}
	bad := good
	bad.CertFile, bad.KeyFile = p.otherCert, p.otherCertKey
	if n, _ := receive(bad, time.Second); n != 0 {
		t.Fatalf("client with an untrusted certificate received %d events", n)
	}
	none := TLSOptions{Enabled: true, CAFile: p.caFile, ServerName: "tetragon.test"}
	if n, _ := receive(none, time.Second); n != 0 {
		t.Fatalf("client without a certificate received %d events", n)
	}
	wrongName := good
	wrongName.ServerName = "someone.else"
	if n, _ := receive(wrongName, time.Second); n != 0 {
		t.Fatalf("client accepted a server certificate for another name: %d events", n)
	}
}
