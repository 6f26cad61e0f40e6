package runtime

import "testing"

func BenchmarkPlanDocker(b *testing.B) {
	in := []byte(seedDaemonJSON)
	for b.Loop() {
		if _, _, err := PlanDocker(in, RuntimeSpec{}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkPlanDockerAlreadyRight(b *testing.B) {
	in := []byte(seedDaemonJSONWant)
	for b.Loop() {
		if _, _, err := PlanDocker(in, RuntimeSpec{}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkPlanContainerdV2(b *testing.B) {
	in := []byte(containerdV2)
	for b.Loop() {
		if _, _, err := PlanContainerd(in, RuntimeSpec{}); err != nil {
			b.Fatal(err)
		}
	}
}
