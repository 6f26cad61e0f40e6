package sim

import (
	"encoding/xml"
	"io"
	"math"
	"strings"
	"testing"
)

func TestMeanCurve(t *testing.T) {
	nan := math.NaN()
	s := MeanCurve("p", []Result{{Curve: []float64{0, 10, nan, 30}}, {Curve: []float64{2, nan, nan}}})
	wantX, wantY := []float64{0, 1, 3}, []float64{1, 10, 30}
	if s.Name != "p" || len(s.X) != len(wantX) {
		t.Fatalf("MeanCurve = %+v", s)
	}
	for i := range wantX {
		if s.X[i] != wantX[i] || s.Y[i] != wantY[i] {
			t.Errorf("point %d = (%v, %v), want (%v, %v)", i, s.X[i], s.Y[i], wantX[i], wantY[i])
		}
	}
}

// The plot is well-formed SVG with the title, a line per policy in each of
// its two panels, a legend entry per policy and ticks on both axes.
func TestWritePlot(t *testing.T) {
	series := []Series{
		{Name: "fgd", X: []float64{0, 50, 100, 130}, Y: []float64{0, 50, 95.2, 95.4}},
		{Name: "a<b", X: []float64{0, 50, 100, 130}, Y: []float64{0, 50, 93.3, 93.6}},
	}
	var b strings.Builder
	if err := WritePlot(&b, "allocation\ndefault trace, seeds 42-51", series); err != nil {
		t.Fatal(err)
	}
	d := xml.NewDecoder(strings.NewReader(b.String()))
	count := map[string]int{}
	var texts []string
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("not XML: %v\n%s", err, b.String())
		}
		switch e := tok.(type) {
		case xml.StartElement:
			count[e.Name.Local]++
		case xml.CharData:
			if s := strings.TrimSpace(string(e)); s != "" {
				texts = append(texts, s)
			}
		}
	}
	if count["svg"] != 1 || count["polyline"] != 2*len(series) {
		t.Errorf("elements %v, want one svg and %d polylines", count, 2*len(series))
	}
	all := strings.Join(texts, "|")
	if strings.Contains(all, "-0") {
		t.Errorf("plot text has a -0 tick: %s", all)
	}
	for _, want := range []string{"allocation|default trace, seeds 42-51", "|0|", "fgd", "a<b", "|130|", "|100|", "allocation %", "arrived % of the cluster's GPUs"} {
		if !strings.Contains(all, want) {
			t.Errorf("plot text lacks %q: %s", want, all)
		}
	}
}
