package extender

import (
	"context"
	"time"

	"k8s.io/klog/v2"
)

// ExpireEvery is how often assumed binds are checked against their TTL.
func ExpireEvery(ttl time.Duration) time.Duration {
	return min(max(ttl/4, time.Second), time.Minute)
}

// RunExpiry drops unconfirmed binds every so often until ctx ends.
func (s *State) RunExpiry(ctx context.Context, tick <-chan time.Time, m *Metrics) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick:
			if n := s.Expire(); n > 0 && m != nil {
				m.expired.Add(float64(n))
			}
			klog.FromContext(ctx).V(5).Info("Checked assumed binds", "sizes", s.Sizes())
		}
	}
}
