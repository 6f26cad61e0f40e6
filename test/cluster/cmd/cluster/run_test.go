package main

import (
	"io"
	"slices"
	"strings"
	"testing"
)

func TestParseGPUNodes(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    []int
		wantErr bool
	}{
		{name: "empty", in: "", want: nil},
		{name: "blank", in: "  ", want: nil},
		{name: "three nodes", in: "8,4,2", want: []int{8, 4, 2}},
		{name: "spaces and zero", in: " 8 , 0", want: []int{8, 0}},
		{name: "largest", in: "64", want: []int{64}},
		{name: "too many cards", in: "65", wantErr: true},
		{name: "negative", in: "-1", wantErr: true},
		{name: "fraction", in: "1.5", wantErr: true},
		{name: "empty item", in: "8,,2", wantErr: true},
		{name: "word", in: "eight", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseGPUNodes(tt.in)
			if (err != nil) != tt.wantErr {
				t.Fatalf("parseGPUNodes(%q) error = %v, want error %v", tt.in, err, tt.wantErr)
			}
			if err != nil && !strings.Contains(err.Error(), tt.in) {
				t.Errorf("error %q does not quote the input %q", err, tt.in)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("parseGPUNodes(%q) = %v, want %v", tt.in, got, tt.want)
			}
		})
	}
}

func FuzzParseGPUNodes(f *testing.F) {
	for _, s := range []string{"", "8,4,2", " 1 ,2", "-1", "1e3", "9999999999999999999999"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		counts, err := parseGPUNodes(s)
		if err != nil {
			return
		}
		for _, n := range counts {
			if n < 0 || n > maxGPUsPerNode {
				t.Fatalf("parseGPUNodes(%q) accepted count %d", s, n)
			}
		}
	})
}

func TestParseFlags(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		want    config
		wantErr bool
	}{
		{name: "defaults", args: nil, want: config{scheduler: true}},
		{
			name: "all set",
			args: []string{"--bin-dir=/b", "--scheduler=false", "--scheduler-config=s.yaml", "--gpu-nodes=8,4"},
			want: config{binDir: "/b", scheduler: false, schedulerConfig: "s.yaml", gpuNodes: "8,4"},
		},
		{name: "unknown flag", args: []string{"--nodes=3"}, wantErr: true},
		{name: "positional argument", args: []string{"start"}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseFlags(tt.args, io.Discard)
			if (err != nil) != tt.wantErr {
				t.Fatalf("error = %v, want error %v", err, tt.wantErr)
			}
			if !tt.wantErr && got != tt.want {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}
