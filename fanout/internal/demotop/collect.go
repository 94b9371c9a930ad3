package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/IBM/sarama"

	"github.com/tetragon-fanout/tetragon-fanout/fanout/internal/promtext"
	"github.com/tetragon-fanout/tetragon-fanout/shared/kafkaversion"
)

type endpoint struct{ name, url string }

type config struct {
	brokers, rawTopic, dlqTopic, group, title string
	topicPrefix                               string
	interval                                  time.Duration
	sim, ingester                             endpoint
	fanouts                                   []endpoint
}

// scrape is one component's state at one moment.
type scrape struct {
	up       bool
	err      string
	ready    bool
	notReady string // first reason /readyz gives
	m        promtext.Set
}

// kafkaState is what Kafka itself says.
type kafkaState struct {
	err string
	// hwm: topic -> partition -> high-water mark (offset of the next
	// message: how many were ever written, on a topic nothing deleted from).
	hwm map[string]map[int32]int64
	// committed: raw partition -> the group's committed offset (-1: none).
	committed map[int32]int64
}

type snapshot struct {
	at       time.Time
	sim      scrape
	ingester scrape
	fanouts  []scrape // in config order
	kafka    kafkaState
}

// history keeps recent snapshots for rates and latency windows.
type history struct {
	snaps []snapshot
	start time.Time
}

const keep = 15 // snapshots: rates over 5s, latency over 10s

func (h *history) add(s snapshot) {
	if h.start.IsZero() {
		h.start = s.at
	}
	h.snaps = append(h.snaps, s)
	if len(h.snaps) > keep {
		h.snaps = h.snaps[len(h.snaps)-keep:]
	}
}

// ago returns the oldest snapshot at most d older than the latest (the
// previous one if none is that old), and whether there is one.
func (h *history) ago(d time.Duration) (snapshot, bool) {
	if len(h.snaps) < 2 {
		return snapshot{}, false
	}
	cur := h.snaps[len(h.snaps)-1]
	for _, s := range h.snaps[:len(h.snaps)-1] {
		if cur.at.Sub(s.at) <= d+d/10 {
			return s, true
		}
	}
	return h.snaps[len(h.snaps)-2], true
}

type collector struct {
	cfg     config
	http    *http.Client
	client  sarama.Client
	admin   sarama.ClusterAdmin
	history *history
}

func newCollector(cfg config) *collector {
	return &collector{cfg: cfg, http: &http.Client{Timeout: 800 * time.Millisecond}, history: &history{}}
}

func (c *collector) close() {
	if c.admin != nil {
		_ = c.admin.Close() // closes the client too
	}
}

// collect scrapes every component and Kafka at once and records the result.
func (c *collector) collect(ctx context.Context) snapshot {
	s := snapshot{at: time.Now(), fanouts: make([]scrape, len(c.cfg.fanouts))}
	var wg sync.WaitGroup
	get := func(e endpoint, dst *scrape) {
		defer wg.Done()
		*dst = c.scrape(ctx, e)
	}
	wg.Add(2 + len(c.cfg.fanouts))
	go get(c.cfg.sim, &s.sim)
	go get(c.cfg.ingester, &s.ingester)
	for i, f := range c.cfg.fanouts {
		go get(f, &s.fanouts[i])
	}
	s.kafka = c.kafka()
	wg.Wait()
	c.history.add(s)
	return s
}

func (c *collector) scrape(ctx context.Context, e endpoint) scrape {
	if e.url == "" {
		return scrape{err: "not configured"}
	}
	ctx, cancel := context.WithTimeout(ctx, 800*time.Millisecond)
	defer cancel()
	m, err := promtext.Scrape(ctx, c.http, e.url+"/metrics")
	if err != nil {
		return scrape{err: shortErr(err)}
	}
	s := scrape{up: true, m: m}
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, e.url+"/readyz", nil)
	resp, err := c.http.Do(req)
	if err != nil {
		s.notReady = shortErr(err)
		return s
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	s.ready = resp.StatusCode == http.StatusOK
	if !s.ready {
		lines := strings.Split(strings.TrimSpace(string(body)), "\n")
		s.notReady = lines[len(lines)-1]
	}
	return s
}

func shortErr(err error) string {
	s := err.Error()
	if strings.Contains(s, "connection refused") {
		return "down (connection refused)"
	}
	if len(s) > 80 {
		s = s[:80] + "..."
	}
	return s
}

func (c *collector) connect() error {
	if c.client != nil && !c.client.Closed() {
		return nil
	}
	sc := sarama.NewConfig()
	sc.Version = kafkaversion.Sarama()
	sc.ClientID = "demotop"
	sc.Metadata.AllowAutoTopicCreation = false
	sc.Net.DialTimeout = time.Second
	sc.Net.ReadTimeout = 2 * time.Second
	sc.Metadata.Retry.Max = 0
	cl, err := sarama.NewClient(strings.Split(c.cfg.brokers, ","), sc)
	if err != nil {
		return err
	}
	ad, err := sarama.NewClusterAdminFromClient(cl)
	if err != nil {
		_ = cl.Close()
		return err
	}
	c.client, c.admin = cl, ad
	return nil
}

func (c *collector) reset() {
	if c.admin != nil {
		_ = c.admin.Close()
	}
	c.client, c.admin = nil, nil
}

func (c *collector) kafka() kafkaState {
	if err := c.connect(); err != nil {
		return kafkaState{err: "unreachable: " + shortErr(err)}
	}
	st, err := c.kafkaOnce()
	if err != nil {
		c.reset()
		return kafkaState{err: shortErr(err)}
	}
	return st
}

func (c *collector) kafkaOnce() (kafkaState, error) {
	st := kafkaState{hwm: map[string]map[int32]int64{}, committed: map[int32]int64{}}
	if err := c.client.RefreshMetadata(); err != nil {
		return st, fmt.Errorf("metadata: %w", err)
	}
	topics, err := c.client.Topics()
	if err != nil {
		return st, err
	}
	// One ListOffsets request per broker for every partition it leads.
	reqs := map[*sarama.Broker]*sarama.OffsetRequest{}
	table := c.cfg.group + "-table"
	for _, t := range topics {
		if t != c.cfg.rawTopic && t != c.cfg.dlqTopic && t != table && !strings.HasPrefix(t, c.cfg.topicPrefix) {
			continue
		}
		parts, err := c.client.Partitions(t)
		if err != nil {
			continue
		}
		for _, p := range parts {
			b, err := c.client.Leader(t, p)
			if err != nil {
				continue // leaderless for a moment: shown as missing
			}
			r := reqs[b]
			if r == nil {
				r = sarama.NewOffsetRequest(c.client.Config().Version)
				reqs[b] = r
			}
			r.AddBlock(t, p, sarama.OffsetNewest, 1)
		}
	}
	for b, r := range reqs {
		resp, err := b.GetAvailableOffsets(r)
		if err != nil {
			return st, fmt.Errorf("offsets from %s: %w", b.Addr(), err)
		}
		for t, ps := range resp.Blocks {
			for p, blk := range ps {
				if blk.Err != sarama.ErrNoError {
					continue
				}
				if st.hwm[t] == nil {
					st.hwm[t] = map[int32]int64{}
				}
				st.hwm[t][p] = blk.Offset
			}
		}
	}
	if raw := st.hwm[c.cfg.rawTopic]; len(raw) > 0 {
		parts := make([]int32, 0, len(raw))
		for p := range raw {
			parts = append(parts, p)
		}
		sort.Slice(parts, func(i, j int) bool { return parts[i] < parts[j] })
		res, err := c.admin.ListConsumerGroupOffsets(c.cfg.group, map[string][]int32{c.cfg.rawTopic: parts})
		if err == nil {
			for _, p := range parts {
				st.committed[p] = -1
				if b := res.GetBlock(c.cfg.rawTopic, p); b != nil {
					st.committed[p] = b.Offset
				}
			}
		}
	}
	return st, nil
}
