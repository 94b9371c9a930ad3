package main

import (
	"bytes"
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
	"strings"
	"testing"
	"time"
)

// writeCert writes a self-signed certificate (also usable as a CA) and its
// key as PEM files.
func writeCert(t *testing.T, dir, name string) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, name+".pem"), filepath.Join(dir, name+"-key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile
}

func TestTLSFlags(t *testing.T) {
	dir := t.TempDir()
	cert, key := writeCert(t, dir, "server")
	ca, _ := writeCert(t, dir, "client-ca")

	tc, _, err := serverTLS(cert, key, "")
	if err != nil || tc == nil || len(tc.Certificates) != 1 || tc.ClientAuth != tls.NoClientCert {
		t.Fatalf("server TLS without client CA: %+v, %v", tc, err)
	}
	tc, _, err = serverTLS(cert, key, ca)
	if err != nil || tc.ClientAuth != tls.RequireAndVerifyClientCert || tc.ClientCAs == nil {
		t.Fatalf("--tls-client-ca does not require client certificates: %+v, %v", tc, err)
	}
	if tc, _, err := serverTLS("", "", ""); tc != nil || err != nil {
		t.Fatalf("no flags: %+v, %v", tc, err)
	}

	// Each bad combination exits 2 naming the flag to fix.
	for _, c := range []struct {
		args []string
		flag string
	}{
		{[]string{"--tls-key", key}, "--tls-cert"},
		{[]string{"--tls-cert", cert}, "--tls-key"},
		{[]string{"--tls-client-ca", ca}, "--tls-cert"},
		{[]string{"--tls-cert", cert, "--tls-key", filepath.Join(dir, "missing.pem")}, "--tls-cert"},
		{[]string{"--tls-cert", cert, "--tls-key", key, "--tls-client-ca", key}, "--tls-client-ca"},
	} {
		var out, errb bytes.Buffer
		if code := run(append(c.args, "--listen", "127.0.0.1:0"), &out, &errb); code != 2 || !strings.Contains(errb.String(), c.flag+":") {
			t.Errorf("%v: exit %d, stderr %q", c.args, code, errb.String())
		}
	}
}
