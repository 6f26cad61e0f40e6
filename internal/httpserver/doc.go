// Package httpserver is the one way gpuplane's programs serve HTTP: the
// webhook's TLS port and the plain metrics and probe ports of the webhook,
// the node agent and the extender. Serve sets the same timeouts and limits on
// every server (the constants below), keeps the logger of its context for
// the requests and for net/http's own error log, and stops gracefully when
// the context ends.
//
// It imports nothing of gpuplane; the programs (cmd/*/app) and the adapters
// that run servers (pkg/webhook, pkg/nodeagent, pkg/extender) import it.
package httpserver
