package fakegpu

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

func TestParseSpec(t *testing.T) {
	cases := []struct {
		name string
		in   string
		want []Card
	}{
		{name: "count and type", in: "8xV100", want: []Card{{Type: "V100", Count: 8}}},
		{name: "one card", in: "T4", want: []Card{{Type: "T4", Count: 1}}},
		{name: "utilisation", in: "8xV100@30%", want: []Card{{Type: "V100", Count: 8, UtilizationPercent: ptr(30.0)}}},
		{name: "utilisation without percent", in: "2xT4@12.5", want: []Card{{Type: "T4", Count: 2, UtilizationPercent: ptr(12.5)}}},
		{name: "groups and spaces", in: " 4 x V100 , 2X t4@50% ", want: []Card{{Type: "V100", Count: 4}, {Type: "t4", Count: 2, UtilizationPercent: ptr(50.0)}}},
		{name: "multiplication sign", in: "2×A100-40GB", want: []Card{{Type: "A100-40GB", Count: 2}}},
		{name: "type with x", in: "1xMI300X", want: []Card{{Type: "MI300X", Count: 1}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseSpec(tc.in)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("ParseSpec(%q) = %+v, want %+v", tc.in, got, tc.want)
			}
		})
	}
}

func TestParseSpecRefuses(t *testing.T) {
	for name, in := range map[string]string{
		"empty":             "",
		"no type":           "8x",
		"zero cards":        "0xV100",
		"too many":          "65xV100",
		"too many in all":   "40xV100,40xT4",
		"utilisation > 100": "V100@101%",
		"negative util":     "V100@-1",
		"util not a number": "V100@lots",
		"NaN util":          "V100@NaN",
		"empty group":       "V100,,T4",
		"bad character":     "V100(2)",
	} {
		t.Run(name, func(t *testing.T) {
			if got, err := ParseSpec(in); !errors.Is(err, ErrBadSpec) {
				t.Fatalf("ParseSpec(%q) = %+v, %v; want ErrBadSpec", in, got, err)
			}
		})
	}
}

func TestParseFile(t *testing.T) {
	yamlFile := `
- type: V100
  count: 4
  utilization: 30
- product: Tesla T4
  memoryMiB: 15360
  memoryUsedMiB: 1024
  temperatureC: 55
  powerW: 70
`
	want := []Card{
		{Type: "V100", Count: 4, UtilizationPercent: ptr(30.0)},
		{Product: "Tesla T4", Count: 1, MemoryMiB: 15360, MemoryUsedMiB: ptr(int64(1024)), TemperatureC: ptr(55.0), PowerW: ptr(70.0)},
	}
	got, err := ParseFile([]byte(yamlFile))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %+v", got)
	}
	jsonFile := `[{"type":"V100","count":4,"utilization":30},{"product":"Tesla T4","memoryMiB":15360,"memoryUsedMiB":1024,"temperatureC":55,"powerW":70}]`
	if got, err := ParseFile([]byte(jsonFile)); err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("JSON: %+v, %v", got, err)
	}
}

func TestParseFileRefuses(t *testing.T) {
	for name, in := range map[string]string{
		"empty":            "",
		"not a list":       "type: V100\n",
		"unknown field":    "- type: V100\n  colour: green\n",
		"nothing named":    "- count: 2\n",
		"used over memory": "- type: T4\n  memoryMiB: 100\n  memoryUsedMiB: 200\n",
		"hot":              "- type: T4\n  temperatureC: 400\n",
		"power":            "- type: T4\n  powerW: -1\n",
		"empty list":       "[]\n",
	} {
		t.Run(name, func(t *testing.T) {
			if got, err := ParseFile([]byte(in)); !errors.Is(err, ErrBadSpec) {
				t.Fatalf("ParseFile(%q) = %+v, %v; want ErrBadSpec", in, got, err)
			}
		})
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "cards.yaml")
	if err := os.WriteFile(file, []byte("- type: T4\n  count: 2\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name    string
		arg     string
		want    []Card
		wantErr bool
	}{
		{name: "spec", arg: "2xT4", want: []Card{{Type: "T4", Count: 2}}},
		{name: "file", arg: file, want: []Card{{Type: "T4", Count: 2}}},
		{name: "missing file", arg: filepath.Join(dir, "none.json"), wantErr: true},
		{name: "relative file name is a file", arg: "cards.yaml", wantErr: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Load(tc.arg)
			if tc.wantErr {
				if !errors.Is(err, ErrBadSpec) {
					t.Fatalf("Load(%q) = %v, want ErrBadSpec", tc.arg, err)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("Load(%q) = %+v, %v", tc.arg, got, err)
			}
		})
	}
}

func FuzzParseSpec(f *testing.F) {
	for _, s := range []string{"8xV100", "8xV100@30%", "4xV100,2xT4@50%", "2×A100", "", "x", "@", "1x@1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		cards, err := ParseSpec(s)
		if err != nil {
			if !errors.Is(err, ErrBadSpec) {
				t.Fatalf("error of no known class: %v", err)
			}
			return
		}
		total := 0
		for _, c := range cards {
			if c.Type == "" || c.Count < 1 {
				t.Fatalf("accepted %q as %+v", s, c)
			}
			total += c.Count
		}
		if total > maxCards {
			t.Fatalf("accepted %d cards", total)
		}
	})
}

func ptr[T any](v T) *T { return &v }
