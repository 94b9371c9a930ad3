package generate

// The catalog describes what a small production cluster runs, so the
// synthetic stream looks like one: well-known images, their real binaries
// and arguments, the files they touch, the peers they connect to and the
// libraries they load. Content only; identities are made elsewhere.

type cmd struct {
	bin, args string
}

type peer struct {
	addr  string
	port  uint32
	udp   bool
	extrn bool // outside the cluster
}

type usdtDef struct {
	path, provider, name string
	args                 []string // string args, for realism
}

type uprobeDef struct {
	path, symbol string
}

type app struct {
	name      string // workload name
	kind      string // workload kind
	component string
	container string
	image     string // registry/repo
	tag       string
	init      cmd
	cwd       string
	uid       uint32
	children  []cmd // what gets exec'd inside the container (probes, workers)
	files     []string
	peers     []peer
	libs      []string
	uprobes   []uprobeDef
	usdts     []usdtDef
	threads   bool // multi-threaded: hook events come from several tids
	hostNet   bool
	bpf       bool // loads BPF programs (cilium)
}

const (
	svcAPI      = "10.96.0.1"
	svcDNS      = "10.96.0.10"
	svcPostgres = "10.96.112.41"
	svcRedis    = "10.96.87.203"
	svcKafka    = "10.96.201.17"
	svcPayments = "10.96.44.120"
	svcCheckout = "10.96.61.9"
	svcProm     = "10.96.150.77"
	svcLoki     = "10.96.9.212"
)

var (
	libc     = "/usr/lib/x86_64-linux-gnu/libc.so.6"
	libssl   = "/usr/lib/x86_64-linux-gnu/libssl.so.3"
	libcrypt = "/usr/lib/x86_64-linux-gnu/libcrypto.so.3"
	libz     = "/usr/lib/x86_64-linux-gnu/libz.so.1"
	shells   = []cmd{
		{"/bin/cat", "/etc/passwd"}, {"/usr/bin/env", ""}, {"/bin/ls", "-la /"},
		{"/usr/bin/id", ""}, {"/bin/ps", "aux"}, {"/usr/bin/curl", "-s http://169.254.169.254/latest/meta-data/"},
		{"/bin/cat", "/var/run/secrets/kubernetes.io/serviceaccount/token"}, {"/usr/bin/find", "/ -name *.key"},
	}
	commonFiles = []string{
		"/etc/passwd", "/etc/hosts", "/etc/resolv.conf", "/etc/ssl/certs/ca-certificates.crt",
		"/proc/self/status", "/var/run/secrets/kubernetes.io/serviceaccount/token", "/etc/nsswitch.conf",
	}
	dnsPeer = peer{addr: svcDNS, port: 53, udp: true}
	apiPeer = peer{addr: svcAPI, port: 443}
)

var apps = map[string]app{
	"nginx": {
		name: "nginx", kind: "Deployment", component: "web", container: "nginx",
		image: "docker.io/library/nginx", tag: "1.27.2",
		init: cmd{"/usr/sbin/nginx", "-g daemon off;"}, cwd: "/", uid: 0,
		children: []cmd{
			{"/bin/sh", "-c nginx -s reload"},
			{"/usr/bin/curl", "-fsS http://127.0.0.1:8080/healthz"},
			{"/bin/sh", "-c /docker-entrypoint.d/20-envsubst-on-templates.sh"},
		},
		files: []string{"/etc/nginx/nginx.conf", "/etc/nginx/conf.d/default.conf", "/var/log/nginx/access.log",
			"/var/log/nginx/error.log", "/usr/share/nginx/html/index.html", "/var/cache/nginx/proxy_temp/3/01/0000000013"},
		peers:   []peer{{addr: svcCheckout, port: 8080}, dnsPeer},
		libs:    []string{libc, libssl, libcrypt, libz, "/usr/lib/x86_64-linux-gnu/libpcre2-8.so.0"},
		uprobes: []uprobeDef{{libssl, "SSL_write"}, {libssl, "SSL_read"}},
		usdts:   []usdtDef{{libc, "libc", "setjmp", nil}, {libc, "libc", "memory_mallopt_arena_max", nil}},
	},
	"storefront-web": {
		name: "storefront-web", kind: "Deployment", component: "frontend", container: "web",
		image: "ghcr.io/acme/storefront-web", tag: "v2.14.3",
		init: cmd{"/usr/local/bin/node", "server.js"}, cwd: "/app", uid: 1000, threads: true,
		children: []cmd{
			{"/bin/sh", "-c wget -qO- http://127.0.0.1:3000/api/health"},
			{"/usr/local/bin/node", "/app/scripts/warm-cache.js --locale=en-US"},
		},
		files: []string{"/app/server.js", "/app/.next/BUILD_ID", "/app/.next/server/pages/index.html",
			"/app/node_modules/next/dist/server/next-server.js", "/tmp/.next-cache/images/manifest.json"},
		peers:   []peer{{addr: svcCheckout, port: 8080}, {addr: "151.101.65.194", port: 443, extrn: true}, dnsPeer},
		libs:    []string{libc, "/usr/lib/x86_64-linux-gnu/libstdc++.so.6", "/usr/lib/x86_64-linux-gnu/libgcc_s.so.1"},
		uprobes: []uprobeDef{{"/usr/local/bin/node", "uv_tcp_connect"}},
		usdts: []usdtDef{
			{"/usr/local/bin/node", "node", "http__server__request", []string{"GET", "/api/products"}},
			{"/usr/local/bin/node", "node", "gc__start", nil},
		},
	},
	"payments-api": {
		name: "payments-api", kind: "Deployment", component: "api", container: "payments-api",
		image: "ghcr.io/acme/payments-api", tag: "3.8.1",
		init: cmd{"/opt/java/openjdk/bin/java", "-XX:MaxRAMPercentage=75 -Djava.security.egd=file:/dev/./urandom -jar /app/payments-api.jar"},
		cwd:  "/app", uid: 185, threads: true,
		children: []cmd{
			{"/bin/sh", "-c curl -sf http://127.0.0.1:8081/actuator/health/readiness"},
			{"/opt/java/openjdk/bin/jcmd", "1 GC.heap_info"},
		},
		files: []string{"/app/payments-api.jar", "/app/config/application.yaml", "/tmp/hsperfdata_185/1",
			"/opt/java/openjdk/lib/security/cacerts", "/app/logs/payments.log"},
		peers: []peer{{addr: svcPostgres, port: 5432}, {addr: svcRedis, port: 6379}, {addr: svcKafka, port: 9092},
			{addr: "54.187.174.169", port: 443, extrn: true}, dnsPeer},
		libs: []string{"/opt/java/openjdk/lib/server/libjvm.so", "/opt/java/openjdk/lib/libnet.so",
			"/opt/java/openjdk/lib/libnio.so", "/opt/java/openjdk/lib/libzip.so", libc},
		uprobes: []uprobeDef{{"/opt/java/openjdk/lib/server/libjvm.so", "JVM_StartThread"}},
		usdts: []usdtDef{
			{"/opt/java/openjdk/lib/server/libjvm.so", "hotspot", "thread__start", []string{"http-nio-8080-exec-12"}},
			{"/opt/java/openjdk/lib/server/libjvm.so", "hotspot", "gc__begin", nil},
		},
	},
	"checkout": {
		name: "checkout", kind: "Deployment", component: "api", container: "checkout",
		image: "ghcr.io/acme/checkout", tag: "v1.42.0",
		init: cmd{"/checkout", "--config=/etc/checkout/config.yaml --grpc-addr=:50051"}, cwd: "/", uid: 65532, threads: true,
		children: []cmd{{"/bin/grpc_health_probe", "-addr=:50051"}},
		files:    []string{"/etc/checkout/config.yaml", "/etc/checkout/tls/tls.crt", "/etc/checkout/tls/tls.key"},
		peers: []peer{{addr: svcPayments, port: 8080}, {addr: svcRedis, port: 6379}, {addr: svcKafka, port: 9092},
			{addr: "34.120.177.193", port: 443, extrn: true}, dnsPeer},
		libs:    []string{libc, "/usr/lib/x86_64-linux-gnu/libresolv.so.2"},
		uprobes: []uprobeDef{{"/checkout", "crypto/tls.(*Conn).Write"}},
		usdts:   []usdtDef{{libc, "libc", "setjmp", nil}},
	},
	"report-worker": {
		name: "report-worker", kind: "Deployment", component: "worker", container: "worker",
		image: "ghcr.io/acme/report-worker", tag: "2024.11.3",
		init: cmd{"/usr/local/bin/python3.12", "-m celery -A reports worker --loglevel=INFO --concurrency=4"},
		cwd:  "/srv", uid: 1001,
		children: []cmd{
			{"/bin/sh", "-c celery -A reports inspect ping -d celery@$HOSTNAME"},
			{"/usr/local/bin/python3.12", "-c import reports; reports.healthcheck()"},
			{"/usr/bin/pg_dump", "--data-only --table=reports_daily reports"},
		},
		files: []string{"/srv/reports/tasks.py", "/srv/reports/__pycache__/tasks.cpython-312.pyc",
			"/tmp/celerybeat-schedule", "/usr/local/lib/python3.12/site-packages/celery/__init__.py", "/srv/out/daily-2024-11-18.csv"},
		peers: []peer{{addr: svcRedis, port: 6379}, {addr: svcPostgres, port: 5432}, {addr: "52.217.136.8", port: 443, extrn: true}, dnsPeer},
		libs: []string{"/usr/local/lib/libpython3.12.so.1.0", libssl, libcrypt,
			"/usr/local/lib/python3.12/lib-dynload/_ssl.cpython-312-x86_64-linux-gnu.so"},
		uprobes: []uprobeDef{{libssl, "SSL_write"}},
		usdts: []usdtDef{
			{"/usr/local/lib/libpython3.12.so.1.0", "python", "function__entry", []string{"/srv/reports/tasks.py", "render_daily"}},
			{"/usr/local/lib/libpython3.12.so.1.0", "python", "gc__start", nil},
		},
	},
	"redis": {
		name: "redis", kind: "StatefulSet", component: "cache", container: "redis",
		image: "docker.io/library/redis", tag: "7.4.1",
		init: cmd{"/usr/local/bin/redis-server", "*:6379"}, cwd: "/data", uid: 999,
		children: []cmd{{"/bin/sh", "-c redis-cli -h 127.0.0.1 ping"}, {"/usr/local/bin/redis-cli", "-h 127.0.0.1 ping"}},
		files:    []string{"/data/dump.rdb", "/data/appendonlydir/appendonly.aof.1.incr.aof", "/usr/local/etc/redis/redis.conf"},
		peers:    []peer{{addr: svcRedis, port: 6379}, dnsPeer},
		libs:     []string{libc, libssl, "/usr/lib/x86_64-linux-gnu/libm.so.6"},
		uprobes:  []uprobeDef{{"/usr/local/bin/redis-server", "processCommand"}},
		usdts:    []usdtDef{{libc, "libc", "setjmp", nil}},
	},
	"postgres": {
		name: "postgres", kind: "StatefulSet", component: "database", container: "postgres",
		image: "docker.io/library/postgres", tag: "16.4",
		init: cmd{"/usr/lib/postgresql/16/bin/postgres", "-c config_file=/etc/postgresql/postgresql.conf"},
		cwd:  "/var/lib/postgresql/data", uid: 999,
		children: []cmd{
			{"/bin/sh", "-c pg_isready -U postgres -h 127.0.0.1 -p 5432"},
			{"/usr/lib/postgresql/16/bin/pg_isready", "-U postgres -h 127.0.0.1 -p 5432"},
		},
		files: []string{"/var/lib/postgresql/data/base/16384/2619", "/var/lib/postgresql/data/pg_wal/000000010000000000000003",
			"/var/lib/postgresql/data/postgresql.auto.conf", "/etc/postgresql/postgresql.conf"},
		peers: []peer{dnsPeer},
		libs: []string{"/usr/lib/x86_64-linux-gnu/libpq.so.5", libssl, "/usr/lib/x86_64-linux-gnu/libicuuc.so.72",
			"/usr/lib/x86_64-linux-gnu/libxml2.so.2"},
		uprobes: []uprobeDef{{"/usr/lib/postgresql/16/bin/postgres", "exec_simple_query"}},
		usdts: []usdtDef{
			{"/usr/lib/postgresql/16/bin/postgres", "postgresql", "query__start", []string{"SELECT * FROM payments WHERE id = $1"}},
			{"/usr/lib/postgresql/16/bin/postgres", "postgresql", "transaction__commit", nil},
		},
	},
	"kafka": {
		name: "kafka", kind: "StatefulSet", component: "broker", container: "kafka",
		image: "docker.io/bitnami/kafka", tag: "3.8.0",
		init: cmd{"/opt/bitnami/java/bin/java", "-Xmx1g -Xms1g -server -XX:+UseG1GC -cp /opt/bitnami/kafka/libs/* kafka.Kafka /opt/bitnami/kafka/config/server.properties"},
		cwd:  "/", uid: 1001, threads: true,
		children: []cmd{{"/bin/bash", "-c /opt/bitnami/kafka/bin/kafka-broker-api-versions.sh --bootstrap-server localhost:9092"}},
		files: []string{"/bitnami/kafka/data/tetragon.raw-0/00000000000000000000.log", "/bitnami/kafka/data/meta.properties",
			"/opt/bitnami/kafka/config/server.properties"},
		peers:   []peer{{addr: svcKafka, port: 9093}, dnsPeer},
		libs:    []string{"/opt/bitnami/java/lib/server/libjvm.so", "/opt/bitnami/java/lib/libnio.so", libc},
		uprobes: []uprobeDef{{"/opt/bitnami/java/lib/server/libjvm.so", "JVM_StartThread"}},
		usdts:   []usdtDef{{"/opt/bitnami/java/lib/server/libjvm.so", "hotspot", "gc__end", nil}},
	},
	"coredns": {
		name: "coredns", kind: "Deployment", component: "dns", container: "coredns",
		image: "registry.k8s.io/coredns/coredns", tag: "v1.11.3",
		init: cmd{"/coredns", "-conf /etc/coredns/Corefile"}, cwd: "/", uid: 65532, threads: true,
		files:   []string{"/etc/coredns/Corefile", "/etc/resolv.conf"},
		peers:   []peer{{addr: "10.0.0.2", port: 53, udp: true}, apiPeer},
		libs:    []string{libc},
		uprobes: []uprobeDef{{"/coredns", "github.com/miekg/dns.(*Server).serveUDP"}},
		usdts:   []usdtDef{{libc, "libc", "setjmp", nil}},
	},
	"cilium": {
		name: "cilium", kind: "DaemonSet", component: "agent", container: "cilium-agent",
		image: "quay.io/cilium/cilium", tag: "v1.16.3",
		init: cmd{"/usr/bin/cilium-agent", "--config-dir=/tmp/cilium/config-map"}, cwd: "/home/cilium", uid: 0,
		threads: true, hostNet: true, bpf: true,
		children: []cmd{
			{"/usr/bin/cilium-health-responder", "--listen 4240 --pidfile /var/run/cilium/state/health-endpoint.pid"},
			{"/usr/sbin/iptables", "-w 5 -t mangle -S CILIUM_PRE_mangle"},
			{"/usr/bin/cilium-dbg", "status --brief"},
		},
		files: []string{"/sys/fs/bpf/tc/globals/cilium_lxc", "/var/run/cilium/state/bpf_features.log",
			"/var/run/cilium/cilium.sock", "/run/xtables.lock"},
		peers:   []peer{apiPeer},
		libs:    []string{libc},
		uprobes: []uprobeDef{{"/usr/bin/cilium-agent", "github.com/cilium/cilium/pkg/endpoint.(*Endpoint).regenerate"}},
		usdts:   []usdtDef{{libc, "libc", "setjmp", nil}},
	},
	"kube-proxy": {
		name: "kube-proxy", kind: "DaemonSet", component: "proxy", container: "kube-proxy",
		image: "registry.k8s.io/kube-proxy", tag: "v1.31.2",
		init: cmd{"/usr/local/bin/kube-proxy", "--config=/var/lib/kube-proxy/config.conf --hostname-override=$(NODE_NAME)"},
		cwd:  "/", uid: 0, hostNet: true,
		children: []cmd{
			{"/usr/sbin/iptables-restore", "-w 5 -W 100000 --noflush --counters"},
			{"/usr/sbin/iptables", "-w 5 -W 100000 -S KUBE-PROXY-CANARY -t mangle"},
			{"/usr/sbin/ip6tables", "-w 5 -W 100000 -S KUBE-PROXY-CANARY -t mangle"},
		},
		files:   []string{"/run/xtables.lock", "/var/lib/kube-proxy/kubeconfig.conf", "/proc/sys/net/ipv4/conf/all/route_localnet"},
		peers:   []peer{apiPeer},
		libs:    []string{libc, "/usr/lib/x86_64-linux-gnu/libxtables.so.12"},
		uprobes: []uprobeDef{{"/usr/local/bin/kube-proxy", "k8s.io/kubernetes/pkg/proxy/iptables.(*Proxier).syncProxyRules"}},
		usdts:   []usdtDef{{libc, "libc", "setjmp", nil}},
	},
	"prometheus": {
		name: "prometheus", kind: "StatefulSet", component: "server", container: "prometheus",
		image: "quay.io/prometheus/prometheus", tag: "v2.55.1",
		init: cmd{"/bin/prometheus", "--config.file=/etc/prometheus/prometheus.yml --storage.tsdb.path=/prometheus --storage.tsdb.retention.time=15d"},
		cwd:  "/prometheus", uid: 65534, threads: true,
		children: []cmd{{"/bin/sh", "-c wget -qO- http://127.0.0.1:9090/-/ready"}},
		files:    []string{"/prometheus/wal/00000123", "/etc/prometheus/prometheus.yml", "/prometheus/chunks_head/000042"},
		peers:    []peer{{addr: "10.244.1.17", port: 9100}, {addr: svcPayments, port: 8081}, {addr: "10.0.0.11", port: 10250}, dnsPeer},
		libs:     []string{libc},
		uprobes:  []uprobeDef{{"/bin/prometheus", "github.com/prometheus/prometheus/scrape.(*scrapeLoop).scrapeAndReport"}},
		usdts:    []usdtDef{{libc, "libc", "setjmp", nil}},
	},
	"grafana": {
		name: "grafana", kind: "Deployment", component: "dashboards", container: "grafana",
		image: "docker.io/grafana/grafana", tag: "11.3.0",
		init: cmd{"/usr/share/grafana/bin/grafana", "server --homepath=/usr/share/grafana --config=/etc/grafana/grafana.ini"},
		cwd:  "/usr/share/grafana", uid: 472, threads: true,
		children: []cmd{{"/bin/sh", "-c wget -qO- http://127.0.0.1:3000/api/health"}},
		files:    []string{"/var/lib/grafana/grafana.db", "/etc/grafana/grafana.ini", "/var/lib/grafana/grafana.db-journal"},
		peers:    []peer{{addr: svcProm, port: 9090}, {addr: svcLoki, port: 3100}, dnsPeer},
		libs:     []string{libc},
		uprobes:  []uprobeDef{{"/usr/share/grafana/bin/grafana", "crypto/tls.(*Conn).Write"}},
		usdts:    []usdtDef{{libc, "libc", "setjmp", nil}},
	},
	"node-exporter": {
		name: "node-exporter", kind: "DaemonSet", component: "exporter", container: "node-exporter",
		image: "quay.io/prometheus/node-exporter", tag: "v1.8.2",
		init: cmd{"/bin/node_exporter", "--path.procfs=/host/proc --path.sysfs=/host/sys --path.rootfs=/host/root"},
		cwd:  "/", uid: 65534, hostNet: true, threads: true,
		children: []cmd{{"/bin/sh", "-c wget -qO- http://127.0.0.1:9100/metrics"}},
		files:    []string{"/host/proc/stat", "/host/proc/meminfo", "/host/sys/class/net/eth0/statistics/rx_bytes", "/host/proc/1/mountinfo"},
		peers:    []peer{dnsPeer},
		libs:     []string{libc},
		uprobes:  []uprobeDef{{"/bin/node_exporter", "github.com/prometheus/node_exporter/collector.(*cpuCollector).Update"}},
		usdts:    []usdtDef{{libc, "libc", "setjmp", nil}},
	},
	"fluent-bit": {
		name: "fluent-bit", kind: "DaemonSet", component: "logging", container: "fluent-bit",
		image: "cr.fluentbit.io/fluent/fluent-bit", tag: "3.1.9",
		init: cmd{"/fluent-bit/bin/fluent-bit", "-c /fluent-bit/etc/conf/fluent-bit.conf"}, cwd: "/", uid: 0, threads: true,
		children: []cmd{{"/bin/sh", "-c wget -qO- http://127.0.0.1:2020/api/v1/health"}},
		files: []string{"/var/log/containers/checkout-7d9f8b6c5d-x2kqp_checkout_checkout-6f1c.log",
			"/var/log/containers/payments-api-5b7d9c8f4-9qwtz_payments_payments-api-2ab4.log", "/var/fluent-bit/state/flb_kube.db"},
		peers:   []peer{{addr: svcLoki, port: 3100}, dnsPeer},
		libs:    []string{libc, libssl, "/usr/lib/x86_64-linux-gnu/libyaml-0.so.2"},
		uprobes: []uprobeDef{{libssl, "SSL_write"}},
		usdts:   []usdtDef{{libc, "libc", "setjmp", nil}},
	},
	"ingress-nginx-controller": {
		name: "ingress-nginx-controller", kind: "Deployment", component: "controller", container: "controller",
		image: "registry.k8s.io/ingress-nginx/controller", tag: "v1.11.3",
		init: cmd{"/usr/bin/dumb-init", "-- /nginx-ingress-controller --publish-service=ingress-nginx/ingress-nginx-controller --election-id=ingress-nginx-leader --controller-class=k8s.io/ingress-nginx"},
		cwd:  "/etc/nginx", uid: 101, threads: true,
		children: []cmd{{"/usr/bin/nginx", "-c /etc/nginx/nginx.conf -t"}, {"/nginx-ingress-controller", "--version"}},
		files:    []string{"/etc/nginx/nginx.conf", "/etc/ingress-controller/ssl/default-fake-certificate.pem", "/var/log/nginx/access.log"},
		peers:    []peer{{addr: svcCheckout, port: 8080}, apiPeer, dnsPeer},
		libs:     []string{libc, libssl, libcrypt, "/usr/local/lib/libluajit-5.1.so.2"},
		uprobes:  []uprobeDef{{libssl, "SSL_read"}},
		usdts:    []usdtDef{{libc, "libc", "setjmp", nil}},
	},
	"cert-manager": {
		name: "cert-manager", kind: "Deployment", component: "controller", container: "cert-manager-controller",
		image: "quay.io/jetstack/cert-manager-controller", tag: "v1.16.1",
		init: cmd{"/app/cmd/controller/controller", "--v=2 --cluster-resource-namespace=cert-manager --leader-election-namespace=kube-system"},
		cwd:  "/", uid: 1000, threads: true,
		files:   []string{"/var/run/secrets/kubernetes.io/serviceaccount/token"},
		peers:   []peer{apiPeer, {addr: "172.65.32.248", port: 443, extrn: true}, dnsPeer},
		libs:    []string{libc},
		uprobes: []uprobeDef{{"/app/cmd/controller/controller", "crypto/tls.(*Conn).Write"}},
		usdts:   []usdtDef{{libc, "libc", "setjmp", nil}},
	},
}

// namespaces in the order they are used; more are named team-NN and run
// generic services.
var namespaceApps = []struct {
	name string
	apps []string
}{
	{"kube-system", []string{"cilium", "coredns", "kube-proxy"}},
	{"default", []string{"nginx"}},
	{"payments", []string{"payments-api", "postgres", "redis"}},
	{"checkout", []string{"checkout", "redis"}},
	{"frontend", []string{"storefront-web", "nginx"}},
	{"monitoring", []string{"prometheus", "node-exporter", "grafana"}},
	{"data", []string{"report-worker", "kafka"}},
	{"logging", []string{"fluent-bit"}},
	{"ingress-nginx", []string{"ingress-nginx-controller"}},
	{"cert-manager", []string{"cert-manager"}},
}

var teamApps = []string{"storefront-web", "checkout", "report-worker", "nginx", "redis"}

// The node's own processes (no pod).
var hostApp = app{
	name: "host",
	files: []string{"/etc/kubernetes/kubelet.conf", "/var/lib/kubelet/config.yaml", "/etc/shadow", "/etc/passwd",
		"/run/containerd/containerd.sock", "/var/lib/containerd/io.containerd.metadata.v1.bolt/meta.db",
		"/home/ops/.bash_history", "/etc/sudoers", "/var/log/syslog", "/etc/ssh/sshd_config"},
	peers:   []peer{{addr: "10.0.0.1", port: 6443}, {addr: "169.254.169.254", port: 80}, {addr: "185.125.190.36", port: 443, extrn: true}},
	libs:    []string{libc, "/usr/lib/x86_64-linux-gnu/libsystemd.so.0", "/usr/lib/x86_64-linux-gnu/libseccomp.so.2", "/usr/lib/x86_64-linux-gnu/libpam.so.0"},
	uprobes: []uprobeDef{{"/usr/bin/bash", "readline"}, {"/usr/lib/x86_64-linux-gnu/libpam.so.0", "pam_authenticate"}},
	usdts:   []usdtDef{{libc, "libc", "setjmp", nil}, {"/usr/bin/containerd", "containerd", "task__create", nil}},
}

// What host processes exec, by parent binary.
var hostChildren = map[string][]cmd{
	"/usr/bin/kubelet": {
		{"/usr/sbin/iptables", "-w 5 -W 100000 -S KUBE-KUBELET-CANARY -t mangle"},
		{"/usr/sbin/ip6tables", "-w 5 -W 100000 -S KUBE-KUBELET-CANARY -t mangle"},
		{"/usr/bin/mount", "-t tmpfs -o size=4G tmpfs /var/lib/kubelet/pods/volumes/kubernetes.io~projected/kube-api-access"},
		{"/usr/bin/umount", "/var/lib/kubelet/pods/volumes/kubernetes.io~projected/kube-api-access"},
	},
	"/usr/bin/containerd": {
		{"/usr/bin/runc", "--root /run/containerd/runc/k8s.io --log-format json state"},
		{"/usr/bin/runc", "--root /run/containerd/runc/k8s.io --log-format json exec --detach --process /tmp/runc-process"},
	},
	"/usr/lib/systemd/systemd": {
		{"/usr/sbin/logrotate", "/etc/logrotate.conf"},
		{"/usr/bin/systemd-tmpfiles", "--clean"},
		{"/usr/lib/apt/apt.systemd.daily", "update"},
	},
	"/usr/sbin/sshd": {{"/usr/bin/bash", ""}},
	"/usr/bin/bash": {
		{"/usr/bin/sudo", "journalctl -u kubelet --since -10m"},
		{"/usr/bin/ls", "-la /var/log/pods"},
		{"/usr/bin/cat", "/etc/os-release"},
		{"/usr/bin/curl", "-sk https://localhost:10250/healthz"},
		{"/usr/bin/crictl", "ps -a"},
		{"/usr/bin/top", "-b -n 1"},
		{"/usr/bin/vim", "/etc/kubernetes/kubelet.conf"},
	},
}

// kprobe hooks and their share (out of 100) among a pod's hook events.
type hookKind int

const (
	hookFilePerm hookKind = iota
	hookFdInstall
	hookTCPConnect
	hookTCPSendmsg
	hookTCPClose
	hookSysWrite
	hookCommitCreds
	hookCapCapable
	hookSetns
	hookModuleRequest
	hookBPF
	hookBprmCreds
)

var hookWeights = []struct {
	kind hookKind
	w    int
}{
	{hookFilePerm, 28}, {hookFdInstall, 12}, {hookTCPConnect, 14}, {hookTCPSendmsg, 10}, {hookTCPClose, 8},
	{hookSysWrite, 10}, {hookCommitCreds, 3}, {hookCapCapable, 5}, {hookSetns, 2}, {hookModuleRequest, 1},
	{hookBPF, 2}, {hookBprmCreds, 5},
}

var capNames = []struct {
	v    int32
	name string
}{{21, "CAP_SYS_ADMIN"}, {12, "CAP_NET_ADMIN"}, {34, "CAP_SYSLOG"}, {19, "CAP_SYS_PTRACE"}, {13, "CAP_NET_RAW"}}
