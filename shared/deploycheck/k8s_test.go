package deploycheck_test

import (
	"bytes"
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	"sigs.k8s.io/yaml"

	"github.com/tetragon-fanout/tetragon-fanout/shared/eventtype"
)

func TestKustomizeBuilds(t *testing.T) {
	for _, b := range builds {
		rs := kustomize(t, b)
		if len(rs) == 0 {
			t.Errorf("%s renders nothing", b)
		}
		for _, r := range rs {
			if _, core := coreTypes[r.APIVersion+"/"+r.Kind]; !core && crdFor(t, r) == nil {
				t.Errorf("%s: kind %s/%s is neither a checked core type nor a CRD in testdata/crds", r, r.APIVersion, r.Kind)
			}
			if errs := validation.IsDNS1123Subdomain(r.Name); len(errs) > 0 {
				t.Errorf("%s: name: %v", r, errs)
			}
		}
	}
	// The example overlay is what users apply: it must be namespaced and
	// carry the monitoring and scaling pieces.
	ex := kustomize(t, "deployments/k8s/overlays/example")
	for _, kind := range []string{"Namespace", "DaemonSet", "Deployment", "ServiceMonitor", "PrometheusRule", "ScaledObject", "NetworkPolicy", "PodDisruptionBudget"} {
		if !slices.ContainsFunc(ex, func(r resource) bool { return r.Kind == kind }) {
			t.Errorf("overlays/example has no %s", kind)
		}
	}
	for _, r := range ex {
		if r.Kind != "Namespace" && r.Namespace != "tetragon-fanout" {
			t.Errorf("%s: namespace %q, want tetragon-fanout", r, r.Namespace)
		}
	}
}

func TestManifestsDecodeStrictly(t *testing.T) {
	n := 0
	for _, r := range allResources(t) {
		if _, core := coreTypes[r.APIVersion+"/"+r.Kind]; !core {
			continue
		}
		if _, err := decodeStrict(r); err != nil {
			t.Error(err)
		}
		n++
	}
	if n < 20 {
		t.Errorf("only %d core objects decoded", n)
	}
	// The decoder itself must reject what the API server would.
	bad := resource{Build: "inline", APIVersion: "apps/v1", Kind: "Deployment", Name: "x",
		YAML: []byte("apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: x}\nspec:\n  replica: 2\n")}
	if _, err := decodeStrict(bad); err == nil {
		t.Error("a Deployment with the unknown field spec.replica decoded without error")
	}
}

func TestPodSecurity(t *testing.T) {
	for _, b := range builds {
		for _, w := range workloads(t, kustomize(t, b)) {
			pod := w.Pod
			psc := pod.SecurityContext
			if psc == nil || psc.RunAsNonRoot == nil || !*psc.RunAsNonRoot {
				t.Errorf("%s: pod securityContext.runAsNonRoot must be true", w.Res)
			}
			if psc == nil || psc.SeccompProfile == nil || psc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
				t.Errorf("%s: pod seccompProfile must be RuntimeDefault", w.Res)
			}
			if pod.AutomountServiceAccountToken == nil || *pod.AutomountServiceAccountToken {
				t.Errorf("%s: automountServiceAccountToken must be false (no API access needed)", w.Res)
			}
			if pod.HostNetwork || pod.HostPID || pod.HostIPC {
				t.Errorf("%s: host namespaces are not needed", w.Res)
			}
			for _, c := range pod.Containers {
				sc := c.SecurityContext
				switch {
				case sc == nil:
					t.Errorf("%s/%s: no securityContext", w.Res, c.Name)
					continue
				case sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem:
					t.Errorf("%s/%s: readOnlyRootFilesystem must be true", w.Res, c.Name)
				case sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation:
					t.Errorf("%s/%s: allowPrivilegeEscalation must be false", w.Res, c.Name)
				case sc.Capabilities == nil || !slices.Equal(sc.Capabilities.Drop, []corev1.Capability{"ALL"}) || len(sc.Capabilities.Add) > 0:
					t.Errorf("%s/%s: capabilities must drop ALL and add none", w.Res, c.Name)
				case sc.Privileged != nil && *sc.Privileged:
					t.Errorf("%s/%s: privileged", w.Res, c.Name)
				}
				if c.Resources.Requests.Cpu().IsZero() || c.Resources.Requests.Memory().IsZero() || c.Resources.Limits.Memory().IsZero() {
					t.Errorf("%s/%s: needs cpu and memory requests and a memory limit", w.Res, c.Name)
				}
				checkProbe(t, w, c, c.LivenessProbe, "/healthz")
				checkProbe(t, w, c, c.ReadinessProbe, "/readyz")
				if binaryOf(c) == "" {
					t.Errorf("%s/%s: image %q is neither ingester nor fanout", w.Res, c.Name, c.Image)
				}
			}
		}
	}
}

func checkProbe(t *testing.T, w workload, c corev1.Container, p *corev1.Probe, path string) {
	t.Helper()
	if p == nil || p.HTTPGet == nil || p.HTTPGet.Path != path {
		t.Errorf("%s/%s: want an HTTP probe on %s", w.Res, c.Name, path)
		return
	}
	if !hasPort(c, p.HTTPGet.Port.String()) {
		t.Errorf("%s/%s: probe port %s is not a container port", w.Res, c.Name, p.HTTPGet.Port.String())
	}
	if !strings.HasSuffix(envDefault(t, c, "HTTP_ADDR"), ":"+strconv.Itoa(int(portNumber(c, p.HTTPGet.Port.String())))) {
		t.Errorf("%s/%s: probe port %s is not where HTTP_ADDR listens (%s)", w.Res, c.Name, p.HTTPGet.Port.String(), envDefault(t, c, "HTTP_ADDR"))
	}
}

func hasPort(c corev1.Container, port string) bool { return portNumber(c, port) != 0 }

func portNumber(c corev1.Container, port string) int32 {
	for _, p := range c.Ports {
		if p.Name == port || strconv.Itoa(int(p.ContainerPort)) == port {
			return p.ContainerPort
		}
	}
	return 0
}

// envDefault is the value a container's binary sees for name: a literal
// env entry, or the binary's default (envFrom maps hold only Kafka settings).
func envDefault(t *testing.T, c corev1.Container, name string) string {
	t.Helper()
	for _, e := range c.Env {
		if e.Name == name && e.ValueFrom == nil {
			return e.Value
		}
	}
	return binaryVars(t, binaryOf(c))[name].Default
}

func TestIngesterDaemonSet(t *testing.T) {
	for _, b := range builds {
		rs := kustomize(t, b)
		r, ok := findResource(rs, "DaemonSet", "tetragon-fanout-ingester")
		if !ok {
			continue
		}
		ds := mustDecode[*appsv1.DaemonSet](t, r)
		pod := ds.Spec.Template.Spec
		c := pod.Containers[0]

		nodeName := false
		for _, e := range c.Env {
			if e.Name == "NODE_NAME" && e.ValueFrom != nil && e.ValueFrom.FieldRef != nil && e.ValueFrom.FieldRef.FieldPath == "spec.nodeName" {
				nodeName = true
			}
		}
		if !nodeName {
			t.Errorf("%s: NODE_NAME must come from the downward API (spec.nodeName)", r)
		}

		if !slices.ContainsFunc(pod.Tolerations, func(tol corev1.Toleration) bool {
			return tol.Operator == corev1.TolerationOpExists && tol.Key == "" && tol.Effect == ""
		}) {
			t.Errorf("%s: needs a toleration {operator: Exists} to run on every node", r)
		}

		// The socket directory is a read-only hostPath and TETRAGON_ADDR points into it.
		addr := strings.TrimPrefix(envDefault(t, c, "TETRAGON_ADDR"), "unix://")
		mounted := false
		for _, m := range c.VolumeMounts {
			v := volume(pod, m.Name)
			if v == nil || v.HostPath == nil {
				continue
			}
			if v.HostPath.Path != "/var/run/tetragon" || !m.ReadOnly {
				t.Errorf("%s: hostPath %s mounted at %s (readOnly %v); want /var/run/tetragon read-only", r, v.HostPath.Path, m.MountPath, m.ReadOnly)
			}
			if strings.HasPrefix(addr, m.MountPath+"/") {
				mounted = true
			}
		}
		if !mounted {
			t.Errorf("%s: TETRAGON_ADDR %s is not under a hostPath mount", r, addr)
		}

		// A rollout must not leave a node unread: Tetragon keeps producing
		// and nobody counts what no client receives. Surge one new pod
		// beside the old (both read the stream; the fanout's dedup removes
		// the overlap), never take one away first. A hostPort would stop
		// the surge pod from scheduling beside the old one.
		ru := ds.Spec.UpdateStrategy.RollingUpdate
		if ds.Spec.UpdateStrategy.Type != appsv1.RollingUpdateDaemonSetStrategyType || ru == nil ||
			ru.MaxSurge == nil || ru.MaxSurge.String() != "1" || ru.MaxUnavailable == nil || ru.MaxUnavailable.String() != "0" {
			t.Errorf("%s: updateStrategy %+v; want RollingUpdate with maxSurge 1, maxUnavailable 0", r, ds.Spec.UpdateStrategy)
		}
		for _, p := range c.Ports {
			if p.HostPort != 0 || pod.HostNetwork {
				t.Errorf("%s: port %s on the host: a surge pod could not run beside the old one", r, p.Name)
			}
		}

		// The pod must outlive the ingester's flush on SIGTERM.
		shutdown := parseDuration(t, "SHUTDOWN_TIMEOUT", envDefault(t, c, "SHUTDOWN_TIMEOUT"))
		if pod.TerminationGracePeriodSeconds == nil || time.Duration(*pod.TerminationGracePeriodSeconds)*time.Second <= shutdown+5*time.Second {
			t.Errorf("%s: terminationGracePeriodSeconds must exceed SHUTDOWN_TIMEOUT (%s) by more than 5s", r, shutdown)
		}
	}
}

func volume(pod corev1.PodSpec, name string) *corev1.Volume {
	for i := range pod.Volumes {
		if pod.Volumes[i].Name == name {
			return &pod.Volumes[i]
		}
	}
	return nil
}

func TestFanoutWorkloads(t *testing.T) {
	var deployTemplate, stsTemplate *corev1.PodTemplateSpec
	for _, b := range builds {
		rs := kustomize(t, b)
		for _, w := range workloads(t, rs) {
			if binaryOf(w.Pod.Containers[0]) != "fanout" {
				continue
			}
			c := w.Pod.Containers[0]
			if w.Replicas == nil || *w.Replicas < 2 {
				t.Errorf("%s: want at least 2 replicas", w.Res)
			}
			aff := w.Pod.Affinity
			if aff == nil || aff.PodAntiAffinity == nil || len(aff.PodAntiAffinity.PreferredDuringSchedulingIgnoredDuringExecution)+len(aff.PodAntiAffinity.RequiredDuringSchedulingIgnoredDuringExecution) == 0 {
				t.Errorf("%s: needs pod anti-affinity", w.Res)
			}
			// STATE_DIR is a writable volume: emptyDir (Deployment) or a claim (StatefulSet).
			state := envDefault(t, c, "STATE_DIR")
			var stateMount *corev1.VolumeMount
			for i, m := range c.VolumeMounts {
				if m.MountPath == state {
					stateMount = &c.VolumeMounts[i]
				}
			}
			switch {
			case stateMount == nil:
				t.Errorf("%s: STATE_DIR %s is not a mounted volume (the root filesystem is read-only)", w.Res, state)
			case w.Res.Kind == "Deployment":
				if v := volume(w.Pod, stateMount.Name); v == nil || v.EmptyDir == nil {
					t.Errorf("%s: STATE_DIR volume %s should be an emptyDir", w.Res, stateMount.Name)
				}
			case w.Res.Kind == "StatefulSet":
				if !slices.ContainsFunc(w.Claims, func(p corev1.PersistentVolumeClaim) bool { return p.Name == stateMount.Name }) {
					t.Errorf("%s: STATE_DIR volume %s should be a volumeClaimTemplate", w.Res, stateMount.Name)
				}
			}
			// The pod outlives the fanout's bounded shutdown (SHUTDOWN_TIMEOUT),
			// so its last line, which says whether the flush finished, is
			// written before Kubernetes kills it.
			shutdown := parseDuration(t, "SHUTDOWN_TIMEOUT", envDefault(t, c, "SHUTDOWN_TIMEOUT"))
			if g := w.Pod.TerminationGracePeriodSeconds; g == nil || time.Duration(*g)*time.Second <= shutdown+5*time.Second {
				t.Errorf("%s: terminationGracePeriodSeconds must exceed SHUTDOWN_TIMEOUT (%s) by more than 5s", w.Res, shutdown)
			}
			// A PodDisruptionBudget covers the replicas.
			covered := false
			for _, r := range rs {
				if r.Kind == "PodDisruptionBudget" {
					pdb := mustDecode[*policyv1.PodDisruptionBudget](t, r)
					covered = covered || selects(pdb.Spec.Selector.MatchLabels, w.Labels)
				}
			}
			if !covered {
				t.Errorf("%s: no PodDisruptionBudget selects its pods", w.Res)
			}
			if w.Res.Kind == "StatefulSet" {
				sts := mustDecode[*appsv1.StatefulSet](t, w.Res)
				if _, ok := findResource(rs, "Service", sts.Spec.ServiceName); !ok {
					t.Errorf("%s: serviceName %s is not a Service of the build", w.Res, sts.Spec.ServiceName)
				}
				if _, ok := findResource(rs, "Deployment", w.Res.Name); ok {
					t.Errorf("%s: the Deployment of the same name is still in the build", w.Res)
				}
				stsTemplate = &sts.Spec.Template
			} else if deployTemplate == nil {
				deployTemplate = &mustDecode[*appsv1.Deployment](t, w.Res).Spec.Template
			}
		}
	}
	// The StatefulSet variant is a copy of the Deployment's pod: it must not drift.
	if deployTemplate == nil || stsTemplate == nil {
		t.Fatal("need both the fanout Deployment and StatefulSet in the builds")
	}
	strip := func(p *corev1.PodTemplateSpec) []byte {
		p = p.DeepCopy()
		p.Spec.Volumes = slices.DeleteFunc(p.Spec.Volumes, func(v corev1.Volume) bool { return v.Name == "state" })
		b, _ := json.Marshal(p)
		return b
	}
	if d, s := strip(deployTemplate), strip(stsTemplate); !bytes.Equal(d, s) {
		t.Errorf("components/statefulset pod template differs from base/fanout-deployment.yaml (beyond the state volume):\n deployment:  %s\n statefulset: %s", d, s)
	}
}

func TestServicesAndMonitors(t *testing.T) {
	for _, b := range builds {
		rs := kustomize(t, b)
		ws := workloads(t, rs)
		services := map[string]*corev1.Service{}
		for _, r := range rs {
			if r.Kind != "Service" {
				continue
			}
			svc := mustDecode[*corev1.Service](t, r)
			services[r.Name] = svc
			matched := false
			for _, w := range ws {
				if !selects(svc.Spec.Selector, w.Labels) {
					continue
				}
				matched = true
				for _, p := range svc.Spec.Ports {
					if !hasPort(w.Pod.Containers[0], p.TargetPort.String()) {
						t.Errorf("%s: targetPort %s is not a port of %s", r, p.TargetPort.String(), w.Res)
					}
				}
			}
			if !matched && len(ws) > 0 {
				t.Errorf("%s: selects no workload", r)
			}
		}
		for _, r := range rs {
			if r.Kind != "ServiceMonitor" {
				continue
			}
			var sm struct {
				Spec struct {
					Selector struct {
						MatchLabels map[string]string `json:"matchLabels"`
					} `json:"selector"`
					Endpoints []struct {
						Port string `json:"port"`
						Path string `json:"path"`
					} `json:"endpoints"`
				} `json:"spec"`
			}
			if err := yaml.Unmarshal(r.YAML, &sm); err != nil {
				t.Fatal(err)
			}
			found := false
			for _, svc := range services {
				if !selects(sm.Spec.Selector.MatchLabels, svc.Labels) {
					continue
				}
				found = true
				for _, ep := range sm.Spec.Endpoints {
					if !slices.ContainsFunc(svc.Spec.Ports, func(p corev1.ServicePort) bool { return p.Name == ep.Port }) {
						t.Errorf("%s: endpoint port %q is not a port of Service %s", r, ep.Port, svc.Name)
					}
					if ep.Path != "/metrics" {
						t.Errorf("%s: path %q, the binaries serve /metrics", r, ep.Path)
					}
				}
			}
			if !found {
				t.Errorf("%s: selects no Service", r)
			}
		}
	}
}

func TestNetworkPolicies(t *testing.T) {
	rs := kustomize(t, "deployments/k8s/overlays/example")
	ws := workloads(t, rs)
	for _, w := range ws {
		var policy *networkingv1.NetworkPolicy
		for _, r := range rs {
			if r.Kind == "NetworkPolicy" {
				np := mustDecode[*networkingv1.NetworkPolicy](t, r)
				if selects(np.Spec.PodSelector.MatchLabels, w.Labels) {
					policy = np
				}
			}
		}
		if policy == nil {
			t.Errorf("%s: no NetworkPolicy selects its pods", w.Res)
			continue
		}
		if !slices.Equal(policy.Spec.PolicyTypes, []networkingv1.PolicyType{networkingv1.PolicyTypeIngress, networkingv1.PolicyTypeEgress}) {
			t.Errorf("%s: policy %s must restrict Ingress and Egress", w.Res, policy.Name)
		}
		for _, in := range policy.Spec.Ingress {
			for _, p := range in.Ports {
				if !hasPort(w.Pod.Containers[0], p.Port.String()) {
					t.Errorf("%s: ingress port %s is not a container port", w.Res, p.Port.String())
				}
			}
			for _, from := range in.From {
				if from.NamespaceSelector == nil || from.NamespaceSelector.MatchLabels["kubernetes.io/metadata.name"] != "monitoring" {
					t.Errorf("%s: ingress only from the monitoring namespace", w.Res)
				}
			}
		}
		// Egress: DNS, and the broker ports of every KAFKA_BROKERS entry.
		ports := map[string]bool{}
		for _, e := range policy.Spec.Egress {
			for _, p := range e.Ports {
				ports[p.Port.String()] = true
			}
		}
		if !ports["53"] {
			t.Errorf("%s: egress must allow DNS (53)", w.Res)
		}
		brokers := configMapValue(t, rs, w.Pod.Containers[0], "KAFKA_BROKERS")
		for _, b := range strings.Split(brokers, ",") {
			port := b[strings.LastIndex(b, ":")+1:]
			if !ports[port] {
				t.Errorf("%s: KAFKA_BROKERS %s: egress does not allow port %s", w.Res, b, port)
			}
		}
	}
}

// configMapValue resolves name through the container's envFrom ConfigMaps.
func configMapValue(t *testing.T, rs []resource, c corev1.Container, name string) string {
	t.Helper()
	for _, e := range c.Env {
		if e.Name == name {
			return e.Value
		}
	}
	for _, ef := range c.EnvFrom {
		if ef.ConfigMapRef == nil {
			continue
		}
		r, ok := findResource(rs, "ConfigMap", ef.ConfigMapRef.Name)
		if !ok {
			t.Fatalf("envFrom ConfigMap %s is not in the build", ef.ConfigMapRef.Name)
		}
		if v, ok := mustDecode[*corev1.ConfigMap](t, r).Data[name]; ok {
			return v
		}
	}
	return binaryVars(t, binaryOf(c))[name].Default
}

func TestRoutesCopy(t *testing.T) {
	local := readRepoFile(t, "deployments", "local", "routes.example.yaml")
	k8s := readRepoFile(t, "deployments", "k8s", "base", "routes.yaml")
	if !bytes.Equal(local, k8s) {
		t.Error("deployments/k8s/base/routes.yaml differs from deployments/local/routes.example.yaml: copy it again")
	}
	// The ConfigMap carries it under the file name ROUTES_FILE expects.
	rs := kustomize(t, "deployments/k8s/base")
	for _, w := range workloads(t, rs) {
		c := w.Pod.Containers[0]
		if binaryOf(c) != "fanout" {
			continue
		}
		routes := envDefault(t, c, "ROUTES_FILE")
		ok := false
		for _, m := range c.VolumeMounts {
			v := volume(w.Pod, m.Name)
			if v == nil || v.ConfigMap == nil || !strings.HasPrefix(routes, m.MountPath+"/") {
				continue
			}
			r, found := findResource(rs, "ConfigMap", v.ConfigMap.Name)
			if !found {
				t.Fatalf("%s: ConfigMap %s not in the build", w.Res, v.ConfigMap.Name)
			}
			if mustDecode[*corev1.ConfigMap](t, r).Data[strings.TrimPrefix(routes, m.MountPath+"/")] == string(local) {
				ok = true
			}
		}
		if !ok {
			t.Errorf("%s: ROUTES_FILE %s is not the routes ConfigMap's file", w.Res, routes)
		}
	}
}

// kafkaTopic is the part of a Strimzi KafkaTopic the checks read.
type kafkaTopic struct {
	Metadata struct {
		Name   string            `json:"name"`
		Labels map[string]string `json:"labels"`
	} `json:"metadata"`
	Spec struct {
		TopicName  string            `json:"topicName"`
		Partitions int32             `json:"partitions"`
		Replicas   int32             `json:"replicas"`
		Config     map[string]string `json:"config"`
	} `json:"spec"`
}

func kafkaTopics(t *testing.T) map[string]kafkaTopic {
	t.Helper()
	out := map[string]kafkaTopic{}
	for _, r := range kustomize(t, "deployments/k8s/kafka-topics") {
		if r.Kind != "KafkaTopic" {
			continue
		}
		var kt kafkaTopic
		if err := yaml.Unmarshal(r.YAML, &kt); err != nil {
			t.Fatal(err)
		}
		name := kt.Spec.TopicName
		if name == "" {
			name = kt.Metadata.Name
		}
		out[name] = kt
	}
	return out
}

func TestKafkaTopics(t *testing.T) {
	topics := kafkaTopics(t)
	ingester := binaryVars(t, "ingester")
	fanout := binaryVars(t, "fanout")
	ex := kustomize(t, "deployments/k8s/overlays/example")
	fanoutC := fanoutContainer(t, ex)
	group := envDefault(t, fanoutC, "FANOUT_GROUP")
	raw := ingester["RAW_TOPIC"].Default
	dlq := envDefault(t, fanoutC, "DLQ_TOPIC")
	table := group + "-table"

	want := []string{raw, dlq, table}
	for _, typ := range eventtype.All() {
		want = append(want, "tetragon."+typ)
	}
	for _, name := range want {
		kt, ok := topics[name]
		if !ok {
			t.Errorf("kafka-topics: no KafkaTopic for %s", name)
			continue
		}
		if kt.Spec.Replicas != 3 || kt.Spec.Config["min.insync.replicas"] != "2" {
			t.Errorf("%s: want replicas 3 and min.insync.replicas 2, got %d and %q", name, kt.Spec.Replicas, kt.Spec.Config["min.insync.replicas"])
		}
		if kt.Metadata.Labels["strimzi.io/cluster"] == "" {
			t.Errorf("%s: no strimzi.io/cluster label", name)
		}
	}
	if len(topics) != len(want) {
		t.Errorf("kafka-topics has %d topics, want %d (%v)", len(topics), len(want), want)
	}

	// Raw: the partitions the ingester would create and the fanout scales to.
	parts, _ := strconv.Atoi(ingester["RAW_TOPIC_PARTITIONS"].Default)
	if got := topics[raw].Spec.Partitions; int(got) != parts {
		t.Errorf("%s: %d partitions, RAW_TOPIC_PARTITIONS defaults to %d", raw, got, parts)
	}
	if got, want := topics[raw].Spec.Config["retention.ms"], ms(parseDuration(t, "RAW_TOPIC_RETENTION", ingester["RAW_TOPIC_RETENTION"].Default)); got != want {
		t.Errorf("%s: retention.ms %s, RAW_TOPIC_RETENTION default is %s ms", raw, got, want)
	}
	if got, want := topics[raw].Spec.Config["max.message.bytes"], ingester["RAW_TOPIC_MAX_MESSAGE_BYTES"].Default; got != want {
		t.Errorf("%s: max.message.bytes %s, the ingester creates it with %s", raw, got, want)
	}

	// The table changelog: co-partitioned with raw, compact+delete, bounded.
	tt := topics[table]
	window := parseDuration(t, "DEDUP_WINDOW", envDefault(t, fanoutC, "DEDUP_WINDOW"))
	margin := parseDuration(t, "TABLE_RETENTION_MARGIN", fanout["TABLE_RETENTION_MARGIN"].Default)
	if tt.Spec.Partitions != topics[raw].Spec.Partitions {
		t.Errorf("%s: %d partitions, the raw topic has %d (goka co-partitions them)", table, tt.Spec.Partitions, topics[raw].Spec.Partitions)
	}
	if got := tt.Spec.Config["cleanup.policy"]; got != "compact,delete" {
		t.Errorf("%s: cleanup.policy %q, want compact,delete", table, got)
	}
	if got, want := tt.Spec.Config["retention.ms"], ms(window+margin); got != want {
		t.Errorf("%s: retention.ms %s, want DEDUP_WINDOW+TABLE_RETENTION_MARGIN = %s", table, got, want)
	}
	if got, want := tt.Spec.Config["segment.ms"], ms(max(window/4, time.Minute)); got != want {
		t.Errorf("%s: segment.ms %s, want max(DEDUP_WINDOW/4, 1m) = %s as the fanout creates it", table, got, want)
	}
	// Outputs: the fanout's partition count and retention.
	for _, typ := range eventtype.All() {
		kt := topics["tetragon."+typ]
		if p := envDefault(t, fanoutC, "OUTPUT_TOPIC_PARTITIONS"); strconv.Itoa(int(kt.Spec.Partitions)) != p {
			t.Errorf("tetragon.%s: %d partitions, OUTPUT_TOPIC_PARTITIONS is %s", typ, kt.Spec.Partitions, p)
		}
		if got, want := kt.Spec.Config["retention.ms"], ms(parseDuration(t, "OUTPUT_TOPIC_RETENTION", envDefault(t, fanoutC, "OUTPUT_TOPIC_RETENTION"))); got != want {
			t.Errorf("tetragon.%s: retention.ms %s, OUTPUT_TOPIC_RETENTION is %s ms", typ, got, want)
		}
	}
}

func ms(d time.Duration) string { return strconv.FormatInt(d.Milliseconds(), 10) }

func fanoutContainer(t *testing.T, rs []resource) corev1.Container {
	t.Helper()
	for _, w := range workloads(t, rs) {
		if c := w.Pod.Containers[0]; binaryOf(c) == "fanout" {
			return c
		}
	}
	t.Fatal("no fanout workload")
	return corev1.Container{}
}

func ingesterContainer(t *testing.T, rs []resource) corev1.Container {
	t.Helper()
	for _, w := range workloads(t, rs) {
		if c := w.Pod.Containers[0]; binaryOf(c) == "ingester" {
			return c
		}
	}
	t.Fatal("no ingester workload")
	return corev1.Container{}
}

// TestScalingBounds: every autoscaler stops at the raw topic's partitions
// (more replicas would idle) and targets the fanout workload of its build.
func TestScalingBounds(t *testing.T) {
	rawParts := kafkaTopics(t)[binaryVars(t, "ingester")["RAW_TOPIC"].Default].Spec.Partitions
	checked := 0
	for _, b := range builds {
		rs := kustomize(t, b)
		for _, r := range rs {
			var ref struct{ Kind, Name string }
			var maxReplicas int32
			switch r.Kind {
			case "ScaledObject":
				var so struct {
					Spec struct {
						ScaleTargetRef  struct{ Kind, Name string } `json:"scaleTargetRef"`
						MaxReplicaCount int32                       `json:"maxReplicaCount"`
						Triggers        []struct {
							Type     string            `json:"type"`
							Metadata map[string]string `json:"metadata"`
						} `json:"triggers"`
					} `json:"spec"`
				}
				if err := yaml.Unmarshal(r.YAML, &so); err != nil {
					t.Fatal(err)
				}
				ref, maxReplicas = so.Spec.ScaleTargetRef, so.Spec.MaxReplicaCount
				fc := fanoutContainer(t, rs)
				for _, tr := range so.Spec.Triggers {
					if tr.Type != "kafka" {
						t.Errorf("%s: trigger %s, want kafka", r, tr.Type)
						continue
					}
					if tr.Metadata["consumerGroup"] != envDefault(t, fc, "FANOUT_GROUP") || tr.Metadata["topic"] != configMapValue(t, rs, fc, "RAW_TOPIC") {
						t.Errorf("%s: trigger watches group %s topic %s; the fanout is group %s on %s", r,
							tr.Metadata["consumerGroup"], tr.Metadata["topic"], envDefault(t, fc, "FANOUT_GROUP"), configMapValue(t, rs, fc, "RAW_TOPIC"))
					}
				}
			case "HorizontalPodAutoscaler":
				var hpa struct {
					Spec struct {
						ScaleTargetRef struct{ Kind, Name string } `json:"scaleTargetRef"`
						MaxReplicas    int32                       `json:"maxReplicas"`
					} `json:"spec"`
				}
				if err := yaml.Unmarshal(r.YAML, &hpa); err != nil {
					t.Fatal(err)
				}
				ref, maxReplicas = hpa.Spec.ScaleTargetRef, hpa.Spec.MaxReplicas
			default:
				continue
			}
			checked++
			if maxReplicas != rawParts {
				t.Errorf("%s: max replicas %d, the raw topic has %d partitions", r, maxReplicas, rawParts)
			}
			if _, ok := findResource(rs, ref.Kind, ref.Name); !ok {
				t.Errorf("%s: scaleTargetRef %s/%s is not in the build", r, ref.Kind, ref.Name)
			}
		}
	}
	if checked < 3 {
		t.Errorf("checked %d autoscalers, want the KEDA and HPA variants (3)", checked)
	}
	// The ingester creates the raw topic with the same count when Strimzi does not.
	ic := ingesterContainer(t, kustomize(t, "deployments/k8s/base"))
	if p := envDefault(t, ic, "RAW_TOPIC_PARTITIONS"); p != strconv.Itoa(int(rawParts)) {
		t.Errorf("ingester RAW_TOPIC_PARTITIONS %s, kafka-topics has %d", p, rawParts)
	}
}
