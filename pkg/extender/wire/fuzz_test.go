package wire

import (
	"bytes"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/gpuplane/gpuplane/internal/extendertest"

	extenderv1 "k8s.io/kube-scheduler/extender/v1"
)

// FuzzDecodeExtenderArgs holds the wire decoder to json.Unmarshal: for any
// body, or two bodies decoded one after the other into the same arguments
// (where a repeated or null member shows how a decoder overwrites), both
// take or refuse it, and what they take decodes to equal arguments.
func FuzzDecodeExtenderArgs(f *testing.F) {
	pod := extendertest.MustMarshal(f, extendertest.MakePod("share").VGPU(0, 50, 32).Types("T4").Obj())
	names := []string{"node-00001", "node-00002", "nœud", "a\"b"}
	seeds := [][]byte{
		extendertest.MustMarshal(f, extenderv1.ExtenderArgs{Pod: extendertest.MakePod("p").GPUs(2).Types("V100").Obj(), NodeNames: &names}),
		[]byte(`{"Pod":` + string(pod) + `,"Nodes":{"items":[{"metadata":{"name":"v","labels":{"a":"b"}}}]},"NodeNames":null}`),
		[]byte(`{"nodenames":["a","b"],"NODENAMES":[null,"\u0063"],"NodeName\u017f":[],"x":[1,-0.5e-7,true,false,null,{"y":"\ud83d\ude00"}]}`),
		[]byte(`{"Pod":{"metadata":{"name":"p"}},"pod":{"metadata":{"namespace":"n"}},"POD":null}`),
		[]byte(" \t\r\n null \n"),
		[]byte(`{"NodeNames":["a\x"]}`),
		[]byte(`{"NodeNames":["a",1]}`),
		[]byte(`[{"NodeNames":["a"]}]`),
		[]byte(`{"NodeNames":["a"]} {}`),
		[]byte("{\"NodeNames\":[\"\xff\xfe\"]}"),
		[]byte(`{"x":01}`),
		[]byte(``),
	}
	for _, a := range seeds {
		f.Add(a, []byte(`{"NodeNames":[null,null,null,null,"z"]}`))
		f.Add(a, []byte(`{}`))
	}
	f.Fuzz(func(t *testing.T, first, second []byte) {
		checkArgsLikeUnmarshal(t, first, second)
	})
}

// FuzzWireAnswers holds the answer encoders to encoding/json: whatever the
// names, reasons and scores, the JSON written decodes to what encoding/json's
// decodes to, and is the very same bytes where no map has two members.
func FuzzWireAnswers(f *testing.F) {
	f.Add("node-00001", "node-00001: card 3 has 20% left, the pod asks 50%", "", int64(7), uint8(0xff))
	f.Add("n\xffé\u2028", "<&>\"\\\x00\x1f\x7f", "filter: no pod", int64(-1), uint8(0x0f))
	f.Add("", "", "\xed\xa0\x80", int64(1<<63-1), uint8(0))
	f.Fuzz(func(t *testing.T, host, reason, errText string, score int64, shape uint8) {
		var res extenderv1.ExtenderFilterResult
		if shape&1 != 0 {
			names := []string{host, reason}
			res.NodeNames = &names
		}
		if shape&2 != 0 {
			res.FailedNodes = extenderv1.FailedNodesMap{host: reason}
		}
		if shape&4 != 0 {
			res.FailedAndUnresolvableNodes = extenderv1.FailedNodesMap{reason: errText}
		}
		res.Error = errText
		checkAnswerLikeEncoder(t, FilterAnswer{&res},
			func() any { return &res },
			func() any { return new(extenderv1.ExtenderFilterResult) }, true)
		// Keys that differ only in bytes that are not UTF-8 come out as the
		// same JSON name; which one then wins depends on the order written
		// (node names are DNS names: never so in kube-scheduler's calls).
		if shape&8 != 0 && distinctInJSON(t, host, reason, errText, "node") {
			res.FailedNodes = extenderv1.FailedNodesMap{host: reason, reason: host, errText: host + reason, "node": errText}
			checkAnswerLikeEncoder(t, FilterAnswer{&res},
				func() any { return &res },
				func() any { return new(extenderv1.ExtenderFilterResult) }, false)
		}

		if want := extendertest.MustMarshal(t, host+reason); !bytes.Equal(appendJSONString2(nil, host, reason), want) {
			t.Fatalf("appendJSONString2(%q, %q) = %s, want %s", host, reason, appendJSONString2(nil, host, reason), want)
		}

		var list extenderv1.HostPriorityList
		if shape&16 != 0 {
			list = extenderv1.HostPriorityList{{Host: host, Score: score}, {Host: reason, Score: -score}, {Host: errText}}
		}
		checkAnswerLikeEncoder(t, PriorityAnswer(list),
			func() any { return list },
			func() any { return new(extenderv1.HostPriorityList) }, true)
	})
}

// distinctInJSON says whether the distinct strings of ss stay distinct
// once written as JSON.
func distinctInJSON(t *testing.T, ss ...string) bool {
	t.Helper()
	seen := map[string]string{}
	for _, s := range ss {
		raw, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		if prev, ok := seen[string(raw)]; ok && prev != s {
			return false
		}
		seen[string(raw)] = s
	}
	return true
}

// fakeOutcome is a FilterOutcome of fixed verdicts.
type fakeOutcome struct {
	names      []string
	fit        []bool
	node, rest []string
	resolvable []bool
}

func (o *fakeOutcome) Candidates() ([]string, bool) { return o.names, true }
func (o *fakeOutcome) Fits(i int) bool              { return o.fit[i] }
func (o *fakeOutcome) Refusal(i int) (node, rest string, resolvable, refused bool) {
	if o.fit[i] {
		return "", "", false, false
	}
	return o.node[i], o.rest[i], o.resolvable[i], true
}

func (o *fakeOutcome) Result() *extenderv1.ExtenderFilterResult {
	res := &extenderv1.ExtenderFilterResult{NodeNames: &[]string{}, FailedNodes: extenderv1.FailedNodesMap{}, FailedAndUnresolvableNodes: extenderv1.FailedNodesMap{}}
	for i, name := range o.names {
		switch {
		case o.fit[i]:
			*res.NodeNames = append(*res.NodeNames, name)
		case o.resolvable[i]:
			res.FailedNodes[name] = o.node[i] + o.rest[i]
		default:
			res.FailedAndUnresolvableNodes[name] = o.node[i] + o.rest[i]
		}
	}
	return res
}

// FuzzOutcomeAnswer holds filter's answer written from its outcome to
// encoding/json's encoding of the outcome's result, for reasons whose rests
// repeat (the writer copies a repeated rest's escaped bytes) and whose node
// parts may end in the middle of a rune.
func FuzzOutcomeAnswer(f *testing.F) {
	f.Add(": card 3 has 20% left", ": no T4 card", "\xe2\x80", uint32(0x5a5a5a5a))
	f.Add("<&>\"\\\x00", "\xa8 rest", "é", uint32(0xffff0000))
	f.Add(": no T4 card", ": no V1 card", "", uint32(0x01010101)) // rests alike but for one byte, in turn
	f.Fuzz(func(t *testing.T, a, b, c string, shape uint32) {
		rests := []string{a, b, c, a}
		o := &fakeOutcome{}
		for i := range 8 {
			bits := shape >> (4 * i)
			name := fmt.Sprintf("n%d", i)
			node := name
			if bits&8 != 0 {
				node += c // may end in part of a rune that the rest completes
				if i%2 == 1 {
					name = node // a name to escape, the reason beginning with it
				}
			}
			o.names = append(o.names, name)
			o.fit = append(o.fit, bits&3 == 3)
			o.node = append(o.node, node)
			o.rest = append(o.rest, rests[bits&3])
			o.resolvable = append(o.resolvable, bits&4 != 0)
		}
		got, err := AppendOutcome(nil, o)
		if err != nil {
			t.Fatal(err)
		}
		extendertest.SameFilterResult(t, got, o.Result())
		// The same candidates many times over, written in parts: the same
		// bytes as written on one goroutine.
		many := &fakeOutcome{}
		for k := range 3 * minPartNames / 8 {
			for i := range o.names {
				many.names = append(many.names, fmt.Sprintf("%s-%d", o.names[i], k))
				many.fit = append(many.fit, o.fit[i])
				many.node = append(many.node, o.node[i])
				many.rest = append(many.rest, o.rest[i])
				many.resolvable = append(many.resolvable, o.resolvable[i])
			}
		}
		one, err := AppendOutcome(nil, many)
		if err != nil {
			t.Fatal(err)
		}
		var bufs BufferPool
		parts, err := AppendOutcomeWith(nil, many, &bufs)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(one, parts) {
			t.Fatalf("%d candidates written in parts differ from one goroutine's:\n%.300s\n%.300s", len(many.names), parts, one)
		}
	})
}
