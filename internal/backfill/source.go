package backfill

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// DefaultMaxRecordBytes bounds one record read from the input: a longer
// line (or .json file) is reported as too large, without being held in
// memory.
const DefaultMaxRecordBytes = 16 << 20

// inputFile is one file of the input.
type inputFile struct {
	name string // as the report and the progress file name it
	path string
	size int64
	// whole: the file is one record (a .json file in a directory).
	whole bool
}

// listInput returns the files of path: the file itself, or a directory's
// *.json and *.ndjson files (not its subdirectories), by name.
func listInput(path string) ([]inputFile, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if !st.IsDir() {
		return []inputFile{{name: filepath.Base(path), path: path, size: st.Size()}}, nil
	}
	entries, err := os.ReadDir(path)
	if err != nil {
		return nil, err
	}
	var files []inputFile
	for _, e := range entries {
		name := e.Name()
		json, ndjson := strings.HasSuffix(name, ".json"), strings.HasSuffix(name, ".ndjson")
		if e.IsDir() || (!json && !ndjson) || strings.HasPrefix(name, ".") {
			continue
		}
		info, err := e.Info()
		if err != nil {
			return nil, err
		}
		if !info.Mode().IsRegular() {
			continue
		}
		files = append(files, inputFile{name: name, path: filepath.Join(path, name), size: info.Size(), whole: json})
	}
	slices.SortFunc(files, func(a, b inputFile) int { return strings.Compare(a.name, b.name) })
	return files, nil
}

// item is one record read from the input, or a line that is not one.
type item struct {
	file string
	line int // 1-based; a .json file's records are on line 1
	// end is the offset in file after the record: where a resume starts
	// once it is acknowledged.
	end int64
	// failed is set for a record that is not sent: too large, not JSON.
	failed *Entry
}

// source reads the input's records in order, from a position.
type source struct {
	files     []inputFile
	maxRecord int
	idx       int // the file being read
	f         *os.File
	r         *bufio.Reader
	// offset and line are where the next read starts in files[idx].
	offset int64
	line   int
}

// newSource opens files at the position pos (the start when pos.File is
// "").
func newSource(files []inputFile, pos Position, maxRecord int) (*source, error) {
	s := &source{files: files, maxRecord: maxRecord}
	if pos.File == "" {
		return s, nil
	}
	s.idx = slices.IndexFunc(files, func(f inputFile) bool { return f.name == pos.File })
	if s.idx < 0 {
		return nil, fmt.Errorf("the progress names %s, which the input no longer has (use --restart to start over)", pos.File)
	}
	if pos.Offset > files[s.idx].size {
		return nil, fmt.Errorf("the progress is at byte %d of %s, which now has %d (the file changed; use --restart to start over)", pos.Offset, pos.File, files[s.idx].size)
	}
	s.offset, s.line = pos.Offset, pos.Line
	return s, nil
}

func (s *source) close() {
	if s.f != nil {
		s.f.Close()
		s.f = nil
	}
}

// done reports the bytes of the input behind the read position.
func (s *source) done() int64 {
	var n int64
	for _, f := range s.files[:min(s.idx, len(s.files))] {
		n += f.size
	}
	return n + s.offset
}

// next appends the next record to body and describes it; io.EOF at the
// end of the input. A record that cannot be sent leaves body as it was and
// comes back with failed set.
func (s *source) next(body *bytes.Buffer) (item, error) {
	for s.idx < len(s.files) {
		file := s.files[s.idx]
		if s.offset >= file.size && (file.whole || s.f == nil) {
			if err := s.nextFile(); err != nil {
				return item{}, err
			}
			continue
		}
		if s.f == nil {
			f, err := os.Open(file.path)
			if err != nil {
				return item{}, err
			}
			if _, err := f.Seek(s.offset, io.SeekStart); err != nil {
				f.Close()
				return item{}, err
			}
			s.f, s.r = f, bufio.NewReaderSize(f, 256<<10)
		}
		if file.whole {
			return s.wholeFile(body, file)
		}
		it, ok, err := s.line1(body, file)
		if err != nil || ok {
			return it, err
		}
		// End of the file (or a blank line at its end): on to the next.
		if s.offset >= file.size {
			if err := s.nextFile(); err != nil {
				return item{}, err
			}
		}
	}
	return item{}, io.EOF
}

func (s *source) nextFile() error {
	s.close()
	s.idx++
	s.offset, s.line = 0, 0
	return nil
}

// line1 reads lines until a non-blank one (ok) or the end of the file.
func (s *source) line1(body *bytes.Buffer, file inputFile) (item, bool, error) {
	for {
		start := body.Len()
		n, size, err := s.readLine(body)
		if n == 0 && errors.Is(err, io.EOF) {
			s.offset = file.size
			return item{}, false, nil
		}
		if err != nil && !errors.Is(err, io.EOF) {
			return item{}, false, err
		}
		s.offset += int64(n)
		s.line++
		it := item{file: file.name, line: s.line, end: s.offset}
		// The line as read, without its end and surrounding blanks.
		rec := bytes.TrimSpace(body.Bytes()[start:])
		switch {
		case size > s.maxRecord:
			body.Truncate(start)
			it.failed = &Entry{Status: StatusFailed, Code: CodeTooLarge, Reason: fmt.Sprintf("the line is %d bytes, above the limit of %d", size, s.maxRecord)}
			return it, true, nil
		case len(rec) == 0:
			body.Truncate(start)
			if errors.Is(err, io.EOF) {
				s.offset = file.size
				return item{}, false, nil
			}
			continue
		}
		trimmed := len(rec)
		copy(body.Bytes()[start:], rec)
		body.Truncate(start + trimmed)
		body.WriteByte('\n')
		return it, true, nil
	}
}

// readLine appends the next line (without its newline) to body, keeping at
// most maxRecord bytes of it; n is the bytes consumed, size the line's
// length.
func (s *source) readLine(body *bytes.Buffer) (n, size int, err error) {
	for {
		chunk, err := s.r.ReadSlice('\n')
		n += len(chunk)
		data := bytes.TrimSuffix(chunk, []byte("\n"))
		size += len(data)
		if size <= s.maxRecord {
			body.Write(data)
		}
		switch {
		case err == nil:
			return n, size, nil
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		default:
			return n, size, err
		}
	}
}

// wholeFile reads a .json file as one record, compacted to one line.
func (s *source) wholeFile(body *bytes.Buffer, file inputFile) (item, error) {
	defer s.close()
	s.offset, s.line = file.size, 1
	it := item{file: file.name, line: 1, end: file.size}
	if file.size > int64(s.maxRecord) {
		it.failed = &Entry{Status: StatusFailed, Code: CodeTooLarge, Reason: fmt.Sprintf("the file is %d bytes, above the limit of %d", file.size, s.maxRecord)}
		return it, nil
	}
	data, err := io.ReadAll(io.LimitReader(s.r, int64(s.maxRecord)+1))
	if err != nil {
		return item{}, err
	}
	start := body.Len()
	if err := json.Compact(body, data); err != nil {
		body.Truncate(start)
		it.failed = &Entry{Status: StatusFailed, Code: CodeInvalid, Reason: "the file is not JSON: " + err.Error()}
		return it, nil
	}
	body.WriteByte('\n')
	return it, nil
}

// countRecords counts the records of files (non-blank lines; one per .json
// file), reading with a small buffer, so that progress can say how many
// there are. It stops early when stop is closed.
func countRecords(files []inputFile, stop <-chan struct{}) (int, error) {
	total := 0
	buf := make([]byte, 256<<10)
	for _, file := range files {
		if file.whole {
			total++
			continue
		}
		f, err := os.Open(file.path)
		if err != nil {
			return 0, err
		}
		blank := true // the line so far holds only blanks
		for {
			select {
			case <-stop:
				f.Close()
				return 0, errors.New("stopped")
			default:
			}
			n, err := f.Read(buf)
			for _, c := range buf[:n] {
				switch c {
				case '\n':
					if !blank {
						total++
					}
					blank = true
				case ' ', '\t', '\r':
				default:
					blank = false
				}
			}
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				f.Close()
				return 0, err
			}
		}
		if !blank {
			total++
		}
		f.Close()
	}
	return total, nil
}
