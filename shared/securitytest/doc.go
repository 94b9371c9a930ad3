// Package securitytest holds the security integration tests (`make
// test-security`, build tag `security`): the built binaries against a real
// SASL_SSL broker with ACLs (deployments/local/kafka.sh, KAFKA_SECURITY=sasl_ssl)
// and against tetragon-sim serving TLS. Without the tag it is empty.
//
// Every Kafka client of both binaries must authenticate: the broker's only
// client listener is SASL_SSL and allow.everyone.if.no.acl.found=false, so a
// client that skipped TLS or SASL could not do anything at all. The tests
// check the end-to-end flow, then read the broker's authorizer log for the
// principal of each kind of request (group join, table changelog write and
// recovery, topic creation, produce) so each of goka's clients is accounted
// for, and check wrong passwords, ACL denials, redaction and Tetragon's TLS.
package securitytest
