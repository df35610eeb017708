package backfill

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
)

// reportWriter appends entries to the report: JSON Lines, or CSV for a
// .csv name.
type reportWriter struct {
	f   *os.File
	w   *bufio.Writer
	csv *csv.Writer
	n   int64 // bytes written, flushed or not
}

// csvHeader is the CSV report's first line.
var csvHeader = []string{"file", "line", "status", "code", "field", "recordId", "trackingId", "reason"}

// openReport opens the report at path, keeping its first keep bytes (what
// the acknowledged batches wrote) and dropping what comes after (lines of
// a batch that was not acknowledged, which is sent again).
func openReport(path string, keep int64) (*reportWriter, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open the report: %w", err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	if keep > st.Size() {
		f.Close()
		return nil, fmt.Errorf("the report %s has %d bytes, fewer than the %d the progress file counts (it was changed; use --restart)", path, st.Size(), keep)
	}
	if err := f.Truncate(keep); err != nil {
		f.Close()
		return nil, err
	}
	if _, err := f.Seek(keep, io.SeekStart); err != nil {
		f.Close()
		return nil, err
	}
	rw := &reportWriter{f: f, n: keep}
	rw.w = bufio.NewWriter(countingWriter{f: f, n: &rw.n})
	if strings.HasSuffix(strings.ToLower(path), ".csv") {
		rw.csv = csv.NewWriter(rw.w)
		if keep == 0 {
			if err := rw.csv.Write(csvHeader); err != nil {
				f.Close()
				return nil, err
			}
		}
	}
	return rw, nil
}

// countingWriter counts what reaches the file.
type countingWriter struct {
	f *os.File
	n *int64
}

func (c countingWriter) Write(p []byte) (int, error) {
	n, err := c.f.Write(p)
	*c.n += int64(n)
	return n, err
}

func (rw *reportWriter) write(e *Entry) error {
	if rw.csv != nil {
		return rw.csv.Write([]string{e.File, strconv.Itoa(e.Line), e.Status, e.Code, e.Field, e.RecordID, e.TrackingID, e.Reason})
	}
	data, err := json.Marshal(e)
	if err != nil {
		return err
	}
	if _, err := rw.w.Write(data); err != nil {
		return err
	}
	return rw.w.WriteByte('\n')
}

// sync puts everything written on disk and returns the report's length.
func (rw *reportWriter) sync() (int64, error) {
	if rw.csv != nil {
		rw.csv.Flush()
		if err := rw.csv.Error(); err != nil {
			return 0, err
		}
	}
	if err := rw.w.Flush(); err != nil {
		return 0, err
	}
	return rw.n, rw.f.Sync()
}

func (rw *reportWriter) close() {
	rw.sync()
	rw.f.Close()
}
