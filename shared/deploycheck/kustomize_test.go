package deploycheck_test

import (
	"fmt"
	"strings"
	"sync"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/yaml"
)

// builds are the kustomizations users apply, plus test overlays that
// combine the components the example overlay does not use.
var builds = []string{
	"deployments/k8s/base",
	"deployments/k8s/overlays/example",
	"deployments/k8s/kafka-topics",
	"shared/deploycheck/testdata/overlays/statefulset-hpa",
	"shared/deploycheck/testdata/overlays/keda-statefulset",
}

// resource is one rendered object.
type resource struct {
	Build      string
	APIVersion string
	Kind       string
	Name       string
	Namespace  string
	YAML       []byte
}

func (r resource) String() string {
	return fmt.Sprintf("%s: %s %s/%s", r.Build, r.Kind, r.Namespace, r.Name)
}

var (
	buildMu    sync.Mutex
	buildCache = map[string][]resource{}
)

// kustomize builds dir (relative to the repository root) in process, as
// `kubectl kustomize` would, and returns its objects.
func kustomize(t *testing.T, dir string) []resource {
	t.Helper()
	buildMu.Lock()
	defer buildMu.Unlock()
	if rs, ok := buildCache[dir]; ok {
		return rs
	}
	k := krusty.MakeKustomizer(krusty.MakeDefaultOptions())
	m, err := k.Run(filesys.MakeFsOnDisk(), repoPath(dir))
	if err != nil {
		t.Fatalf("kustomize build %s: %v", dir, err)
	}
	var out []resource
	for _, r := range m.Resources() {
		y, err := r.AsYAML()
		if err != nil {
			t.Fatalf("%s: %s: %v", dir, r.CurId(), err)
		}
		out = append(out, resource{
			Build: dir, APIVersion: r.GetApiVersion(), Kind: r.GetKind(),
			Name: r.GetName(), Namespace: r.GetNamespace(), YAML: y,
		})
	}
	buildCache[dir] = out
	return out
}

func allResources(t *testing.T) []resource {
	t.Helper()
	var out []resource
	for _, b := range builds {
		out = append(out, kustomize(t, b)...)
	}
	return out
}

// coreTypes are the built-in kinds the manifests may use, decoded strictly.
var coreTypes = map[string]func() any{
	"v1/Namespace":                           func() any { return &corev1.Namespace{} },
	"v1/ServiceAccount":                      func() any { return &corev1.ServiceAccount{} },
	"v1/ConfigMap":                           func() any { return &corev1.ConfigMap{} },
	"v1/Service":                             func() any { return &corev1.Service{} },
	"apps/v1/DaemonSet":                      func() any { return &appsv1.DaemonSet{} },
	"apps/v1/Deployment":                     func() any { return &appsv1.Deployment{} },
	"apps/v1/StatefulSet":                    func() any { return &appsv1.StatefulSet{} },
	"policy/v1/PodDisruptionBudget":          func() any { return &policyv1.PodDisruptionBudget{} },
	"networking.k8s.io/v1/NetworkPolicy":     func() any { return &networkingv1.NetworkPolicy{} },
	"autoscaling/v2/HorizontalPodAutoscaler": func() any { return &autoscalingv2.HorizontalPodAutoscaler{} },
}

// decodeStrict decodes r into its API type; unknown or duplicate fields fail.
func decodeStrict(r resource) (any, error) {
	newObj, ok := coreTypes[r.APIVersion+"/"+r.Kind]
	if !ok {
		return nil, fmt.Errorf("%s: no API type registered for %s/%s", r, r.APIVersion, r.Kind)
	}
	obj := newObj()
	if err := yaml.UnmarshalStrict(r.YAML, obj); err != nil {
		return nil, fmt.Errorf("%s: %w", r, err)
	}
	return obj, nil
}

func mustDecode[T any](t *testing.T, r resource) T {
	t.Helper()
	obj, err := decodeStrict(r)
	if err != nil {
		t.Fatal(err)
	}
	typed, ok := obj.(T)
	if !ok {
		t.Fatalf("%s: decoded as %T", r, obj)
	}
	return typed
}

// workload is a pod template with what owns it.
type workload struct {
	Res      resource
	Labels   map[string]string
	Pod      corev1.PodSpec
	Claims   []corev1.PersistentVolumeClaim
	Replicas *int32
}

func workloads(t *testing.T, rs []resource) []workload {
	t.Helper()
	var out []workload
	for _, r := range rs {
		switch r.Kind {
		case "DaemonSet":
			d := mustDecode[*appsv1.DaemonSet](t, r)
			out = append(out, workload{Res: r, Labels: d.Spec.Template.Labels, Pod: d.Spec.Template.Spec})
		case "Deployment":
			d := mustDecode[*appsv1.Deployment](t, r)
			out = append(out, workload{Res: r, Labels: d.Spec.Template.Labels, Pod: d.Spec.Template.Spec, Replicas: d.Spec.Replicas})
		case "StatefulSet":
			s := mustDecode[*appsv1.StatefulSet](t, r)
			out = append(out, workload{Res: r, Labels: s.Spec.Template.Labels, Pod: s.Spec.Template.Spec,
				Claims: s.Spec.VolumeClaimTemplates, Replicas: s.Spec.Replicas})
		}
	}
	return out
}

func findResource(rs []resource, kind, name string) (resource, bool) {
	for _, r := range rs {
		if r.Kind == kind && r.Name == name {
			return r, true
		}
	}
	return resource{}, false
}

// selects reports whether a matchLabels selector matches labels.
func selects(sel, labels map[string]string) bool {
	if len(sel) == 0 {
		return false
	}
	for k, v := range sel {
		if labels[k] != v {
			return false
		}
	}
	return true
}

// binaryOf maps a container to the binary it runs.
func binaryOf(c corev1.Container) string {
	switch {
	case strings.HasSuffix(c.Image, "/ingester") || strings.Contains(c.Image, "/ingester:"):
		return "ingester"
	case strings.HasSuffix(c.Image, "/fanout") || strings.Contains(c.Image, "/fanout:"):
		return "fanout"
	}
	return ""
}
