// Package wiretest holds what the wire tests of gpuplane's servers (the
// webhook, the extender, the node agent) share: a client that stalls on a
// connection until the server cuts it, and a check that no goroutine of a
// closed server is left. Only tests import it; it imports nothing of
// gpuplane.
package wiretest
