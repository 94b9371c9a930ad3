// Package kafkaclient is the one place where a Kafka client configuration is
// built, so TLS and SASL apply to every client of both binaries: producers,
// consumer groups, topic admins and goka's own clients.
package kafkaclient

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"time"

	"github.com/IBM/sarama"
	gometrics "github.com/rcrowley/go-metrics"

	"github.com/tetragon-fanout/tetragon-fanout/shared/envconfig"
	"github.com/tetragon-fanout/tetragon-fanout/shared/kafkaversion"
	"github.com/tetragon-fanout/tetragon-fanout/shared/rawsock"
)

// Config is the connection to Kafka shared by every binary.
type Config struct {
	Brokers  []string `env:"KAFKA_BROKERS" envDefault:"localhost:9092" envSeparator:"," help:"comma-separated bootstrap brokers"`
	Version  string   `env:"KAFKA_VERSION" envDefault:"4.1.1" help:"broker protocol version (at least 2.1.0); the default is the local broker's"`
	ClientID string   `env:"KAFKA_CLIENT_ID" help:"client id (default: the binary's name)"`

	TLS struct {
		Enabled            bool   `env:"KAFKA_TLS_ENABLED" envDefault:"false" help:"connect with TLS"`
		CAFile             string `env:"KAFKA_TLS_CA_FILE" help:"PEM CA bundle (default: system roots)"`
		CertFile           string `env:"KAFKA_TLS_CERT_FILE" help:"PEM client certificate, for mTLS"`
		KeyFile            string `env:"KAFKA_TLS_KEY_FILE" help:"PEM client key, for mTLS"`
		ServerName         string `env:"KAFKA_TLS_SERVER_NAME" help:"expected server name (default: the broker host)"`
		InsecureSkipVerify bool   `env:"KAFKA_TLS_INSECURE_SKIP_VERIFY" envDefault:"false" help:"development only: do not verify the broker certificate"`
	}
	SASL struct {
		Mechanism    string `env:"KAFKA_SASL_MECHANISM" allowEmpty:"true" help:"PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512 (empty: no SASL)"`
		Username     string `env:"KAFKA_SASL_USERNAME" help:"SASL user"`
		Password     string `env:"KAFKA_SASL_PASSWORD" secret:"true" help:"SASL password (prefer KAFKA_SASL_PASSWORD_FILE)"`
		PasswordFile string `env:"KAFKA_SASL_PASSWORD_FILE" help:"file holding the SASL password"`
	}
}

// Validate explains what is wrong with a connection setting.
func (c *Config) Validate() error {
	var errs []error
	// The loader refuses KAFKA_BROKERS=""; an empty list can still come
	// from code, and an empty element from "a:9092,," or ",".
	if len(c.Brokers) == 0 {
		errs = append(errs, envconfig.Errorf("KAFKA_BROKERS", "is empty: name at least one broker as host:port"))
	}
	for _, b := range c.Brokers {
		switch b = strings.TrimSpace(b); {
		case b == "":
			errs = append(errs, envconfig.Errorf("KAFKA_BROKERS", "%q has an empty entry: name each broker as host:port", strings.Join(c.Brokers, ",")))
		case !strings.Contains(b, ":"):
			errs = append(errs, envconfig.Errorf("KAFKA_BROKERS", "%q has no port (want host:port)", b))
		}
	}
	if v, err := kafkaversion.Parse(c.Version); err != nil {
		errs = append(errs, envconfig.Errorf("KAFKA_VERSION", "%v", err))
	} else if !v.IsAtLeast(sarama.V2_1_0_0) {
		errs = append(errs, envconfig.Errorf("KAFKA_VERSION", "%s is below 2.1.0, which zstd and the idempotent producer need", c.Version))
	}
	if (c.TLS.CertFile == "") != (c.TLS.KeyFile == "") {
		errs = append(errs, envconfig.Errorf("KAFKA_TLS_CERT_FILE", "and KAFKA_TLS_KEY_FILE must be set together"))
	}
	if !c.TLS.Enabled && (c.TLS.CAFile != "" || c.TLS.CertFile != "") {
		errs = append(errs, envconfig.Errorf("KAFKA_TLS_ENABLED", "is false but TLS files are set; set it to true"))
	}
	switch c.SASL.Mechanism {
	case "":
	case sarama.SASLTypePlaintext, sarama.SASLTypeSCRAMSHA256, sarama.SASLTypeSCRAMSHA512:
		if c.SASL.Username == "" {
			errs = append(errs, envconfig.Errorf("KAFKA_SASL_USERNAME", "is required with KAFKA_SASL_MECHANISM=%s", c.SASL.Mechanism))
		}
		if c.SASL.Password == "" && c.SASL.PasswordFile == "" {
			errs = append(errs, envconfig.Errorf("KAFKA_SASL_PASSWORD_FILE", "or KAFKA_SASL_PASSWORD is required with KAFKA_SASL_MECHANISM=%s", c.SASL.Mechanism))
		}
		if c.SASL.Password != "" && c.SASL.PasswordFile != "" {
			errs = append(errs, envconfig.Errorf("KAFKA_SASL_PASSWORD_FILE", "and KAFKA_SASL_PASSWORD are both set; keep one"))
		}
	default:
		errs = append(errs, envconfig.Errorf("KAFKA_SASL_MECHANISM", "must be PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512, got %q", c.SASL.Mechanism))
	}
	return errors.Join(errs...)
}

// Warnings lists settings that work but weaken security; binaries log each
// one loudly at start.
func (c *Config) Warnings() []string {
	var w []string
	if c.TLS.InsecureSkipVerify {
		w = append(w, "KAFKA_TLS_INSECURE_SKIP_VERIFY=true: the broker certificate is NOT verified; use only in development")
	}
	if c.SASL.Mechanism == sarama.SASLTypePlaintext && !c.TLS.Enabled {
		w = append(w, "KAFKA_SASL_MECHANISM=PLAIN without KAFKA_TLS_ENABLED: the password crosses the network in clear")
	}
	return w
}

// Sarama builds the base client configuration: version, client id, TLS,
// SASL and no broker-side topic auto-creation. Callers add producer or
// consumer settings on top.
func (c *Config) Sarama(defaultClientID string) (*sarama.Config, error) {
	sc := sarama.NewConfig()
	v, err := kafkaversion.Parse(c.Version)
	if err != nil {
		return nil, fmt.Errorf("kafka version: %w", err)
	}
	sc.Version = v
	sc.ClientID = c.ClientID
	if sc.ClientID == "" {
		sc.ClientID = defaultClientID
	}
	// Topics are created explicitly with their partitions, replication and
	// retention; a typo must not make a broker-default topic.
	sc.Metadata.AllowAutoTopicCreation = false
	sc.Metadata.Retry.Max = 10
	sc.Metadata.Retry.Backoff = 500 * time.Millisecond
	sc.Net.DialTimeout = 10 * time.Second
	// Broker connections read and write with raw non-blocking calls: an
	// ordinary call wakes the runtime's monitor thread whenever the process
	// was idle, which at a node's rate cost more than the events (rawsock).
	sc.Net.Proxy.Enable = true
	sc.Net.Proxy.Dialer = rawDialer{net.Dialer{Timeout: sc.Net.DialTimeout, KeepAlive: sc.Net.KeepAlive}}

	if c.TLS.Enabled {
		tc, err := c.tlsConfig()
		if err != nil {
			return nil, err
		}
		sc.Net.TLS.Enable = true
		sc.Net.TLS.Config = tc
	}
	if c.SASL.Mechanism != "" {
		pw, err := c.password()
		if err != nil {
			return nil, err
		}
		sc.Net.SASL.Enable = true
		sc.Net.SASL.Handshake = true
		sc.Net.SASL.User = c.SASL.Username
		sc.Net.SASL.Password = pw
		sc.Net.SASL.Mechanism = sarama.SASLMechanism(c.SASL.Mechanism)
		switch c.SASL.Mechanism {
		case sarama.SASLTypeSCRAMSHA256:
			sc.Net.SASL.SCRAMClientGeneratorFunc = func() sarama.SCRAMClient { return newSCRAM(sha256Gen) }
		case sarama.SASLTypeSCRAMSHA512:
			sc.Net.SASL.SCRAMClientGeneratorFunc = func() sarama.SCRAMClient { return newSCRAM(sha512Gen) }
		}
	}
	if err := sc.Validate(); err != nil {
		return nil, fmt.Errorf("kafka client config: %w", err)
	}
	return sc, nil
}

func (c *Config) password() (string, error) {
	if c.SASL.PasswordFile == "" {
		return c.SASL.Password, nil
	}
	b, err := os.ReadFile(c.SASL.PasswordFile)
	if err != nil {
		return "", fmt.Errorf("KAFKA_SASL_PASSWORD_FILE: %w", err)
	}
	return strings.TrimRight(string(b), "\r\n"), nil
}

func (c *Config) tlsConfig() (*tls.Config, error) {
	tc := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: c.TLS.ServerName, InsecureSkipVerify: c.TLS.InsecureSkipVerify} //nolint:gosec // opt-in, warned about
	if c.TLS.CAFile != "" {
		pem, err := os.ReadFile(c.TLS.CAFile)
		if err != nil {
			return nil, fmt.Errorf("KAFKA_TLS_CA_FILE: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("KAFKA_TLS_CA_FILE: %s holds no PEM certificate", c.TLS.CAFile)
		}
		tc.RootCAs = pool
	}
	if c.TLS.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(c.TLS.CertFile, c.TLS.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("KAFKA_TLS_CERT_FILE/KAFKA_TLS_KEY_FILE: %w", err)
		}
		tc.Certificates = []tls.Certificate{cert}
	}
	return tc, nil
}

// sarama's go-metrics are off: nothing reads them (our metrics are
// Prometheus'), yet every request and message updated meters and
// histograms under locks, and each meter ticks in a goroutine of its own.
// It is a process-wide switch of go-metrics, so it is set before any
// client can exist.
func init() { gometrics.UseNilMetrics = true }

// rawDialer dials brokers as sarama would and wraps the connections in
// rawsock (TLS, when on, is layered on top by sarama).
type rawDialer struct{ d net.Dialer }

func (r rawDialer) Dial(network, addr string) (net.Conn, error) {
	c, err := r.d.Dial(network, addr)
	if err != nil {
		return nil, err
	}
	return rawsock.Wrap(c), nil
}
