package wire

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/gpuplane/gpuplane/internal/extendertest"

	extenderv1 "k8s.io/kube-scheduler/extender/v1"
)

// checkArgsLikeUnmarshal decodes each body in turn into one ExtenderArgs
// with DecodeExtenderArgs, into a second with DecodeExtenderArgsWith
// lending an array that holds an earlier call's names and taking the names
// as Pending (read into NodeNames as a server would), and into a third
// with json.Unmarshal, and fails unless all take or refuse each body and
// hold equal arguments after each taken one. It stops at the first refused
// body (what a refused decode leaves behind is nobody's business). It
// returns the decoded arguments and the first refusal.
func checkArgsLikeUnmarshal(t *testing.T, bodies ...[]byte) (extenderv1.ExtenderArgs, error) {
	t.Helper()
	var got, into, want extenderv1.ExtenderArgs
	lent := []string{"earlier-1", "earlier-2", "earlier-3"}
	pending := Pending{Spans: []Span{{0, 1}, {1, 2}, {2, 3}}}
	for _, body := range bodies {
		err := DecodeExtenderArgs(body, &got)
		intoErr := DecodeExtenderArgsWith(body, &into, Reuse{Names: &lent, Pending: &pending})
		wantErr := json.Unmarshal(body, &want)
		if (err == nil) != (wantErr == nil) || (intoErr == nil) != (wantErr == nil) {
			t.Fatalf("decode(%q) = %v, into a lent array %v, json.Unmarshal = %v", body, err, intoErr, wantErr)
		}
		if err == nil && into.NodeNames != nil {
			for i := range *into.NodeNames {
				if b := pending.Name(i); b != nil {
					(*into.NodeNames)[i] = string(b)
				}
			}
		}
		if err == nil && !reflect.DeepEqual(into, want) {
			t.Fatalf("decode(%q) into a lent array:\n got %s\nwant %s", body, extendertest.MustMarshal(t, into), extendertest.MustMarshal(t, want))
		}
		if err != nil {
			if !errors.Is(err, ErrBadRequest) {
				t.Fatalf("decode(%q) = %v, not a bad request", body, err)
			}
			return got, err
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("decode(%q):\n got %s\nwant %s", body, extendertest.MustMarshal(t, got), extendertest.MustMarshal(t, want))
		}
	}
	return got, nil
}

func TestDecodeExtenderArgs(t *testing.T) {
	pod := string(extendertest.MustMarshal(t, extendertest.MakePod("share").VGPU(0, 50, 32).Types("T4").Obj()))
	deep := `{"Pod":{"x":{"y":{"z":` + strings.Repeat("[", maxJSONDepth-4) + strings.Repeat("]", maxJSONDepth-4) + `}}}}`
	tooDeep := `{"Pod":{"x":{"y":{"z":` + strings.Repeat("[", maxJSONDepth-3) + strings.Repeat("]", maxJSONDepth-3) + `}}}}`
	cases := []struct {
		name   string
		bodies []string
		// names are the node names expected after the last body; nil
		// when NodeNames stays nil, unchecked when ok is false.
		names []string
		ok    bool
	}{
		{"names and pod", []string{`{"Pod":` + pod + `,"NodeNames":["a","b"]}`}, []string{"a", "b"}, true},
		{"as kube-scheduler sends it", []string{`{"Pod":` + pod + `,"Nodes":null,"NodeNames":["node-00001"]}`}, []string{"node-00001"}, true},
		{"empty object", []string{`{}`}, nil, true},
		{"null body", []string{`null`}, nil, true},
		{"space everywhere", []string{" \t\r\n{ \"NodeNames\" :\n[ \"a\" , \"b\" ]\t}\n "}, []string{"a", "b"}, true},
		{"lower case names", []string{`{"pod":` + pod + `,"nodenames":["a"]}`}, []string{"a"}, true},
		{"upper case names", []string{`{"NODENAMES":["a"]}`}, []string{"a"}, true},
		{"long s folds to s", []string{`{"NodeName\u017f":["a"]}`, `{"NodeName` + "\u017f" + `":["b"]}`}, []string{"b"}, true},
		{"near miss is unknown", []string{`{"Nodes":null,"NodeNamesX":["a"],"Po":1}`}, nil, true},
		{"escaped member name", []string{`{"\u004eodeNames":["a"]}`}, []string{"a"}, true},
		{"unknown members skipped", []string{`{"x":{"y":[1,-2.5e+3,true,false,null,"z"]},"NodeNames":["a"],"Nodes2":7}`}, []string{"a"}, true},
		{"last of repeated names wins", []string{`{"NodeNames":["a","b","c"],"NodeNames":["d"]}`}, []string{"d"}, true},
		{"null element keeps what was there", []string{`{"NodeNames":["a","b"],"NodeNames":[null,"c"]}`}, []string{"a", "c"}, true},
		{"null element beyond a shrink", []string{`{"NodeNames":["a","b","c"],"NodeNames":["x"],"NodeNames":[null,null,null,null]}`}, []string{"x", "b", "c", ""}, true},
		{"empty array forgets", []string{`{"NodeNames":["a","b"],"NodeNames":[],"NodeNames":[null]}`}, []string{""}, true},
		{"across bodies", []string{`{"NodeNames":["a","b"]}`, `{"NodeNames":[null]}`, `{"Pod":null}`}, []string{"a"}, true},
		{"null names", []string{`{"NodeNames":["a"],"NodeNames":null}`}, nil, true},
		{"empty names", []string{`{"NodeNames":[]}`}, []string{}, true},
		{"escaped names", []string{`{"NodeNames":["a\"b","c\\d","\u00e9","\ud83d\ude00","\ud800","\/"]}`}, []string{`a"b`, `c\d`, "é", "😀", "\ufffd", "/"}, true},
		{"names beyond ASCII", []string{`{"NodeNames":["nœud-1"]}`}, []string{"nœud-1"}, true},
		{"invalid UTF-8 in a name", []string{"{\"NodeNames\":[\"a\xffb\"]}"}, []string{"a\ufffdb"}, true},
		{"repeated pod merges", []string{`{"Pod":{"metadata":{"name":"p"}},"Pod":{"metadata":{"namespace":"n"}}}`}, nil, true},
		{"pod then null", []string{`{"Pod":` + pod + `,"Pod":null}`}, nil, true},
		{"nodes objects", []string{`{"Nodes":{"items":[{"metadata":{"name":"v"}}]}}`}, nil, true},
		{"nested as deep as allowed", []string{deep}, nil, true},

		{"empty body", []string{``}, nil, false},
		{"only space", []string{" \n"}, nil, false},
		{"trailing data", []string{`{"NodeNames":["a"]}{}`}, nil, false},
		{"trailing comma", []string{`{"NodeNames":["a"],}`}, nil, false},
		{"trailing comma in names", []string{`{"NodeNames":["a",]}`}, nil, false},
		{"an array", []string{`[1,2,3]`}, nil, false},
		{"a string", []string{`"x"`}, nil, false},
		{"a number", []string{`12`}, nil, false},
		{"a broken array", []string{`[1,2`}, nil, false},
		{"names as a string", []string{`{"NodeNames":"v"}`}, nil, false},
		{"a number among names", []string{`{"NodeNames":["a",1]}`}, nil, false},
		{"an object among names", []string{`{"NodeNames":[{}]}`}, nil, false},
		{"pod as a number", []string{`{"Pod":1}`}, nil, false},
		{"pod field of the wrong type", []string{`{"Pod":{"metadata":{"name":1}}}`}, nil, false},
		{"unterminated", []string{`{"Pod":`}, nil, false},
		{"unterminated string", []string{`{"NodeNames":["a`}, nil, false},
		{"control character in a name", []string{"{\"NodeNames\":[\"a\nb\"]}"}, nil, false},
		{"bad escape", []string{`{"NodeNames":["a\x"]}`}, nil, false},
		{"short unicode escape", []string{`{"NodeNames":["\u12"]}`}, nil, false},
		{"leading zero", []string{`{"x":01}`}, nil, false},
		{"bare minus", []string{`{"x":-}`}, nil, false},
		{"fraction without digits", []string{`{"x":1.}`}, nil, false},
		{"exponent without digits", []string{`{"x":1e+}`}, nil, false},
		{"misspelt literal", []string{`{"x":nul}`}, nil, false},
		{"unquoted key", []string{`{NodeNames:["a"]}`}, nil, false},
		{"missing colon", []string{`{"NodeNames" ["a"]}`}, nil, false},
		{"single quotes", []string{`{'NodeNames':['a']}`}, nil, false},
		{"nested too deep", []string{tooDeep}, nil, false},
		{"deeply nested", []string{strings.Repeat("[", 20000)}, nil, false},
		{"binary", []string{"\x00\xff\xfe\x01"}, nil, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			bodies := make([][]byte, len(tc.bodies))
			for i, b := range tc.bodies {
				bodies[i] = []byte(b)
			}
			got, err := checkArgsLikeUnmarshal(t, bodies...)
			if (err == nil) != tc.ok {
				t.Fatalf("err = %v, want ok %v", err, tc.ok)
			}
			if !tc.ok {
				return
			}
			if tc.names == nil {
				if got.NodeNames != nil {
					t.Fatalf("NodeNames = %q, want nil", *got.NodeNames)
				}
				return
			}
			if got.NodeNames == nil || !reflect.DeepEqual(*got.NodeNames, tc.names) {
				t.Fatalf("NodeNames = %v, want %q", got.NodeNames, tc.names)
			}
		})
	}
}

// TestDecodeExtenderArgsOwnsItsStrings: the body's buffer is reused for the
// next request, so nothing decoded may point into it.
func TestDecodeExtenderArgsOwnsItsStrings(t *testing.T) {
	body := []byte(`{"Pod":{"metadata":{"name":"p"}},"NodeNames":["a","b\u00e9"]}`)
	var args extenderv1.ExtenderArgs
	if err := DecodeExtenderArgs(body, &args); err != nil {
		t.Fatal(err)
	}
	for i := range body {
		body[i] = 'X'
	}
	if args.Pod.Name != "p" || !reflect.DeepEqual(*args.NodeNames, []string{"a", "bé"}) {
		t.Fatalf("after overwriting the body: pod %q, names %q", args.Pod.Name, *args.NodeNames)
	}
}

func TestDecodeExtenderArgsMessages(t *testing.T) {
	cases := []struct{ name, body, want string }{
		{"empty", ``, "the body is empty"},
		{"array", `[1]`, "the body is a JSON array; want an object"},
		{"names as a string", `{"NodeNames":"v"}`, `member NodeNames: a JSON string; want an array of node names or null`},
		{"number among names", `{"NodeNames":["a",7]}`, "element 1 is a JSON number"},
		{"cut short", `{"NodeNames":["a"`, "not JSON at byte 17: want ',' or ']' after an array element, found the end of the body"},
		{"stray byte", `{"NodeNames":["a"]x`, `not JSON at byte 18: want ',' or '}' after an object member, found 'x'`},
		{"trailing", `{} {}`, `not JSON at byte 3: want nothing after the JSON object, found '{'`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var args extenderv1.ExtenderArgs
			err := DecodeExtenderArgs([]byte(tc.body), &args)
			if err == nil || !errors.Is(err, ErrBadRequest) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("decode(%q) = %v, want a bad request saying %q", tc.body, err, tc.want)
			}
		})
	}
}

// A decode lent an array and taking the names as pending allocates
// nothing for plain names, and leaves every name's bytes where Pending
// says; an escaped name is decoded, not pending.
func TestDecodePendingAllocatesNothing(t *testing.T) {
	names := make([]string, 1000)
	for i := range names {
		names[i] = fmt.Sprintf("node-%05d", i)
	}
	// The names alone: the pod is encoding/json's to decode.
	body := func() []byte { return []byte(`{"NodeNames":` + string(extendertest.MustMarshal(t, names)) + `}`) }
	plain := body()
	var (
		lent    []string
		pending Pending
		args    extenderv1.ExtenderArgs
	)
	decode := func(b []byte) {
		args = extenderv1.ExtenderArgs{}
		if err := DecodeExtenderArgsWith(b, &args, Reuse{Names: &lent, Pending: &pending}); err != nil {
			t.Fatal(err)
		}
	}
	decode(plain) // grows the arrays
	if allocs := testing.AllocsPerRun(20, func() { decode(plain) }); allocs > 0 {
		t.Fatalf("a decode of pending names allocates %.0f times", allocs)
	}
	names[7] = "node<7>" // written escaped
	decode(body())
	for i, want := range names {
		got := (*args.NodeNames)[i]
		if b := pending.Name(i); b != nil {
			if got != "" {
				t.Fatalf("name %d is pending and decoded as %q", i, got)
			}
			got = string(b)
		}
		if got != want {
			t.Fatalf("name %d is %q, want %q", i, got, want)
		}
	}
	if pending.Name(7) != nil {
		t.Fatal("an escaped name is pending")
	}
}
