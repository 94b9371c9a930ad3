// Package envconfig loads a binary's settings from environment variables
// (caarlos0/env), lists them for --help, and turns any bad value into exit
// code 2 with a message that names the variable. Every binary uses it the
// same way so operators see one behaviour.
//
// Struct tags: `env:"NAME"`, `envDefault:"..."`, `envPrefix:"..."` (nested
// structs), `help:"..."` (one line for --help), `secret:"true"` (never
// printed: --help shows only whether a default exists, Redacted masks it)
// and `allowEmpty:"true"`.
//
// A variable that is set but empty or blank is an error naming it, unless
// it is tagged allowEmpty (and its help says what empty means). caarlos0/env
// treats empty as unset, so KAFKA_BROKERS="" from a template whose value
// was missing would silently become localhost:9092, and ROUTES_FILE=""
// would silently turn off every drop and sample rule.
package envconfig

import (
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/caarlos0/env/v11"
)

// ExitInvalid is the exit code of a program started with a bad setting.
const ExitInvalid = 2

// Validator is implemented by configs that check more than types.
type Validator interface{ Validate() error }

// FileLoader is implemented by configs that read files their variables name
// (the fanout's ROUTES_FILE). Validate stays free of I/O: Parse calls
// LoadFiles after it, and reports its errors (FieldErrors naming the
// variable) with the others, so one run still lists every problem.
type FileLoader interface{ LoadFiles() error }

// FieldError names the variable that holds a bad value.
type FieldError struct {
	Var string
	Msg string
}

func (e *FieldError) Error() string { return e.Var + ": " + e.Msg }

// Errorf builds a FieldError for variable name.
func Errorf(name, format string, args ...any) error {
	return &FieldError{Var: name, Msg: fmt.Sprintf(format, args...)}
}

// Var describes one variable of a config struct.
type Var struct {
	Name       string
	Default    string
	HasDefault bool
	Help       string
	Secret     bool
	// AllowEmpty: set to "" is a value of its own (its help says which),
	// not an error.
	AllowEmpty bool
	field      string
}

// Vars lists the variables of cfg (a pointer to a struct), in declaration order.
func Vars(cfg any) []Var {
	var out []Var
	walk(reflect.TypeOf(cfg), "", func(v Var) { out = append(out, v) })
	return out
}

func walk(t reflect.Type, prefix string, fn func(Var)) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct {
		return
	}
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("env"), ",")
		ft := f.Type
		for ft.Kind() == reflect.Pointer {
			ft = ft.Elem()
		}
		if name == "" && ft.Kind() == reflect.Struct && !isLeafStruct(ft) {
			walk(ft, prefix+f.Tag.Get("envPrefix"), fn)
			continue
		}
		if name == "" {
			continue
		}
		def, has := f.Tag.Lookup("envDefault")
		fn(Var{
			Name: prefix + name, Default: def, HasDefault: has,
			Help: f.Tag.Get("help"), Secret: f.Tag.Get("secret") == "true",
			AllowEmpty: f.Tag.Get("allowEmpty") == "true", field: f.Name,
		})
	}
}

// isLeafStruct reports struct types that parse from one variable (time.Time, url.URL).
func isLeafStruct(t reflect.Type) bool {
	return t.PkgPath() == "time" || t.PkgPath() == "net/url"
}

// Parse fills cfg from the environment, runs its Validate method and then
// its LoadFiles method (FileLoader). Nested
// structs are not validated on their own: the top-level Validate calls theirs,
// so one place decides what is checked.
func Parse(cfg any) error {
	return ParseEnv(cfg, nil)
}

// ParseEnv is Parse over an explicit environment (nil means os.Environ), for tests.
func ParseEnv(cfg any, environ map[string]string) error {
	opts := env.Options{}
	lookup := os.LookupEnv
	if environ != nil {
		opts.Environment = environ
		lookup = func(k string) (string, bool) { v, ok := environ[k]; return v, ok }
	}
	// Every problem in one run: the empty ones, then what parsing and
	// validation find in the rest (the empties having read as defaults).
	empty := checkEmpty(cfg, lookup)
	if err := env.ParseWithOptions(cfg, opts); err != nil {
		return errors.Join(empty, nameParseError(cfg, err))
	}
	var invalid, unloadable error
	if v, ok := cfg.(Validator); ok {
		invalid = v.Validate()
	}
	if l, ok := cfg.(FileLoader); ok {
		unloadable = l.LoadFiles()
	}
	return errors.Join(empty, invalid, unloadable)
}

// checkEmpty reports every declared variable that is present but empty or
// blank and not tagged allowEmpty.
func checkEmpty(cfg any, lookup func(string) (string, bool)) error {
	var errs []error
	for _, v := range Vars(cfg) {
		val, ok := lookup(v.Name)
		if !ok || strings.TrimSpace(val) != "" || v.AllowEmpty {
			continue
		}
		what := "is empty"
		if val != "" {
			what = "is blank"
		}
		switch {
		case v.HasDefault && v.Default != "" && !v.Secret:
			errs = append(errs, Errorf(v.Name, "%s: set a value, or unset it for the default (%s)", what, v.Default))
		default:
			errs = append(errs, Errorf(v.Name, "%s: set a value, or unset it (%s)", what, orNone(v.Help)))
		}
	}
	return errors.Join(errs...)
}

// CheckTags reports declarations that break the package's rules: an
// allowEmpty variable whose help does not say what empty means. Each
// config package's tests call it, so --help stays the documentation.
func CheckTags(cfg any) error {
	var errs []error
	for _, v := range Vars(cfg) {
		if v.AllowEmpty && !strings.Contains(strings.ToLower(v.Help), "empty") {
			errs = append(errs, fmt.Errorf("%s is allowEmpty but its help does not say what empty means: %q", v.Name, v.Help))
		}
	}
	return errors.Join(errs...)
}

func orNone(help string) string {
	if help == "" {
		return "no default"
	}
	return help
}

// nameParseError rewrites caarlos0/env's errors, which name the Go field, so
// they name the environment variable instead.
func nameParseError(cfg any, err error) error {
	var agg env.AggregateError
	if !errors.As(err, &agg) {
		return err
	}
	byField := map[string]string{}
	for _, v := range Vars(cfg) {
		byField[v.field] = v.Name
	}
	var out []error
	for _, e := range agg.Errors {
		var pe env.ParseError
		if errors.As(e, &pe) {
			name := byField[pe.Name]
			if name == "" {
				name = pe.Name
			}
			out = append(out, &FieldError{Var: name, Msg: "cannot parse as " + pe.Type.String() + ": " + unwrapMsg(pe.Err)})
			continue
		}
		out = append(out, e)
	}
	return errors.Join(out...)
}

func unwrapMsg(err error) string {
	if err == nil {
		return "invalid"
	}
	s := err.Error()
	if i := strings.LastIndex(s, ": "); i >= 0 {
		return s[i+2:]
	}
	return s
}

// Usage writes the --help text: a summary and every variable with its default.
func Usage(w io.Writer, prog, summary string, cfg any) {
	fmt.Fprintf(w, "%s: %s\n\nUsage:\n  %s            run\n  %s --help     this text\n  %s version    print the version\n\nA variable set to an empty value is an error unless its line says what empty means;\nunset it to get the default.\n\nConfiguration (environment variables):\n",
		prog, summary, prog, prog, prog)
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	for _, v := range Vars(cfg) {
		def := v.Default
		switch {
		case v.Secret && def != "":
			def = "(set)"
		case !v.HasDefault || def == "":
			def = "(unset)"
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\n", v.Name, def, v.Help)
	}
	tw.Flush()
}

// Redacted returns the effective settings as NAME=value lines for a start-up
// log, with every secret masked.
func Redacted(cfg any) []string {
	vals := map[string]string{}
	collect(reflect.ValueOf(cfg), "", vals)
	names := make([]string, 0, len(vals))
	for k := range vals {
		names = append(names, k)
	}
	sort.Strings(names)
	out := make([]string, 0, len(names))
	for _, k := range names {
		out = append(out, k+"="+vals[k])
	}
	return out
}

func collect(v reflect.Value, prefix string, out map[string]string) {
	for v.Kind() == reflect.Pointer {
		if v.IsNil() {
			return
		}
		v = v.Elem()
	}
	if v.Kind() != reflect.Struct {
		return
	}
	t := v.Type()
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("env"), ",")
		ft := f.Type
		for ft.Kind() == reflect.Pointer {
			ft = ft.Elem()
		}
		if name == "" && ft.Kind() == reflect.Struct && !isLeafStruct(ft) {
			collect(v.Field(i), prefix+f.Tag.Get("envPrefix"), out)
			continue
		}
		if name == "" {
			continue
		}
		val := fmt.Sprint(v.Field(i).Interface())
		if f.Tag.Get("secret") == "true" && val != "" {
			val = "***"
		}
		out[prefix+name] = val
	}
}

// Load is what a main calls first: it handles `--help`/`-h` and `version`
// (exit 0), parses the environment into cfg, and on a bad setting prints
// every problem and exits with code 2. It returns only when cfg is valid.
func Load(prog, summary, version string, args []string, cfg any) {
	for _, a := range args {
		switch a {
		case "-h", "--help", "-help", "help":
			Usage(os.Stdout, prog, summary, cfg)
			os.Exit(0)
		case "version", "--version":
			fmt.Printf("%s %s\n", prog, version)
			os.Exit(0)
		}
	}
	if err := Parse(cfg); err != nil {
		Fail(prog, err)
	}
}

// Fail prints a configuration error and exits with code 2.
func Fail(prog string, err error) {
	fmt.Fprintf(os.Stderr, "%s: invalid configuration:\n", prog)
	for _, line := range strings.Split(err.Error(), "\n") {
		fmt.Fprintf(os.Stderr, "  %s\n", line)
	}
	fmt.Fprintf(os.Stderr, "run '%s --help' for every variable and its default\n", prog)
	os.Exit(ExitInvalid)
}
