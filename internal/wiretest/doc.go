// Package wiretest holds what the wire tests of gpuplane's servers (the
// webhook, the extender, the node agent) share: a client that stalls on a
// connection until the server cuts it, a check (goleak's, with time to
// settle) that no goroutine of a closed server is left, and the addresses
// servers bound on port 0, read back from their logs. Only tests import it; it imports nothing of
// gpuplane.
package wiretest
