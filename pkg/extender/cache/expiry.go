package cache

import (
	"context"
	"time"

	"k8s.io/klog/v2"
)

// ExpireEvery is how often assumed binds are checked against their TTL.
func ExpireEvery(ttl time.Duration) time.Duration {
	return min(max(ttl/4, time.Second), time.Minute)
}

// RunExpiry drops unconfirmed binds at every tick until ctx ends, and
// tells expired how many it dropped when it dropped any (nil: nobody).
func (s *State) RunExpiry(ctx context.Context, tick <-chan time.Time, expired func(n int)) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick:
			if n := s.Expire(); n > 0 && expired != nil {
				expired(n)
			}
			klog.FromContext(ctx).V(5).Info("Checked assumed binds", "sizes", s.Sizes())
		}
	}
}
