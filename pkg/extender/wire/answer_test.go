package wire

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	extenderv1 "k8s.io/kube-scheduler/extender/v1"
)

// encoderBytes is v as json.Encoder writes it, as the handler did.
func encoderBytes(t testing.TB, v any) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := json.NewEncoder(&b).Encode(v); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// checkAnswerLikeEncoder fails unless a's JSON decodes to what encoding/json's
// does, and, when exact, is the same bytes (maps of at most one member,
// where order cannot differ).
func checkAnswerLikeEncoder(t testing.TB, a Answer, v, fresh func() any, exact bool) {
	t.Helper()
	got, err := a.AppendJSON([]byte("prefix"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(got, []byte("prefix")) {
		t.Fatalf("appendJSON dropped what it was appended to: %q", got)
	}
	got = got[len("prefix"):]
	want := encoderBytes(t, v())
	if exact && !bytes.Equal(got, want) {
		t.Fatalf("appendJSON:\n got %s\nwant %s", got, want)
	}
	gotV, wantV := fresh(), fresh()
	if err := json.Unmarshal(got, gotV); err != nil {
		t.Fatalf("appendJSON wrote %q: %v", got, err)
	}
	if err := json.Unmarshal(want, wantV); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(gotV, wantV) {
		t.Fatalf("decoded:\n got %#v\nwant %#v", gotV, wantV)
	}
}

func TestFilterAnswer(t *testing.T) {
	names := []string{"node-1", "nœud-2", `q"uote`}
	none := []string{}
	cases := []struct {
		name  string
		res   *extenderv1.ExtenderFilterResult
		exact bool
	}{
		{"nil", nil, true},
		{"zero", &extenderv1.ExtenderFilterResult{}, true},
		{"error only", &extenderv1.ExtenderFilterResult{Error: "filter: the arguments name no pod"}, true},
		{"names", &extenderv1.ExtenderFilterResult{NodeNames: &names, FailedNodes: extenderv1.FailedNodesMap{}, FailedAndUnresolvableNodes: extenderv1.FailedNodesMap{}}, true},
		{"no names", &extenderv1.ExtenderFilterResult{NodeNames: &none}, true},
		{"pointer to nil names", &extenderv1.ExtenderFilterResult{NodeNames: new([]string)}, true},
		{"one failure each", &extenderv1.ExtenderFilterResult{
			NodeNames:                  &names,
			FailedNodes:                extenderv1.FailedNodesMap{"a": "a: card 3 has 20% left, the pod asks 50% <of one>"},
			FailedAndUnresolvableNodes: extenderv1.FailedNodesMap{"b\u2028": "b: no such node known to the extender (yet)\n"},
		}, true},
		{"many failures", &extenderv1.ExtenderFilterResult{
			NodeNames:                  &none,
			FailedNodes:                extenderv1.FailedNodesMap{"a": "1", "b": "2", "c": "3", "\xff": "\x00"},
			FailedAndUnresolvableNodes: extenderv1.FailedNodesMap{"d": "4", "e": "5&"},
		}, false},
		{"node objects", &extenderv1.ExtenderFilterResult{
			Nodes: &corev1.NodeList{Items: []corev1.Node{{ObjectMeta: metav1.ObjectMeta{Name: "v", Labels: map[string]string{"a": "<b>"}}}}},
		}, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			checkAnswerLikeEncoder(t, FilterAnswer{tc.res},
				func() any { return tc.res },
				func() any { return new(*extenderv1.ExtenderFilterResult) }, tc.exact)
		})
	}
}

func TestPriorityAnswer(t *testing.T) {
	cases := []struct {
		name string
		list extenderv1.HostPriorityList
	}{
		{"nil", nil},
		{"empty", extenderv1.HostPriorityList{}},
		{"scores", extenderv1.HostPriorityList{{Host: "a", Score: 10}, {Host: "b"}, {Host: "c", Score: -3}, {Host: "d", Score: 1 << 62}}},
		{"odd names", extenderv1.HostPriorityList{{Host: "<&>\t\x7f\u2029é\xc3"}, {Host: ""}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			checkAnswerLikeEncoder(t, PriorityAnswer(tc.list),
				func() any { return tc.list },
				func() any { return new(extenderv1.HostPriorityList) }, true)
		})
	}
}

func TestAppendJSONString(t *testing.T) {
	cases := []struct{ name, in string }{
		{"empty", ""},
		{"plain", "node-00042.example"},
		{"quote and backslash", `a"b\c`},
		{"short escapes", "\b\f\n\r\t"},
		{"other control characters", "\x00\x01\x1f\x7f"},
		{"html", "<script>&amp;</script>"},
		{"beyond ASCII", "nœud ノード 😀"},
		{"line and paragraph separators", "a\u2028b\u2029c"},
		{"invalid UTF-8", "a\xffb\xc3(\xed\xa0\x80z\xf0\x9f\x98"},
		{"long", strings.Repeat("x<", 1000)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := appendJSONString(nil, tc.in)
			want, err := json.Marshal(tc.in)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("appendJSONString(%q) = %s, want %s", tc.in, got, want)
			}
		})
	}
}

// TestJSONSafe8 holds the word-at-a-time check to the byte-at-a-time one on
// every byte value in every position, among safe and unsafe neighbours.
func TestJSONSafe8(t *testing.T) {
	for _, fill := range []byte{'a', '"', 0x00, 0x80} {
		for pos := range 8 {
			for c := range 256 {
				w := bytes.Repeat([]byte{fill}, 8)
				w[pos] = byte(c)
				want := true
				for _, b := range w {
					want = want && b < utf8.RuneSelf && jsonSafe(b)
				}
				if got := jsonSafe8(string(w)); got != want {
					t.Fatalf("jsonSafe8(%q) = %v, want %v", w, got, want)
				}
			}
		}
	}
}

func BenchmarkAppendJSONString(b *testing.B) {
	s := "node-04217: card type V100 is not among the pod's types (T4)"
	buf := make([]byte, 0, 256)
	b.SetBytes(int64(len(s)))
	for b.Loop() {
		buf = appendJSONString(buf[:0], s)
	}
}

func TestAppendJSONString2(t *testing.T) {
	cases := []struct{ name, a, b string }{
		{"reason", "node-1", ": card 0 has 40% left"},
		{"empty", "", ""},
		{"escapes on both sides", "a\"<", "\n\u2028>"},
		{"rune split across", "n\xc3", "\xa9ud"},
		{"invalid on both sides", "\xff", "\xfe"},
		{"valid rune at the end", "n\u00e9", "ud\xa9"},
		{"invalid early, ASCII tail", "\xe2\x82abc", "\xac"},
		{"lead byte 3 from the end", "a\xf0bc", "\x9f"},
		{"3-byte rune split 2+1", "a\xe2\x82", "\xac!"},
		{"4-byte rune split 1+3", "a\xf0", "\x9f\x98\x80"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			want, err := json.Marshal(tc.a + tc.b)
			if err != nil {
				t.Fatal(err)
			}
			if got := appendJSONString2(nil, tc.a, tc.b); !bytes.Equal(got, want) {
				t.Fatalf("appendJSONString2(%q, %q) = %s, want %s", tc.a, tc.b, got, want)
			}
		})
	}
}
