package deploycheck_test

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"
)

// crd is one served version of a CustomResourceDefinition, its schema
// compiled as JSON Schema.
type crd struct {
	File   string
	Group  string
	Kind   string
	Schema *jsonschema.Schema
}

var (
	crdOnce sync.Once
	crds    map[string]*crd // "group/version/Kind"
	crdErr  error
)

func loadCRDs() (map[string]*crd, error) {
	crdOnce.Do(func() {
		crds = map[string]*crd{}
		files, err := filepath.Glob(filepath.Join(root, "shared", "deploycheck", "testdata", "crds", "*.yaml"))
		if err != nil || len(files) == 0 {
			crdErr = fmt.Errorf("no CRDs in testdata/crds: %v", err)
			return
		}
		c := jsonschema.NewCompiler()
		// OpenAPI v3.0 schemas are closest to draft 4 (boolean exclusiveMinimum).
		c.DefaultDraft(jsonschema.Draft4)
		for _, f := range files {
			if err := addCRD(c, f); err != nil {
				crdErr = err
				return
			}
		}
	})
	return crds, crdErr
}

func addCRD(c *jsonschema.Compiler, file string) error {
	b, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	j, err := yaml.YAMLToJSON(b)
	if err != nil {
		return fmt.Errorf("%s: %w", file, err)
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(j))
	if err != nil {
		return fmt.Errorf("%s: %w", file, err)
	}
	spec := field(doc, "spec")
	group, _ := field(spec, "group").(string)
	kind, _ := field(field(spec, "names"), "kind").(string)
	versions, _ := field(spec, "versions").([]any)
	if group == "" || kind == "" || len(versions) == 0 {
		return fmt.Errorf("%s: not a CustomResourceDefinition with versions", file)
	}
	for _, v := range versions {
		name, _ := field(v, "name").(string)
		if served, _ := field(v, "served").(bool); !served {
			continue
		}
		schema := field(field(v, "schema"), "openAPIV3Schema")
		if schema == nil {
			return fmt.Errorf("%s: version %s has no openAPIV3Schema", file, name)
		}
		url := fmt.Sprintf("mem:///%s/%s/%s.json", group, name, kind)
		if err := c.AddResource(url, toJSONSchema(schema)); err != nil {
			return fmt.Errorf("%s: %w", file, err)
		}
		s, err := c.Compile(url)
		if err != nil {
			return fmt.Errorf("%s: version %s: %w", file, name, err)
		}
		crds[group+"/"+name+"/"+kind] = &crd{File: filepath.Base(file), Group: group, Kind: kind, Schema: s}
	}
	return nil
}

func field(v any, name string) any {
	m, _ := v.(map[string]any)
	return m[name]
}

// toJSONSchema turns a structural OpenAPI v3 schema into JSON Schema with
// the API server's strict field validation (kubectl's default): objects with
// declared properties reject unknown fields unless the schema preserves
// them, nullable admits null, and the x-kubernetes-* extensions go (CEL
// rules and list semantics are the API server's business).
func toJSONSchema(v any) any {
	switch x := v.(type) {
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = toJSONSchema(e)
		}
		return out
	case map[string]any:
		out := map[string]any{}
		for k, e := range x {
			if strings.HasPrefix(k, "x-kubernetes-") || k == "nullable" {
				continue
			}
			switch k {
			case "properties", "patternProperties", "definitions":
				// maps of name -> schema: keep the names.
				props := map[string]any{}
				if pm, ok := e.(map[string]any); ok {
					for name, s := range pm {
						props[name] = toJSONSchema(s)
					}
				}
				out[k] = props
			default:
				out[k] = toJSONSchema(e)
			}
		}
		if n, _ := x["nullable"].(bool); n {
			if t, ok := x["type"].(string); ok {
				out["type"] = []any{t, "null"}
			}
		}
		_, hasProps := x["properties"]
		_, hasAdditional := x["additionalProperties"]
		preserve, _ := x["x-kubernetes-preserve-unknown-fields"].(bool)
		if hasProps && !hasAdditional && !preserve {
			out["additionalProperties"] = false
		}
		return out
	}
	return v
}

func crdFor(t *testing.T, r resource) *crd {
	t.Helper()
	all, err := loadCRDs()
	if err != nil {
		t.Fatal(err)
	}
	return all[r.APIVersion+"/"+r.Kind]
}

// validateCR checks a custom resource against its CRD's schema, and its
// metadata strictly against ObjectMeta (the schemas leave it open).
func validateCR(t *testing.T, r resource) error {
	t.Helper()
	c := crdFor(t, r)
	if c == nil {
		return fmt.Errorf("%s: no CRD for %s %s in testdata/crds", r, r.APIVersion, r.Kind)
	}
	j, err := yaml.YAMLToJSON(r.YAML)
	if err != nil {
		return fmt.Errorf("%s: %w", r, err)
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(j))
	if err != nil {
		return fmt.Errorf("%s: %w", r, err)
	}
	if err := c.Schema.Validate(inst); err != nil {
		return fmt.Errorf("%s: does not match %s: %v", r, c.File, err)
	}
	var meta struct {
		Metadata metav1.ObjectMeta `json:"metadata"`
	}
	var full map[string]any
	if err := yaml.Unmarshal(r.YAML, &full); err != nil {
		return err
	}
	mb, _ := yaml.Marshal(map[string]any{"metadata": full["metadata"]})
	if err := yaml.UnmarshalStrict(mb, &meta); err != nil {
		return fmt.Errorf("%s: metadata: %w", r, err)
	}
	return nil
}

func TestCustomResourcesMatchCRDs(t *testing.T) {
	kinds := map[string]int{}
	for _, r := range allResources(t) {
		if _, core := coreTypes[r.APIVersion+"/"+r.Kind]; core {
			continue
		}
		kinds[r.Kind]++
		if err := validateCR(t, r); err != nil {
			t.Error(err)
		}
	}
	for _, k := range []string{"ServiceMonitor", "PrometheusRule", "ScaledObject", "TriggerAuthentication", "KafkaTopic"} {
		if kinds[k] == 0 {
			t.Errorf("no %s was validated", k)
		}
	}
}

// TestCRDValidationRejects proves the schema check can fail: a typo in a
// field name, a wrong type and an unknown enum value are each rejected.
func TestCRDValidationRejects(t *testing.T) {
	cases := map[string]string{
		"typo": `apiVersion: keda.sh/v1alpha1
kind: ScaledObject
metadata: {name: x}
spec:
  scaleTargetRef: {name: x}
  maxReplicaCounts: 12
  triggers: [{type: kafka, metadata: {topic: t}}]
`,
		"type": `apiVersion: kafka.strimzi.io/v1
kind: KafkaTopic
metadata: {name: x}
spec: {partitions: "twelve", replicas: 3}
`,
		"metadata": `apiVersion: monitoring.coreos.com/v1
kind: ServiceMonitor
metadata: {name: x, label: {a: b}}
spec:
  selector: {matchLabels: {a: b}}
  endpoints: [{port: metrics}]
`,
		"nested": `apiVersion: monitoring.coreos.com/v1
kind: PrometheusRule
metadata: {name: x}
spec:
  groups:
    - name: g
      rules:
        - alert: A
          expr: up == 0
          for: 5m
          severity: critical
`,
	}
	for name, doc := range cases {
		var head struct {
			APIVersion string `json:"apiVersion"`
			Kind       string `json:"kind"`
		}
		if err := yaml.Unmarshal([]byte(doc), &head); err != nil {
			t.Fatal(err)
		}
		r := resource{Build: "inline-" + name, APIVersion: head.APIVersion, Kind: head.Kind, Name: "x", YAML: []byte(doc)}
		if err := validateCR(t, r); err != nil {
			t.Logf("%s: %v", name, err)
		} else {
			t.Errorf("%s: invalid %s passed validation", name, head.Kind)
		}
	}
}
