package envconfig

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"
)

type inner struct {
	Password string `env:"PASSWORD" secret:"true" help:"secret"`
}

type testConfig struct {
	Addr   string        `env:"ADDR" envDefault:":8080" help:"listen address"`
	Window time.Duration `env:"WINDOW" envDefault:"10m" help:"dedup window"`
	Count  int           `env:"COUNT" envDefault:"3"`
	File   string        `env:"FILE" help:"rules file (unset: none)"`
	Filter string        `env:"FILTER" allowEmpty:"true" help:"a filter (empty: none)"`
	Inner  inner         `envPrefix:"X_"`
}

func (c *testConfig) Validate() error {
	if c.Count < 0 {
		return Errorf("COUNT", "must be >= 0, got %d", c.Count)
	}
	return nil
}

func TestParseDefaultsAndValues(t *testing.T) {
	var c testConfig
	if err := ParseEnv(&c, map[string]string{"COUNT": "7", "X_PASSWORD": "hunter2"}); err != nil {
		t.Fatal(err)
	}
	if c.Addr != ":8080" || c.Window != 10*time.Minute || c.Count != 7 || c.Inner.Password != "hunter2" {
		t.Fatalf("parsed %+v", c)
	}
}

func TestParseErrorNamesVariable(t *testing.T) {
	var c testConfig
	err := ParseEnv(&c, map[string]string{"WINDOW": "ten minutes"})
	var fe *FieldError
	if !errors.As(err, &fe) || fe.Var != "WINDOW" {
		t.Fatalf("err = %v, want a FieldError naming WINDOW", err)
	}
}

func TestValidateRuns(t *testing.T) {
	var c testConfig
	err := ParseEnv(&c, map[string]string{"COUNT": "-1"})
	if err == nil || !strings.Contains(err.Error(), "COUNT") {
		t.Fatalf("err = %v", err)
	}
}

func TestUsageListsEveryVariableAndHidesSecrets(t *testing.T) {
	var buf bytes.Buffer
	Usage(&buf, "prog", "does things", &testConfig{})
	out := buf.String()
	for _, want := range []string{"ADDR", ":8080", "WINDOW", "10m", "COUNT", "X_PASSWORD", "listen address"} {
		if !strings.Contains(out, want) {
			t.Errorf("usage lacks %q:\n%s", want, out)
		}
	}
}

func TestRedactedMasksSecrets(t *testing.T) {
	c := testConfig{Addr: ":1", Inner: inner{Password: "hunter2"}}
	got := strings.Join(Redacted(&c), "\n")
	if strings.Contains(got, "hunter2") || !strings.Contains(got, "X_PASSWORD=***") || !strings.Contains(got, "ADDR=:1") {
		t.Fatalf("redacted:\n%s", got)
	}
}

// Set but empty is not unset: caarlos0/env would take the default (or the
// zero value) and hide the mistake, so the loader refuses it by name.
func TestEmptyIsAnErrorNamingTheVariable(t *testing.T) {
	for name, val := range map[string]string{"ADDR": "", "WINDOW": " ", "COUNT": "\t", "FILE": "", "X_PASSWORD": ""} {
		var c testConfig
		err := ParseEnv(&c, map[string]string{name: val})
		var fe *FieldError
		if !errors.As(err, &fe) || fe.Var != name {
			t.Errorf("%s=%q: err = %v, want a FieldError naming %s", name, val, err, name)
		}
	}
	var c testConfig
	err := ParseEnv(&c, map[string]string{"ADDR": "", "COUNT": ""})
	if err == nil || !strings.Contains(err.Error(), "ADDR") || !strings.Contains(err.Error(), "COUNT") || !strings.Contains(err.Error(), ":8080") {
		t.Fatalf("two empties: %v (want both named, with the default to fall back on)", err)
	}
}

func TestAllowEmptyAndUnsetAreFine(t *testing.T) {
	var c testConfig
	if err := ParseEnv(&c, map[string]string{"FILTER": ""}); err != nil {
		t.Fatal(err)
	}
	if c.Addr != ":8080" || c.Filter != "" {
		t.Fatalf("parsed %+v", c)
	}
	if err := CheckTags(&c); err != nil {
		t.Fatal(err)
	}
	type undocumented struct {
		F string `env:"F" allowEmpty:"true" help:"a filter"`
	}
	if err := CheckTags(&undocumented{}); err == nil {
		t.Fatal("allowEmpty without saying what empty means passed CheckTags")
	}
}

// The process environment is checked too, not only the map tests pass.
func TestEmptyInTheProcessEnvironment(t *testing.T) {
	t.Setenv("ADDR", "")
	var c testConfig
	if err := Parse(&c); err == nil || !strings.Contains(err.Error(), "ADDR") {
		t.Fatalf("ADDR= in the environment: %v", err)
	}
}

type loaderConfig struct {
	File   string `env:"FILE" help:"rules file (unset: none)"`
	Count  int    `env:"COUNT" envDefault:"3"`
	loaded bool
	order  []string
}

func (c *loaderConfig) Validate() error {
	c.order = append(c.order, "validate")
	if c.Count < 0 {
		return Errorf("COUNT", "must be >= 0, got %d", c.Count)
	}
	return nil
}

func (c *loaderConfig) LoadFiles() error {
	c.order = append(c.order, "load")
	if c.File == "bad" {
		return Errorf("FILE", "bad:3: no such rule")
	}
	c.loaded = true
	return nil
}

// TestFileLoader: LoadFiles runs after Validate and its errors are listed
// with Validate's.
func TestFileLoader(t *testing.T) {
	var c loaderConfig
	if err := ParseEnv(&c, map[string]string{}); err != nil || !c.loaded || strings.Join(c.order, ",") != "validate,load" {
		t.Fatalf("err %v, loaded %v, order %v", err, c.loaded, c.order)
	}
	c = loaderConfig{}
	err := ParseEnv(&c, map[string]string{"FILE": "bad", "COUNT": "-1"})
	if err == nil || !strings.Contains(err.Error(), "COUNT: must be >= 0") || !strings.Contains(err.Error(), "FILE: bad:3") {
		t.Fatalf("err %v, want both COUNT's and FILE's", err)
	}
}
