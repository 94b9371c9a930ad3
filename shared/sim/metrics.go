package sim

import (
	"github.com/prometheus/client_golang/prometheus"
)

// Collector exposes the server's books as Prometheus metrics, read at
// scrape time (nothing on the send path).
func (s *Server) Collector() prometheus.Collector { return collector{s} }

type collector struct{ s *Server }

// dropReasons are the keys of Stats().Dropped, always exported (0 too) so
// a dashboard or test can read each one before it happens.
var dropReasons = []string{"queue_full", "disconnected", "no_client", "dup_failed"}

var (
	descSent = prometheus.NewDesc("tetragon_sim_events_sent_total",
		"Events handed to the clients, by type, including those generated while no client was connected (reason=no_client drops); duplicate=\"true\" for injected duplicates.", []string{"type", "duplicate"}, nil)
	descDropped = prometheus.NewDesc("tetragon_sim_events_dropped_total",
		"Events some client did not receive, by reason: queue_full (its queue was full), disconnected (queued when its stream ended), no_client (generated while no client was connected, as Tetragon loses them while no agent reads), dup_failed.", []string{"reason"}, nil)
	descDelivered = prometheus.NewDesc("tetragon_sim_events_delivered_total",
		"Events written to client streams, all clients.", nil, nil)
	descClients = prometheus.NewDesc("tetragon_sim_clients_connected",
		"GetEvents streams currently open.", nil, nil)
	descBad = prometheus.NewDesc("tetragon_sim_replay_bad_lines",
		"Replay lines skipped because strict decoding failed.", nil, nil)
	descInfo = prometheus.NewDesc("tetragon_sim_info",
		"Build information.", []string{"version"}, nil)
)

func (c collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descSent, descDropped, descDelivered, descClients, descBad, descInfo} {
		ch <- d
	}
}

func (c collector) Collect(ch chan<- prometheus.Metric) {
	st := c.s.Stats()
	for t, ctr := range c.s.byType {
		ch <- prometheus.MustNewConstMetric(descSent, prometheus.CounterValue, float64(ctr[0].Load()), t, "false")
		ch <- prometheus.MustNewConstMetric(descSent, prometheus.CounterValue, float64(ctr[1].Load()), t, "true")
	}
	for _, r := range dropReasons {
		ch <- prometheus.MustNewConstMetric(descDropped, prometheus.CounterValue, float64(st.Dropped[r]), r)
	}
	var delivered uint64
	connected := 0
	for _, cs := range st.Clients {
		delivered += cs.Delivered
		if cs.Connected {
			connected++
		}
	}
	ch <- prometheus.MustNewConstMetric(descDelivered, prometheus.CounterValue, float64(delivered))
	ch <- prometheus.MustNewConstMetric(descClients, prometheus.GaugeValue, float64(connected))
	ch <- prometheus.MustNewConstMetric(descBad, prometheus.GaugeValue, float64(len(c.s.bad)))
	ch <- prometheus.MustNewConstMetric(descInfo, prometheus.GaugeValue, 1, VersionString())
}
