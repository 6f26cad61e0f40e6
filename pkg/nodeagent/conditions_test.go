package nodeagent

import (
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/gpuplane/gpuplane/pkg/api"
)

func allReady() map[string]StepResult {
	return map[string]StepResult{
		StepDriver:       {Step: StepDriver, Verdict: Ready, Reason: "DriverLoaded", Message: "NVIDIA driver 550, CUDA 12.4"},
		StepDevices:      {Step: StepDevices, Verdict: Ready, Reason: "CardsFound", Message: "2 cards: 2xT4"},
		StepRuntime:      {Step: StepRuntime, Verdict: Ready, Reason: "RuntimeConfigured", Message: "ok"},
		StepDevicePlugin: {Step: StepDevicePlugin, Verdict: Ready, Reason: "ResourceAdvertised", Message: "ok"},
		StepExporter:     {Step: StepExporter, Verdict: Ready, Reason: "ServedByNodeAgent", Message: "ok"},
	}
}

func TestConditionsFromSteps(t *testing.T) {
	cases := []struct {
		name              string
		change            func(map[string]StepResult)
		wantStatus        Verdict
		wantReason        string
		wantMessagePrefix string
	}{
		{name: "all ready", change: func(map[string]StepResult) {}, wantStatus: Ready, wantReason: "DriverLoaded", wantMessagePrefix: "NVIDIA driver 550, CUDA 12.4; 2 cards"},
		{name: "unknown product makes the driver condition false", change: func(m map[string]StepResult) {
			m[StepDevices] = StepResult{Verdict: NotReady, Reason: "UnknownProduct", Message: "card 0 ..."}
		}, wantStatus: NotReady, wantReason: "UnknownProduct", wantMessagePrefix: "NVIDIA driver 550, CUDA 12.4; card 0"},
		{name: "mixed types stay true with their reason", change: func(m map[string]StepResult) {
			m[StepDevices] = StepResult{Verdict: Ready, Reason: "MixedTypes", Message: "mixed"}
		}, wantStatus: Ready, wantReason: "MixedTypes"},
		{name: "driver failure wins over devices", change: func(m map[string]StepResult) {
			m[StepDriver] = StepResult{Verdict: NotReady, Reason: "DriverNotLoaded", Message: "no driver"}
			m[StepDevices] = StepResult{Verdict: Unknown, Reason: "CardsUnknown"}
		}, wantStatus: NotReady, wantReason: "DriverNotLoaded", wantMessagePrefix: "no driver"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			steps := allReady()
			tc.change(steps)
			c := conditionsFromSteps(steps)
			if len(c) != 4 {
				t.Fatalf("%d conditions", len(c))
			}
			d := c[api.ConditionDriverReady]
			if d.Verdict != tc.wantStatus || d.Reason != tc.wantReason || !strings.HasPrefix(d.Message, tc.wantMessagePrefix) {
				t.Fatalf("driver condition = %+v", d)
			}
			if c[api.ConditionExporterReady].Reason != "ServedByNodeAgent" {
				t.Errorf("exporter condition = %+v", c[api.ConditionExporterReady])
			}
		})
	}
}

func TestDesiredConditions(t *testing.T) {
	t0 := metav1.NewTime(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	t1 := metav1.NewTime(t0.Add(time.Minute))
	want := conditionsFromSteps(allReady())
	fresh := makeNode("n").node()

	first, n := desiredConditions(fresh, want, t0)
	if len(first) != 4 || n != 4 {
		t.Fatalf("%d conditions, %d changed on a fresh node, want 4 and 4", len(first), n)
	}
	for _, c := range first {
		if c.Status != corev1.ConditionTrue || !c.LastTransitionTime.Equal(&t0) || !c.LastHeartbeatTime.Equal(&t0) {
			t.Errorf("condition %+v", c)
		}
	}
	applied := fresh.DeepCopy()
	applied.Status.Conditions = append(applied.Status.Conditions, first...)
	again, n := desiredConditions(applied, want, t1)
	if n != 0 || !reflect.DeepEqual(again, first) {
		t.Fatalf("unchanged conditions changed (%d): %+v", n, again)
	}

	// changedOne returns the one condition that changed.
	changedOne := func(t *testing.T, want map[string]StepResult) corev1.NodeCondition {
		t.Helper()
		conds, n := desiredConditions(applied, want, t1)
		if n != 1 || len(conds) != 4 {
			t.Fatalf("%d changed of %d, want 1 of 4", n, len(conds))
		}
		for _, c := range conds {
			if c.LastHeartbeatTime.Equal(&t1) {
				return c
			}
		}
		t.Fatal("no condition has the new heartbeat")
		return corev1.NodeCondition{}
	}

	// Same status, new message: the transition time stays.
	msg := conditionsFromSteps(allReady())
	r := msg[api.ConditionRuntimeReady]
	r.Message = "changed"
	msg[api.ConditionRuntimeReady] = r
	if c := changedOne(t, msg); c.Type != api.ConditionRuntimeReady || !c.LastTransitionTime.Equal(&t0) {
		t.Fatalf("message change: %+v", c)
	}

	// New status: the transition time moves.
	down := conditionsFromSteps(allReady())
	down[api.ConditionExporterReady] = StepResult{Verdict: NotReady, Reason: "ExporterUnreachable", Message: "gone"}
	if c := changedOne(t, down); c.Status != corev1.ConditionFalse || !c.LastTransitionTime.Equal(&t1) {
		t.Fatalf("status change: %+v", c)
	}

	// Unknown verdicts become Unknown conditions.
	unk := conditionsFromSteps(allReady())
	unk[api.ConditionDevicePluginReady] = StepResult{Verdict: Unknown, Reason: "CardsUnknown", Message: "?"}
	if c := changedOne(t, unk); c.Status != corev1.ConditionUnknown {
		t.Fatalf("unknown: %+v", c)
	}
}

func TestTruncate(t *testing.T) {
	long := strings.Repeat("é", 1000)
	got := truncate(long, maxConditionMessage)
	if len(got) > maxConditionMessage || !utf8.ValidString(got) || !strings.HasSuffix(got, "…") {
		t.Fatalf("truncate: %d bytes, valid %v", len(got), utf8.ValidString(got))
	}
	if truncate("short", 10) != "short" {
		t.Fatal("short string changed")
	}
}
