package loadbench

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// elements parses doc as XML and counts its elements by name.
func elements(t *testing.T, doc []byte) map[string]int {
	t.Helper()
	dec := xml.NewDecoder(bytes.NewReader(doc))
	n := make(map[string]int)
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			return n
		}
		require.NoError(t, err)
		if se, ok := tok.(xml.StartElement); ok {
			n[se.Name.Local]++
		}
	}
}

// The SVG writer's output is XML with a dot per point, a line per line
// series and the names escaped.
func TestPlot_WriteSVGIsXML(t *testing.T) {
	p := Plot{Title: `start <latency> & "running"`, XLabel: "running VMs", YLabel: "ms", Series: []Series{
		{Name: "start", Points: []XY{{0, 1}, {10, 2.5}, {1000, 3}}},
		{Name: "p50 <line>", Points: []XY{{10, 2}, {1000, 2.2}}, Line: true},
		{Name: "empty"},
	}}
	var b bytes.Buffer
	require.NoError(t, p.WriteSVG(&b))
	n := elements(t, b.Bytes())
	require.Equal(t, 1, n["svg"])
	require.Equal(t, 3, n["circle"])
	require.Equal(t, 1, n["polyline"])
	require.Contains(t, b.String(), "start &lt;latency&gt; &amp; &#34;running&#34;")

	var empty bytes.Buffer
	require.NoError(t, Plot{Title: "nothing"}.WriteSVG(&empty))
	require.Equal(t, 1, elements(t, empty.Bytes())["svg"])
}

// A report's plots: latency over time with a series per operation, and
// start latency against the running VMs with the levels' p50 as a line.
func TestReport_WritePlots(t *testing.T) {
	ms := func(n int) time.Duration { return time.Duration(n) * time.Millisecond }
	rep := &Report{Config: DefaultConfig(ScenarioScale), Points: map[string][]Point{
		OpCreate: {{At: int64(ms(100)), Latency: ms(1)}},
		OpStart:  {{At: int64(ms(200)), Latency: ms(20), Running: 0}, {At: int64(ms(300)), Latency: ms(22), Running: 1}},
		OpProbe:  {{At: int64(ms(400)), Latency: ms(18), Running: 2}},
	}, Levels: []LevelRow{{Running: 2, Probes: 1, Probe: Latency{P50: ms(18)}}}}
	rep.Elapsed = time.Second
	rep.finish(time.Time{})
	require.Equal(t, 4, rep.Ops)
	require.Len(t, rep.Kinds, 3)

	dir := filepath.Join(t.TempDir(), "plots")
	paths, err := rep.WritePlots(dir)
	require.NoError(t, err)
	require.Equal(t, []string{filepath.Join(dir, PlotLatencyOverTime), filepath.Join(dir, PlotStartVsRunning)}, paths)
	over, err := os.ReadFile(paths[0])
	require.NoError(t, err)
	require.Equal(t, 4, elements(t, over)["circle"])
	starts, err := os.ReadFile(paths[1])
	require.NoError(t, err)
	n := elements(t, starts)
	require.Equal(t, 3, n["circle"], "the starts and the probe")
	require.Equal(t, 1, n["polyline"], "the probe p50 per level")

	var table bytes.Buffer
	rep.WriteTable(&table)
	require.True(t, strings.Contains(table.String(), "probe-start"), table.String())
}

// A logarithmic y axis has a grid line per decade of the values and keeps
// every point inside the plot.
func TestPlot_LogY(t *testing.T) {
	p := Plot{Title: "log", LogY: true, Series: []Series{{Name: "s", Points: []XY{{1, 0.5}, {2, 30}, {3, 2000}, {4, 0}}}}}
	var b bytes.Buffer
	require.NoError(t, p.WriteSVG(&b))
	require.Equal(t, 4, elements(t, b.Bytes())["circle"])
	for _, tick := range []string{">0.1<", ">1<", ">10<", ">100<", ">1000<", ">10000<"} {
		require.Contains(t, b.String(), tick)
	}
	dec := xml.NewDecoder(&b)
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		require.NoError(t, err)
		if se, ok := tok.(xml.StartElement); ok && se.Name.Local == "circle" {
			for _, a := range se.Attr {
				if a.Name.Local == "cy" {
					v, err := strconv.ParseFloat(a.Value, 64)
					require.NoError(t, err)
					require.GreaterOrEqual(t, v, float64(marginT))
					require.LessOrEqual(t, v, float64(marginT+innerH))
				}
			}
		}
	}
}
