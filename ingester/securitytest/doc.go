// Package securitytest checks the ingester's Kafka publisher against the
// secure broker of `make test-security` (build tag `security`): with the
// ingester's own configuration and publisher code, its principal can write
// only the raw topic, and a refusal is reported, not swallowed. The binary
// level tests are in shared/securitytest.
package securitytest
