package sim

import (
	"runtime/debug"
	"sync"
)

// Version of the simulator; the build's VCS revision is appended when
// known.
const Version = "0.1.0"

const apiModule = "github.com/cilium/tetragon/api"

// apiPinned is the API version in shared/go.mod, reported when the binary
// carries no module info (test binaries); a test keeps it in sync.
const apiPinned = "v1.7.1"

var buildInfo = sync.OnceValue(func() (bi struct{ version, api, goVersion, commit, time, modified string }) {
	bi.version, bi.api = Version, apiPinned
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return bi
	}
	bi.goVersion = info.GoVersion
	for _, d := range info.Deps {
		if d.Path == apiModule {
			bi.api = d.Version
			if d.Replace != nil {
				bi.api = d.Replace.Version
			}
		}
	}
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			bi.commit = s.Value
		case "vcs.time":
			bi.time = s.Value
		case "vcs.modified":
			bi.modified = s.Value
		}
	}
	if len(bi.commit) >= 12 {
		bi.version += "+" + bi.commit[:12]
	}
	return bi
})

// VersionString is what GetVersion reports, e.g.
// "tetragon-sim 0.1.0+0123456789ab (api v1.7.1)".
func VersionString() string {
	bi := buildInfo()
	return "tetragon-sim " + bi.version + " (api " + bi.api + ")"
}
