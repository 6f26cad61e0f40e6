// Package loadtest holds a stand-in for a Prometheus server for tests: an HTTP
// server on 127.0.0.1 that speaks the instant-query part of the Prometheus
// HTTP API and answers with the series the test sets, or misbehaves on demand.
//
// Only tests import it. It must not import any other gpuplane package.
package loadtest
