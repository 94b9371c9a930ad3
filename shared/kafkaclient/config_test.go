package kafkaclient

import (
	"fmt"
	"strings"
	"testing"

	"github.com/IBM/sarama"
	"github.com/lovoo/goka"

	"github.com/tetragon-fanout/tetragon-fanout/shared/envconfig"
	"github.com/tetragon-fanout/tetragon-fanout/shared/kafkaversion"
)

func load(t *testing.T, env map[string]string) (*Config, error) {
	t.Helper()
	var c Config
	err := envconfig.ParseEnv(&c, env)
	return &c, err
}

func TestDefaultsWork(t *testing.T) {
	c, err := load(t, map[string]string{})
	if err != nil {
		t.Fatal(err)
	}
	sc, err := c.Sarama("test")
	if err != nil {
		t.Fatal(err)
	}
	if sc.Metadata.AllowAutoTopicCreation {
		t.Fatal("auto topic creation must be off")
	}
	if sc.Version.String() != kafkaversion.Default {
		t.Fatalf("default KAFKA_VERSION %s, want the local broker's %s", sc.Version, kafkaversion.Default)
	}
}

func TestValidateNamesTheVariable(t *testing.T) {
	cases := map[string]struct {
		env  map[string]string
		want string
	}{
		"empty brokers": {map[string]string{"KAFKA_BROKERS": " "}, "KAFKA_BROKERS"},
		"only commas":   {map[string]string{"KAFKA_BROKERS": ","}, "KAFKA_BROKERS"},
		"empty entry":   {map[string]string{"KAFKA_BROKERS": "a:9092,,b:9092"}, "KAFKA_BROKERS"},
		"no port":       {map[string]string{"KAFKA_BROKERS": "kafka"}, "KAFKA_BROKERS"},
		"old version":   {map[string]string{"KAFKA_VERSION": "2.0.0"}, "KAFKA_VERSION"},
		"bad version":   {map[string]string{"KAFKA_VERSION": "four"}, "KAFKA_VERSION"},
		"bad mechanism": {map[string]string{"KAFKA_SASL_MECHANISM": "GSSAPI"}, "KAFKA_SASL_MECHANISM"},
		"no user":       {map[string]string{"KAFKA_SASL_MECHANISM": "SCRAM-SHA-512", "KAFKA_SASL_PASSWORD": "x"}, "KAFKA_SASL_USERNAME"},
		"no password":   {map[string]string{"KAFKA_SASL_MECHANISM": "PLAIN", "KAFKA_SASL_USERNAME": "u"}, "KAFKA_SASL_PASSWORD"},
		"cert w/o key":  {map[string]string{"KAFKA_TLS_ENABLED": "true", "KAFKA_TLS_CERT_FILE": "/c"}, "KAFKA_TLS_CERT_FILE"},
		"files w/o TLS": {map[string]string{"KAFKA_TLS_CA_FILE": "/ca"}, "KAFKA_TLS_ENABLED"},
		"bool not bool": {map[string]string{"KAFKA_TLS_ENABLED": "yes please"}, "KAFKA_TLS_ENABLED"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := load(t, tc.env)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to name %s", err, tc.want)
			}
		})
	}
}

func TestSASLAndTLSApplied(t *testing.T) {
	dir := t.TempDir()
	pwFile := dir + "/pw"
	if err := writeFile(pwFile, "s3cret\n"); err != nil {
		t.Fatal(err)
	}
	c, err := load(t, map[string]string{
		"KAFKA_SASL_MECHANISM": "SCRAM-SHA-512", "KAFKA_SASL_USERNAME": "fanout",
		"KAFKA_SASL_PASSWORD_FILE": pwFile, "KAFKA_TLS_ENABLED": "true", "KAFKA_TLS_SERVER_NAME": "kafka.local",
	})
	if err != nil {
		t.Fatal(err)
	}
	sc, err := c.Sarama("x")
	if err != nil {
		t.Fatal(err)
	}
	if !sc.Net.SASL.Enable || sc.Net.SASL.Password != "s3cret" || sc.Net.SASL.Mechanism != sarama.SASLTypeSCRAMSHA512 || sc.Net.SASL.SCRAMClientGeneratorFunc == nil {
		t.Fatalf("SASL not applied: %+v", sc.Net.SASL)
	}
	if !sc.Net.TLS.Enable || sc.Net.TLS.Config.ServerName != "kafka.local" {
		t.Fatalf("TLS not applied")
	}
	if got := strings.Join(envconfig.Redacted(c), " "); strings.Contains(got, "s3cret") {
		t.Fatalf("password leaked: %s", got)
	}
}

// The raw topic's partitioner must agree with goka's processor hasher, or
// Processor.Get and views look for a key in the wrong partition.
func TestPartitionerMatchesGokaHasher(t *testing.T) {
	p := Partitioner("t")
	hasher := goka.DefaultHasher()()
	for _, n := range []int32{1, 3, 12, 64} {
		for i := range 5000 {
			key := fmt.Sprintf("%032x", i*7919)
			got, err := p.Partition(&sarama.ProducerMessage{Key: sarama.StringEncoder(key)}, n)
			if err != nil {
				t.Fatal(err)
			}
			hasher.Reset()
			hasher.Write([]byte(key))
			h := int32(hasher.Sum32())
			want := h % n
			if want < 0 {
				want = -want
			}
			if got != want {
				t.Fatalf("key %s n=%d: sarama %d, goka %d", key, n, got, want)
			}
		}
	}
}

func TestProducerValidateNamesEachVariable(t *testing.T) {
	p := ProducerConfig{Compression: "zstd", BatchBytes: 1}
	if err := p.Validate(1); err != nil {
		t.Fatalf("valid settings: %v", err)
	}
	p = ProducerConfig{Compression: "brotli", BatchBytes: 0, Retries: -1, Linger: -1}
	err := p.Validate(30)
	for _, name := range []string{"KAFKA_COMPRESSION", "KAFKA_COMPRESSION_LEVEL", "KAFKA_BATCH_BYTES", "KAFKA_PRODUCE_RETRIES", "KAFKA_LINGER"} {
		if err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("error %v does not name %s", err, name)
		}
	}
	p = ProducerConfig{Compression: "gzip", BatchBytes: 1}
	if err := p.Validate(12); err == nil || !strings.Contains(err.Error(), "gzip levels") {
		t.Errorf("gzip level 12: %v", err)
	}
}
