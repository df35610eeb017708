package dashboard

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"opencrvs-mosip/internal/admin"
)

// chart is a line chart drawn on the server as SVG: the template only
// places what is computed here.
type chart struct {
	W, H                     int
	Left, Right, Top, Bottom float64
	YTicks, XTicks           []tick
	Series                   []series
	Empty                    bool
	// ID and Label name the picture for screen readers.
	ID, Label string
}

type tick struct {
	At     float64
	Label  string
	Anchor string
}

type series struct {
	Name, Class string
	// Points is the polyline's "x,y x,y …".
	Points string
	Total  int
}

// Chart sizes: SVG text scales with the picture, so a laptop gets a wide
// chart and a phone a narrow one (CSS shows one of the two), each with
// text of about the page's size.
const (
	wideW, wideH     = 960, 240
	narrowW, narrowH = 380, 230
)

// throughputChart draws records received, completed and failed per step
// over the window, on a w by h picture; points are oldest first.
func throughputChart(points []admin.Point, window time.Duration, w, h int) chart {
	c := chart{W: w, H: h, Left: 34, Top: 10}
	c.Right, c.Bottom = float64(c.W)-10, float64(c.H)-26
	values := [3][]int{}
	top := 0
	for _, p := range points {
		for i, n := range [3]int{p.Received, p.Completed, p.Failed} {
			values[i] = append(values[i], n)
			top = max(top, n)
		}
	}
	c.Empty = top == 0
	top = niceCeil(top)
	y := func(n int) float64 { return c.Bottom - (c.Bottom-c.Top)*float64(n)/float64(top) }
	x := func(i int) float64 {
		if len(points) < 2 {
			return c.Left
		}
		return c.Left + (c.Right-c.Left)*float64(i)/float64(len(points)-1)
	}
	for _, n := range []int{0, top / 2, top} {
		c.YTicks = append(c.YTicks, tick{At: y(n), Label: strconv.Itoa(n)})
	}
	mins := int(window.Minutes())
	c.XTicks = []tick{
		{At: c.Left, Label: fmt.Sprintf("−%d min", mins), Anchor: "start"},
		{At: (c.Left + c.Right) / 2, Label: fmt.Sprintf("−%d min", mins/2), Anchor: "middle"},
		{At: c.Right, Label: "now", Anchor: "end"},
	}
	totals := [3]int{}
	for i, name := range []string{"Received", "Completed", "Failed"} {
		var b strings.Builder
		for j, n := range values[i] {
			if j > 0 {
				b.WriteByte(' ')
			}
			fmt.Fprintf(&b, "%.1f,%.1f", x(j), y(n))
			totals[i] += n
		}
		c.Series = append(c.Series, series{Name: name, Class: strings.ToLower(name), Points: b.String(), Total: totals[i]})
	}
	c.ID = fmt.Sprintf("chart-%dx%d", w, h)
	c.Label = fmt.Sprintf("Records per minute over the last %d minutes: %d received, %d completed, %d failed",
		mins, totals[0], totals[1], totals[2])
	return c
}

// niceCeil rounds n up to 1, 2 or 5 times a power of ten (at least 2, so
// that the axis has a middle).
func niceCeil(n int) int {
	if n <= 2 {
		return 2
	}
	for p := 1; ; p *= 10 {
		for _, m := range []int{1, 2, 5} {
			if m*p >= n {
				return m * p
			}
		}
	}
}
