package backfill

import (
	"fmt"
	"strings"
	"time"
)

// The progress display: on a terminal one line rewritten (\r) a few times
// a second, otherwise a line every ProgressEvery; and a last line at the
// end. It shows the records done and the total (once counted), the rate of
// this run, the time left (from the bytes left at this run's speed) and
// the outcomes.

// terminalEvery is how often a terminal's line is rewritten.
const terminalEvery = 250 * time.Millisecond

func (r *run) startDisplay() {
	r.stopDisplay, r.displayDone = make(chan struct{}), make(chan struct{})
	go func() {
		total, err := countRecords(r.files, r.stopDisplay)
		if err == nil {
			r.mu.Lock()
			r.total = total
			r.mu.Unlock()
		}
	}()
	if r.cfg.Progress == nil {
		close(r.displayDone)
		return
	}
	every := r.cfg.ProgressEvery
	if r.cfg.Terminal {
		every = terminalEvery
	}
	go func() {
		defer close(r.displayDone)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				r.show(false)
			case <-r.stopDisplay:
				return
			}
		}
	}()
}

func (r *run) stopDisplayLoop() {
	close(r.stopDisplay)
	<-r.displayDone
	r.show(true)
}

// notef writes a note (a retried batch) on a line of its own.
func (r *run) notef(format string, args ...any) {
	if r.cfg.Progress == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cfg.Terminal {
		fmt.Fprint(r.cfg.Progress, "\r\033[K")
	}
	fmt.Fprintf(r.cfg.Progress, "backfill: "+format+"\n", args...)
}

// show writes the progress line; last ends it.
func (r *run) show(last bool) {
	if r.cfg.Progress == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	c := r.prog.Counts // read between batches' updates: a line may lag one batch
	done := c.done()
	elapsed := r.cfg.Now().Sub(r.start)
	var b strings.Builder
	b.WriteString("backfill: ")
	if r.total >= 0 {
		fmt.Fprintf(&b, "%d/%d records", done, r.total)
		if r.total > 0 {
			fmt.Fprintf(&b, " (%.1f%%)", 100*float64(done)/float64(r.total))
		}
	} else {
		fmt.Fprintf(&b, "%d records", done)
	}
	if secs := elapsed.Seconds(); secs > 0 {
		fmt.Fprintf(&b, ", %.1f/s", float64(done-r.startDone)/secs)
		if moved := r.doneBytes - r.startBytes; moved > 0 && !last {
			left := time.Duration(float64(r.totalBytes-r.doneBytes) / (float64(moved) / secs) * float64(time.Second))
			fmt.Fprintf(&b, ", ETA %s", left.Round(time.Second))
		}
	}
	fmt.Fprintf(&b, "; accepted %d, skipped %d, duplicates %d, failed %d", c.Accepted, c.SkippedByRules, c.Duplicates, c.Failed)
	if r.lastWaiting > 0 {
		fmt.Fprintf(&b, "; %d waiting for MOSIP in the mediator", r.lastWaiting)
	}
	switch {
	case r.cfg.Terminal && !last:
		fmt.Fprint(r.cfg.Progress, "\r\033[K"+b.String())
	case r.cfg.Terminal:
		fmt.Fprint(r.cfg.Progress, "\r\033[K"+b.String()+"\n")
	default:
		fmt.Fprintln(r.cfg.Progress, b.String())
	}
}
