package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/xenactor/xenactor/messages"
)

// jsonOptions marshal the API's messages for --json: field names as in the
// .proto files, every field even when it is zero, one line.
var jsonOptions = protojson.MarshalOptions{UseProtoNames: true, EmitUnpopulated: true}

// printJSON writes m as one JSON object and a newline.
func (a *app) printJSON(m proto.Message) error {
	b, err := jsonOptions.Marshal(m)
	if err != nil {
		return fmt.Errorf("encode %T: %w", m, err)
	}
	return writeLine(a.opts.Stdout, b)
}

// printJSONList writes ms as one JSON array and a newline.
func printJSONList[M proto.Message](a *app, ms []M) error {
	var buf bytes.Buffer
	buf.WriteByte('[')
	for i, m := range ms {
		b, err := jsonOptions.Marshal(m)
		if err != nil {
			return fmt.Errorf("encode %T: %w", m, err)
		}
		if i > 0 {
			buf.WriteByte(',')
		}
		buf.Write(b)
	}
	buf.WriteByte(']')
	return writeLine(a.opts.Stdout, buf.Bytes())
}

// printPlainJSON writes v, a plain Go value, as JSON and a newline.
func (a *app) printPlainJSON(v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode %T: %w", v, err)
	}
	return writeLine(a.opts.Stdout, b)
}

// writeLine writes b and a newline to w.
func writeLine(w io.Writer, b []byte) error {
	_, err := w.Write(append(b, '\n'))
	return err
}

// table writes rows aligned in columns under a header, for people.
type table struct {
	tw *tabwriter.Writer
}

// newTable returns a table on w with the column names header.
func newTable(w io.Writer, header ...string) *table {
	t := &table{tw: tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)}
	t.row(header...)
	return t
}

// row adds a row; empty cells are shown as "-".
func (t *table) row(cells ...string) {
	for i, c := range cells {
		if c == "" {
			cells[i] = "-"
		}
	}
	fmt.Fprintln(t.tw, strings.Join(cells, "\t"))
}

// flush writes the table out.
func (t *table) flush() error { return t.tw.Flush() }

// powerState names a power state for people ("Running").
func powerState(s messages.PowerState) string {
	name := strings.TrimPrefix(s.String(), "POWER_STATE_")
	return titleCase(name)
}

// domainType names a domain type for people ("pv").
func domainType(t messages.DomainType) string {
	if t == messages.DomainType_DOMAIN_TYPE_UNSPECIFIED {
		return ""
	}
	return strings.ToLower(strings.TrimPrefix(t.String(), "DOMAIN_TYPE_"))
}

// taskState names a task state for people ("Pending").
func taskState(t *messages.Task) string {
	s := titleCase(strings.TrimPrefix(t.State.String(), "TASK_STATE_"))
	if t.Cancelling && t.State == messages.TaskState_TASK_STATE_PENDING {
		s += " (cancelling)"
	}
	return s
}

// taskDetail shows a task's detail for people: its key=value pairs, sorted
// by key, comma-separated ("bytes_sent=4194304,iteration=1"); "" for none.
func taskDetail(t *messages.Task) string {
	keys := slices.Sorted(maps.Keys(t.Detail))
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + t.Detail[k]
	}
	return strings.Join(parts, ",")
}

// titleCase turns "RUNNING" into "Running".
func titleCase(s string) string {
	if s == "" {
		return s
	}
	return s[:1] + strings.ToLower(s[1:])
}

// memory shows KiB for people ("512M", "2G", "100K").
func memory(kib uint64) string {
	switch {
	case kib == 0:
		return "0"
	case kib%(1<<20) == 0:
		return fmt.Sprintf("%dG", kib>>20)
	case kib%(1<<10) == 0:
		return fmt.Sprintf("%dM", kib>>10)
	}
	return fmt.Sprintf("%dK", kib)
}

// unixNano shows a time in Unix nanoseconds for people, in UTC; "" for 0.
func unixNano(ns int64) string {
	if ns == 0 {
		return ""
	}
	return time.Unix(0, ns).UTC().Format(time.RFC3339)
}

// errorText shows a wire error for people; "" for nil.
func errorText(e *messages.Error) string {
	if e == nil {
		return ""
	}
	if e.Kind == "" {
		return e.Message
	}
	return e.Message + " (" + e.Kind + ")"
}
