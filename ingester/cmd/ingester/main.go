// Command ingester reads the local Tetragon agent's event stream and writes
// each event's protobuf bytes unchanged to the raw Kafka topic, keyed by
// its event id. Configuration: environment variables, see `ingester --help`.
package main

import (
	"github.com/tetragon-fanout/tetragon-fanout/ingester/config"
	"github.com/tetragon-fanout/tetragon-fanout/ingester/pipeline"
	"github.com/tetragon-fanout/tetragon-fanout/shared/app"
)

func main() {
	var cfg config.Config
	app.Main(app.Binary{
		Name:       "ingester",
		Summary:    "Tetragon GetEvents stream -> raw Kafka topic (protobuf, key = event id)",
		Config:     &cfg,
		StartAttrs: func() []any { return []any{"queue_policy", cfg.Policy().String()} },
		Build: func(e *app.Env) (app.Runner, error) {
			p, err := pipeline.New(&cfg, e.Registry, e.Log)
			if err != nil {
				return nil, err
			}
			e.Server.Ready("tetragon", p.TetragonReady)
			e.Server.Ready("kafka", p.KafkaReady)
			return p, nil
		},
	})
}
