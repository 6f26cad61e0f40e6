package sim

import (
	"fmt"
	"html"
	"io"
	"math"
	"strings"
)

// Series is one line of a plot: a policy's allocation % (Y) against the
// arrived % (X).
type Series struct {
	Name string
	X, Y []float64
}

// MeanCurve folds the curves of several replays of one policy: at each
// arrived % the mean allocation % over the replays that have a value there.
func MeanCurve(name string, runs []Result) Series {
	s := Series{Name: name}
	n := 0
	for _, r := range runs {
		n = max(n, len(r.Curve))
	}
	for a := 0; a < n; a++ {
		var sum float64
		var k int
		for _, r := range runs {
			if a < len(r.Curve) && !math.IsNaN(r.Curve[a]) {
				sum += r.Curve[a]
				k++
			}
		}
		if k > 0 {
			s.X = append(s.X, float64(a))
			s.Y = append(s.Y, sum/float64(k))
		}
	}
	return s
}

// plot geometry, in SVG user units
const (
	plotW, plotH     = 1000, 470
	panelW, panelH   = 400, 320
	panelTop         = 70
	panelLeft1       = 70
	panelLeft2       = 560
	legendTop        = panelTop + panelH + 50
	legendItemW      = 150
	tickLen          = 5
	plotFontSize     = 13
	plotSmallFont    = 11
	plotStrokeWidth  = 1.6
	plotGridColor    = "#dddddd"
	plotAxisColor    = "#333333"
	plotZoomFromX    = 80
	plotZoomMinSpanY = 4
)

// plotColors are told apart by most readers, colour-blind ones included.
var plotColors = []string{"#0072b2", "#d55e00", "#009e73", "#cc79a7", "#000000", "#e69f00", "#56b4e9", "#f0e442"}

// axis maps data values to panel coordinates.
type axis struct {
	lo, hi, step float64
	from, to     float64 // the coordinates of lo and hi
}

func (a axis) at(v float64) float64 { return a.from + (v-a.lo)/(a.hi-a.lo)*(a.to-a.from) }

func (a axis) ticks() []float64 {
	var out []float64
	for v := math.Ceil(a.lo/a.step-1e-9) * a.step; v <= a.hi+1e-9; v += a.step {
		if v == 0 {
			v = 0 // not -0
		}
		out = append(out, v)
	}
	return out
}

// WritePlot draws the series as an SVG: allocation % against arrived %,
// the whole run on the left and, on the right, the part from 80% arrived
// with the allocation axis zoomed in where the policies part ways. A
// newline in title starts a smaller second line.
func WritePlot(w io.Writer, title string, series []Series) error {
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="%d">`+"\n",
		plotW, plotH, plotW, plotH, plotFontSize)
	fmt.Fprintf(&b, `<rect width="%d" height="%d" fill="white"/>`+"\n", plotW, plotH)
	head, sub, _ := strings.Cut(title, "\n")
	fmt.Fprintf(&b, `<text x="%d" y="22" text-anchor="middle" font-size="16" font-weight="bold">%s</text>`+"\n", plotW/2, html.EscapeString(head))
	if sub != "" {
		fmt.Fprintf(&b, `<text x="%d" y="40" text-anchor="middle" font-size="%d">%s</text>`+"\n", plotW/2, plotFontSize, html.EscapeString(sub))
	}

	maxX := 100.0
	for _, s := range series {
		for _, x := range s.X {
			maxX = max(maxX, x)
		}
	}
	maxX = math.Ceil(maxX/10) * 10
	full := [2]axis{
		{lo: 0, hi: maxX, step: 10, from: panelLeft1, to: panelLeft1 + panelW},
		{lo: 0, hi: 100, step: 10, from: panelTop + panelH, to: panelTop},
	}
	panel(&b, "the whole run", full, series)

	loY, hiY := math.Inf(1), math.Inf(-1)
	for _, s := range series {
		for i, x := range s.X {
			if x >= plotZoomFromX {
				loY, hiY = min(loY, s.Y[i]), max(hiY, s.Y[i])
			}
		}
	}
	if math.IsInf(loY, 0) {
		loY, hiY = 0, 100
	}
	loY, hiY = math.Floor(loY/2)*2, math.Ceil(hiY/2)*2
	if hiY-loY < plotZoomMinSpanY {
		hiY = loY + plotZoomMinSpanY
	}
	stepY := 1.0
	if hiY-loY > 12 {
		stepY = 2
	}
	zoom := [2]axis{
		{lo: plotZoomFromX, hi: maxX, step: 10, from: panelLeft2, to: panelLeft2 + panelW},
		{lo: loY, hi: hiY, step: stepY, from: panelTop + panelH, to: panelTop},
	}
	panel(&b, fmt.Sprintf("from %d%% arrived (zoomed)", plotZoomFromX), zoom, series)

	// legend, centred under the panels
	startX := (plotW - legendItemW*len(series)) / 2
	for i, s := range series {
		x := startX + i*legendItemW
		c := plotColors[i%len(plotColors)]
		fmt.Fprintf(&b, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="%s" stroke-width="3"/>`+"\n", x, legendTop, x+28, legendTop, c)
		fmt.Fprintf(&b, `<text x="%d" y="%d">%s</text>`+"\n", x+36, legendTop+4, html.EscapeString(s.Name))
	}
	b.WriteString("</svg>\n")
	_, err := io.WriteString(w, b.String())
	return err
}

// panel draws one panel: frame, grid, ticks, axis labels and the lines,
// clipped to the frame.
func panel(b *strings.Builder, caption string, ax [2]axis, series []Series) {
	x, y := ax[0], ax[1]
	id := fmt.Sprintf("clip%.0f", x.from)
	fmt.Fprintf(b, `<clipPath id="%s"><rect x="%.1f" y="%.1f" width="%.1f" height="%.1f"/></clipPath>`+"\n", id, x.from, y.to, x.to-x.from, y.from-y.to)
	for _, v := range x.ticks() {
		px := x.at(v)
		fmt.Fprintf(b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="%s"/>`+"\n", px, y.to, px, y.from, plotGridColor)
		fmt.Fprintf(b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="%s"/>`+"\n", px, y.from, px, y.from+tickLen, plotAxisColor)
		fmt.Fprintf(b, `<text x="%.1f" y="%.1f" text-anchor="middle" font-size="%d">%g</text>`+"\n", px, y.from+tickLen+13, plotSmallFont, v)
	}
	for _, v := range y.ticks() {
		py := y.at(v)
		fmt.Fprintf(b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="%s"/>`+"\n", x.from, py, x.to, py, plotGridColor)
		fmt.Fprintf(b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="%s"/>`+"\n", x.from-tickLen, py, x.from, py, plotAxisColor)
		fmt.Fprintf(b, `<text x="%.1f" y="%.1f" text-anchor="end" font-size="%d">%g</text>`+"\n", x.from-tickLen-3, py+4, plotSmallFont, v)
	}
	fmt.Fprintf(b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="none" stroke="%s"/>`+"\n", x.from, y.to, x.to-x.from, y.from-y.to, plotAxisColor)
	fmt.Fprintf(b, `<text x="%.1f" y="%.1f" text-anchor="middle">%s</text>`+"\n", (x.from+x.to)/2, y.to-8, html.EscapeString(caption))
	fmt.Fprintf(b, `<text x="%.1f" y="%.1f" text-anchor="middle">arrived %% of the cluster's GPUs</text>`+"\n", (x.from+x.to)/2, y.from+38)
	fmt.Fprintf(b, `<text transform="translate(%.1f %.1f) rotate(-90)" text-anchor="middle">allocation %%</text>`+"\n", x.from-42, (y.from+y.to)/2)
	for i, s := range series {
		var pts strings.Builder
		for k := range s.X {
			if s.X[k] < x.lo || s.X[k] > x.hi {
				continue
			}
			fmt.Fprintf(&pts, "%.1f,%.1f ", x.at(s.X[k]), y.at(s.Y[k]))
		}
		fmt.Fprintf(b, `<polyline clip-path="url(#%s)" fill="none" stroke="%s" stroke-width="%g" stroke-linejoin="round" points="%s"/>`+"\n",
			id, plotColors[i%len(plotColors)], plotStrokeWidth, strings.TrimSpace(pts.String()))
	}
}
