package sim

// Arrivals returns the order in which the pods arrive, as indexes into pods,
// following the protocol of the ATC '23 paper's simulator:
//
//  1. shuffle the pods with the seed;
//  2. if their GPU request is below inflate x capacity, append pods drawn
//     at random (with replacement) from the list until the total requested
//     reaches it (the last draw may cross it); if above, drop pods drawn at
//     random while the total without the drawn pod still reaches it (the
//     first draw that would fall short ends the drops).
//
// Either way the total ends at or just beyond inflate x capacity, so every
// arrived threshold up to inflate is reached.
//
// capacity is the cluster's GPU in milli; inflate <= 0 keeps the list as is.
func Arrivals(pods []Pod, capacity int64, seed int64, inflate float64) []int {
	r := newRNG(seed, streamArrivals)
	order := make([]int, len(pods))
	var total int64
	for i := range order {
		order[i] = i
		total += pods[i].Request.GPUMilli()
	}
	r.shuffle(order)
	if inflate <= 0 || len(pods) == 0 {
		return order
	}
	target := inflate * float64(capacity)
	if float64(total) < target {
		if !hasGPU(pods) {
			return order
		}
		for float64(total) < target {
			i := r.intn(len(pods))
			order = append(order, i)
			total += pods[i].Request.GPUMilli()
		}
		return order
	}
	for len(order) > 0 {
		k := r.intn(len(order))
		g := pods[order[k]].Request.GPUMilli()
		if float64(total-g) < target {
			break
		}
		total -= g
		order = append(order[:k], order[k+1:]...)
	}
	return order
}

func hasGPU(pods []Pod) bool {
	for i := range pods {
		if pods[i].Request.Cards > 0 {
			return true
		}
	}
	return false
}
