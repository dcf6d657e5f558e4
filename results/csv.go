package results

import (
	"encoding/csv"
	"os"
	"strconv"
)

// writeCSV writes a figure as CSV: its key columns, then value, unit and
// source (empty for our rows, the paper's text for the paper's).
func writeCSV(path string, f *Figure) error {
	out, err := os.Create(path)
	if err != nil {
		return err
	}
	w := csv.NewWriter(out)
	w.Write(append(append([]string{}, f.Columns...), "value", "unit", "source"))
	for _, r := range f.Rows {
		w.Write(append(append([]string{}, r.Key...), strconv.FormatFloat(r.Value, 'g', -1, 64), f.Unit, r.Source))
	}
	w.Flush()
	if err := w.Error(); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
