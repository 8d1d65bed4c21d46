package dashboard

import (
	"fmt"
	"html/template"
	"strings"
	"time"
)

// Charts are drawn on the server as inline SVG: no script, no CDN, and the
// page reads the same without JavaScript. Each chart carries its words
// beside it: a one-sentence summary (the SVG's accessible name), a legend in
// HTML and a table of the numbers behind it, so a screen reader or a
// narrow window loses nothing. Axis words are HTML too: SVG text would
// shrink with the drawing on a 390 px phone.

// chartW and chartH are the SVG's coordinate box; CSS stretches it to the
// page's width at a fixed height.
const chartW, chartH = 720, 160

// chartSeries is one stacked part of every bar.
type chartSeries struct {
	Label  string
	Fill   string
	Values []int
}

// legendItem is one swatch of a chart's legend.
type legendItem struct{ Label, Fill string }

// chartRow is one day of a chart's table.
type chartRow struct {
	Day   time.Time
	Cells []int
	Total int
}

// chart is everything a page shows for one chart.
type chart struct {
	ID, Title string
	// Summary says the chart in one sentence.
	Summary string
	SVG     template.HTML
	Legend  []legendItem
	// Top is the value the drawing's full height stands for.
	Top      int
	From, To time.Time
	// Columns head the table's count columns (the series, then Total).
	Columns []string
	// Rows are the days with anything to show; Quiet counts the others.
	Rows  []chartRow
	Quiet int
	// Limit, when above zero, is drawn as a dashed line (LimitLabel).
	Limit      int
	LimitLabel string
}

// palette are the series colours, distinguishable on white and told apart
// in the legend and the table by words, never by colour alone.
var palette = []string{"#0a5bd3", "#1a7f37", "#b35900", "#8250df", "#0e7490", "#9a6700", "#57606a", "#b42318", "#1b1f24"}

// newChart draws days' stacked bars of series (each as long as days), with
// an optional limit line. unit names what is counted, for the summary.
func newChart(id, title, unit string, days []time.Time, series []chartSeries, limit int, limitLabel string) chart {
	c := chart{ID: id, Title: title, Limit: limit, LimitLabel: limitLabel}
	if len(days) == 0 {
		return c
	}
	c.From, c.To = days[0], days[len(days)-1]
	totals := make([]int, len(days))
	grand, peak, peakAt := 0, 0, 0
	for _, s := range series {
		c.Legend = append(c.Legend, legendItem{Label: s.Label, Fill: s.Fill})
		c.Columns = append(c.Columns, s.Label)
		for i, v := range s.Values {
			totals[i] += v
		}
	}
	c.Columns = append(c.Columns, "Total")
	for i, t := range totals {
		grand += t
		if t > peak {
			peak, peakAt = t, i
		}
		if t == 0 {
			c.Quiet++
			continue
		}
		row := chartRow{Day: days[i], Total: t}
		for _, s := range series {
			row.Cells = append(row.Cells, s.Values[i])
		}
		c.Rows = append(c.Rows, row)
	}
	c.Top = niceTop(max(peak, limit))
	span := fmt.Sprintf("%s to %s", days[0].Format("2 Jan"), days[len(days)-1].Format("2 Jan 2006"))
	if grand == 0 {
		c.Summary = fmt.Sprintf("%s: none from %s.", title, span)
	} else {
		c.Summary = fmt.Sprintf("%s: %d %s from %s; the most on %s (%d).", title, grand, unit, span, days[peakAt].Format("2 Jan"), peak)
	}
	if limit > 0 {
		c.Summary += fmt.Sprintf(" %s: %d a day.", limitLabel, limit)
	}
	c.SVG = drawBars(c, days, series, totals)
	return c
}

// niceTop rounds a chart's peak up to 1, 2 or 5 times a power of ten, so
// the scale reads "0 to 500" rather than "0 to 437".
func niceTop(v int) int {
	if v <= 0 {
		return 1
	}
	for p := 1; ; p *= 10 {
		for _, m := range []int{1, 2, 5} {
			if m*p >= v {
				return m * p
			}
		}
	}
}

func drawBars(c chart, days []time.Time, series []chartSeries, totals []int) template.HTML {
	var b strings.Builder
	esc := template.HTMLEscapeString
	fmt.Fprintf(&b, `<svg class="chart" viewBox="0 0 %d %d" preserveAspectRatio="none" role="img" aria-labelledby="%s-title %s-summary" focusable="false">`,
		chartW, chartH, c.ID, c.ID)
	fmt.Fprintf(&b, `<line x1="0" y1="%d" x2="%d" y2="%d" stroke="#d0d7de" vector-effect="non-scaling-stroke"/>`, chartH, chartW, chartH)
	bw := float64(chartW) / float64(len(days))
	gap := bw * 0.15
	scale := float64(chartH) / float64(c.Top)
	for i, day := range days {
		if totals[i] == 0 {
			continue
		}
		y := float64(chartH)
		for _, s := range series {
			v := s.Values[i]
			if v == 0 {
				continue
			}
			h := float64(v) * scale
			y -= h
			fmt.Fprintf(&b, `<rect x="%.2f" y="%.2f" width="%.2f" height="%.2f" fill="%s"><title>%s, %s: %d</title></rect>`,
				float64(i)*bw+gap/2, y, bw-gap, h, s.Fill, day.Format("2 Jan"), esc(s.Label), v)
		}
	}
	if c.Limit > 0 {
		y := float64(chartH) - float64(c.Limit)*scale
		fmt.Fprintf(&b, `<line class="limit" x1="0" y1="%.2f" x2="%d" y2="%.2f" stroke="#b42318" stroke-width="2" stroke-dasharray="6 4" vector-effect="non-scaling-stroke"><title>%s: %d</title></line>`,
			y, chartW, y, esc(c.LimitLabel), c.Limit)
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}
