// Package buildinfo holds the version stamped into every binary by the
// Makefile (-ldflags "-X .../buildinfo.Version=...").
package buildinfo

// Version is the release or git describe of the build; "dev" when unstamped.
var Version = "dev"
