package processor

import (
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/lovoo/goka"

	"github.com/tetragon-fanout/tetragon-fanout/fanout/fanoutcfg"
	"github.com/tetragon-fanout/tetragon-fanout/shared/envconfig"
)

// TestBuildConfigs: goka's defaults are replaced everywhere: broker version,
// acks=all and idempotence, oldest offsets, our flush interval, and the
// connection's security on consumer and producer alike.
func TestBuildConfigs(t *testing.T) {
	var cfg fanoutcfg.Config
	if err := envconfig.ParseEnv(&cfg, map[string]string{"REPLICA_ID": "r1", "KAFKA_SASL_MECHANISM": "SCRAM-SHA-512",
		"KAFKA_SASL_USERNAME": "u", "KAFKA_SASL_PASSWORD": "p", "KAFKA_TLS_ENABLED": "true", "KAFKA_LINGER": "3ms"}); err != nil {
		t.Fatal(err)
	}
	c, err := BuildConfigs(&cfg)
	if err != nil {
		t.Fatal(err)
	}
	for name, sc := range map[string]*sarama.Config{"consumer": c.Consumer, "producer": c.Producer} {
		if !sc.Version.IsAtLeast(sarama.V4_0_0_0) {
			t.Errorf("%s: version %s", name, sc.Version)
		}
		if !sc.Net.SASL.Enable || sc.Net.SASL.Mechanism != sarama.SASLTypeSCRAMSHA512 || !sc.Net.TLS.Enable {
			t.Errorf("%s: TLS/SASL not applied", name)
		}
		if sc.Metadata.AllowAutoTopicCreation {
			t.Errorf("%s: auto topic creation on", name)
		}
		if sc.Consumer.Offsets.Initial != sarama.OffsetOldest {
			t.Errorf("%s: initial offset %d", name, sc.Consumer.Offsets.Initial)
		}
	}
	if len(c.Consumer.Consumer.Group.Rebalance.GroupStrategies) != 1 ||
		c.Consumer.Consumer.Group.Rebalance.GroupStrategies[0] != goka.CopartitioningStrategy || !c.Consumer.Consumer.Return.Errors {
		t.Error("consumer group strategy or error channel not as goka needs them")
	}
	p := c.Producer.Producer
	if p.RequiredAcks != sarama.WaitForAll || !p.Idempotent || p.Flush.Frequency != 3*time.Millisecond {
		t.Errorf("producer: acks %v idempotent %v flush %v", p.RequiredAcks, p.Idempotent, p.Flush.Frequency)
	}
	if p.CompressionLevel != 1 {
		t.Errorf("producer: compression level %d, want KAFKA_COMPRESSION_LEVEL's default 1", p.CompressionLevel)
	}
	if cl := clone(c.Producer, "x"); cl.ClientID != "x" || c.Producer.ClientID == "x" {
		t.Error("clone shares the config")
	}
}

func TestHeaderPartitioner(t *testing.T) {
	hp := tablePartitioner(goka.DefaultHasher())("t")
	m := &sarama.ProducerMessage{Key: sarama.StringEncoder("abc")}
	want := gokaPartition("abc", 12)
	if got, _ := hp.Partition(m, 12); got != want {
		t.Fatalf("no header: partition %d, want goka's %d", got, want)
	}
	m.Headers = []sarama.RecordHeader{{Key: []byte(tablePartitionHeader), Value: []byte("7")}}
	if got, _ := hp.Partition(m, 12); got != 7 {
		t.Fatalf("header 7: partition %d", got)
	}
	m.Headers[0].Value = []byte("12")
	if _, err := hp.Partition(m, 12); err == nil {
		t.Fatal("an out-of-range partition was accepted")
	}
}
