package deploycheck_test

import (
	"bufio"
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
)

// TestKubernetesEnv: every variable a container sets (env and envFrom
// ConfigMaps) is one its binary reads, and the binary's own validation
// accepts the values.
func TestKubernetesEnv(t *testing.T) {
	n := 0
	for _, b := range builds {
		rs := kustomize(t, b)
		for _, w := range workloads(t, rs) {
			for _, c := range w.Pod.Containers {
				bin := binaryOf(c)
				if bin == "" {
					continue
				}
				n++
				where := b + ": " + w.Res.Kind + "/" + w.Res.Name + "/" + c.Name
				env := containerEnv(t, rs, c)
				checkVarNames(t, where, bin, env)
				checkVarValues(t, where, bin, localPaths(t, env, podMounts(t, rs, w, c)))
			}
		}
	}
	if n < 6 {
		t.Errorf("checked %d containers; the builds have more", n)
	}
}

// containerEnv is what the container's process sees. Downward API and
// resource fields get plausible values; Secret keys a placeholder.
func containerEnv(t *testing.T, rs []resource, c corev1.Container) map[string]string {
	t.Helper()
	env := map[string]string{}
	for _, ef := range c.EnvFrom {
		switch {
		case ef.ConfigMapRef != nil:
			r, ok := findResource(rs, "ConfigMap", ef.ConfigMapRef.Name)
			if !ok {
				t.Fatalf("%s: envFrom ConfigMap %s is not in the build", c.Name, ef.ConfigMapRef.Name)
			}
			for k, v := range mustDecode[*corev1.ConfigMap](t, r).Data {
				env[ef.Prefix+k] = v
			}
		default:
			t.Errorf("%s: envFrom other than a ConfigMap cannot be checked", c.Name)
		}
	}
	for _, e := range c.Env {
		switch {
		case e.ValueFrom == nil:
			env[e.Name] = e.Value
		case e.ValueFrom.FieldRef != nil:
			env[e.Name] = map[string]string{
				"spec.nodeName": "node-1", "metadata.name": "tetragon-fanout-0",
				"metadata.namespace": "tetragon-fanout", "status.podIP": "10.0.0.1",
			}[e.ValueFrom.FieldRef.FieldPath]
			if env[e.Name] == "" {
				t.Errorf("%s: %s: fieldRef %s has no test value", c.Name, e.Name, e.ValueFrom.FieldRef.FieldPath)
			}
		case e.ValueFrom.ResourceFieldRef != nil:
			env[e.Name] = "268435456"
		default:
			env[e.Name] = "placeholder"
		}
	}
	return env
}

// podMounts maps the container's mount paths to local directories holding
// what the volume would: a ConfigMap's files, placeholder files for every
// key a Secret volume lists (or that a variable names), empty directories
// for the rest.
func podMounts(t *testing.T, rs []resource, w workload, c corev1.Container) map[string]string {
	t.Helper()
	pod := w.Pod
	m := map[string]string{}
	for _, vm := range c.VolumeMounts {
		dir := t.TempDir()
		m[vm.MountPath] = dir
		v := volume(pod, vm.Name)
		switch {
		case v == nil:
			if !slices.ContainsFunc(w.Claims, func(p corev1.PersistentVolumeClaim) bool { return p.Name == vm.Name }) {
				t.Errorf("%s: volumeMount %s has no volume", c.Name, vm.Name)
			}
		case v.ConfigMap != nil:
			r, ok := findResource(rs, "ConfigMap", v.ConfigMap.Name)
			if !ok {
				t.Fatalf("%s: ConfigMap volume %s is not in the build", c.Name, v.ConfigMap.Name)
			}
			for k, data := range mustDecode[*corev1.ConfigMap](t, r).Data {
				writeFile(t, filepath.Join(dir, k), data)
			}
		case v.Secret != nil:
			for _, it := range v.Secret.Items {
				writeFile(t, filepath.Join(dir, it.Path), "placeholder")
			}
			// Without items every key is a file: create the ones variables name.
			for _, e := range c.Env {
				if strings.HasPrefix(e.Value, vm.MountPath+"/") {
					writeFile(t, filepath.Join(dir, strings.TrimPrefix(e.Value, vm.MountPath+"/")), "placeholder")
				}
			}
			for _, ef := range c.EnvFrom {
				if ef.ConfigMapRef == nil {
					continue
				}
				if r, ok := findResource(rs, "ConfigMap", ef.ConfigMapRef.Name); ok {
					for _, val := range mustDecode[*corev1.ConfigMap](t, r).Data {
						if strings.HasPrefix(val, vm.MountPath+"/") {
							writeFile(t, filepath.Join(dir, strings.TrimPrefix(val, vm.MountPath+"/")), "placeholder")
						}
					}
				}
			}
		}
	}
	return m
}

func writeFile(t *testing.T, path, data string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestSystemdEnv: the env file example sets only ingester variables, with
// values the ingester accepts, and the unit reads it from where the
// install notes put it.
func TestSystemdEnv(t *testing.T) {
	env := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(readRepoFile(t, "deployments", "systemd", "tetragon-fanout-ingester.env.example")))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			t.Errorf("env example: %q is not NAME=value", line)
			continue
		}
		env[k] = v
	}
	if len(env) < 5 {
		t.Fatalf("env example sets only %d variables", len(env))
	}
	where := "deployments/systemd/tetragon-fanout-ingester.env.example"
	checkVarNames(t, where, "ingester", env)
	// The credential files exist only on a host: point them at placeholders.
	creds := t.TempDir()
	for _, k := range []string{"KAFKA_TLS_CA_FILE", "KAFKA_SASL_PASSWORD_FILE"} {
		if v, ok := env[k]; ok {
			p := filepath.Join(creds, filepath.Base(v))
			writeFile(t, p, "placeholder")
			env[k] = p
		}
	}
	checkVarValues(t, where, "ingester", env)

	unit := string(readRepoFile(t, "deployments", "systemd", "tetragon-fanout-ingester.service"))
	for _, want := range []string{
		"EnvironmentFile=/etc/tetragon-fanout/ingester.env",
		"ExecStart=/usr/local/bin/tetragon-fanout-ingester",
		"NoNewPrivileges=yes", "ProtectSystem=strict", "ReadOnlyPaths=/var/run/tetragon",
		"DynamicUser=yes", "CapabilityBoundingSet=\n",
	} {
		if !strings.Contains(unit, want) {
			t.Errorf("systemd unit: missing %q", strings.TrimSpace(want))
		}
	}
	// The stop timeout outlasts the ingester's flush.
	shutdown := parseDuration(t, "SHUTDOWN_TIMEOUT", env["SHUTDOWN_TIMEOUT"])
	if !strings.Contains(unit, "TimeoutStopSec=30s") || shutdown >= parseDuration(t, "TimeoutStopSec", "30s") {
		t.Errorf("systemd unit: TimeoutStopSec must exceed SHUTDOWN_TIMEOUT %s", shutdown)
	}
}
