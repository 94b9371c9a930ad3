// Package deploycheck holds no code: its tests keep the deployment files
// (deployments/, docker-compose.yml) from rotting. They decode every
// Kubernetes manifest strictly into its API type, validate custom resources
// against their CRDs' schemas (testdata/crds, see PROVENANCE.md), build the
// kustomizations, load the compose file with compose-go, check that every
// environment variable the files set is one the binaries read (and that the
// values pass the binaries' own validation), that every metric the dashboard
// and the rules query is exported, and run promtool on the rules.
//
// The binaries live in other modules, which this one cannot import: the tests
// build them (`go build`, cached) and read their `--help`, and read the
// metric names from the sources of ingester/ and fanout/.
package deploycheck
