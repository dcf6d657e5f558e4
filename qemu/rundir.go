package qemu

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	"specbed/internal/cachedir"
)

// A run directory (cache/run/<id>/) holds a guest's console log and
// guest.json, which describes the guest so that another process
// ('specbed console') can find and follow it. The directory is removed
// when the run succeeds (unless Config.KeepLog) and kept, marked
// finished, when it fails: errors point at its log.
const (
	guestFile   = "guest.json"
	consoleFile = "console.log"
)

// Guest states in guest.json.
const (
	StateRunning  = "running"
	StateFinished = "finished"
)

// GuestInfo is the content of guest.json.
type GuestInfo struct {
	ID          string    `json:"id"`
	Platform    string    `json:"platform"`
	Mode        Mode      `json:"mode"`
	IcountShift int       `json:"icount_shift"`
	QEMUPID     int       `json:"qemu_pid"`
	Started     time.Time `json:"started"`
	State       string    `json:"state"`
	// Outcome is "ok" or the error, once finished.
	Outcome string `json:"outcome,omitempty"`
	Log     string `json:"log"`
	// Command is the QEMU command line.
	Command []string `json:"command"`
}

// Alive reports whether the guest is running: its record says so and its
// QEMU process exists (a killed specbed leaves a stale record).
func (g GuestInfo) Alive() bool {
	if g.State != StateRunning || g.QEMUPID <= 0 {
		return false
	}
	return syscall.Kill(g.QEMUPID, 0) == nil
}

// DefaultRunRoot is cache/run.
func DefaultRunRoot() (string, error) {
	cache, err := cachedir.Root()
	if err != nil {
		return "", err
	}
	return filepath.Join(cache, "run"), nil
}

func writeGuestInfo(dir string, g GuestInfo) error {
	data, err := json.MarshalIndent(g, "", "  ")
	if err != nil {
		return err
	}
	tmp := filepath.Join(dir, guestFile+".tmp")
	if err := os.WriteFile(tmp, append(data, '\n'), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, filepath.Join(dir, guestFile))
}

func readGuestInfo(dir string) (GuestInfo, error) {
	var g GuestInfo
	data, err := os.ReadFile(filepath.Join(dir, guestFile))
	if err != nil {
		return g, err
	}
	if err := json.Unmarshal(data, &g); err != nil {
		return g, fmt.Errorf("%s: %w", filepath.Join(dir, guestFile), err)
	}
	return g, nil
}

// ListGuests returns the guests recorded under runRoot, running or kept,
// oldest first. A missing runRoot has none.
func ListGuests(runRoot string) ([]GuestInfo, error) {
	entries, err := os.ReadDir(runRoot)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var guests []GuestInfo
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		g, err := readGuestInfo(filepath.Join(runRoot, e.Name()))
		if err != nil {
			// Being created or removed right now.
			continue
		}
		guests = append(guests, g)
	}
	sort.Slice(guests, func(i, j int) bool { return guests[i].Started.Before(guests[j].Started) })
	return guests, nil
}

// FindGuest returns the guest whose id is id or starts with it.
func FindGuest(runRoot, id string) (GuestInfo, error) {
	guests, err := ListGuests(runRoot)
	if err != nil {
		return GuestInfo{}, err
	}
	var found []GuestInfo
	for _, g := range guests {
		if g.ID == id {
			return g, nil
		}
		if strings.HasPrefix(g.ID, id) {
			found = append(found, g)
		}
	}
	switch len(found) {
	case 0:
		return GuestInfo{}, fmt.Errorf("no guest %q in %s: run 'specbed console' to list running guests", id, runRoot)
	case 1:
		return found[0], nil
	}
	var ids []string
	for _, g := range found {
		ids = append(ids, g.ID)
	}
	return GuestInfo{}, fmt.Errorf("guest %q is ambiguous: %s", id, strings.Join(ids, ", "))
}

// followPoll is how often FollowConsole looks for new console output.
const followPoll = 100 * time.Millisecond

// FollowConsole copies the guest's console log to w from its first byte,
// then follows it while the guest runs, like tail -f. It returns when the
// guest has finished and everything is copied, or when ctx ends.
func FollowConsole(ctx context.Context, runRoot, id string, w io.Writer) error {
	g, err := FindGuest(runRoot, id)
	if err != nil {
		return err
	}
	dir := filepath.Join(runRoot, g.ID)
	f, err := os.Open(g.Log)
	if err != nil {
		return fmt.Errorf("console of %s: %w", g.ID, err)
	}
	defer f.Close()
	tick := time.NewTicker(followPoll)
	defer tick.Stop()
	for {
		if _, err := io.Copy(w, f); err != nil {
			return fmt.Errorf("console of %s: %w", g.ID, err)
		}
		if !g.Alive() {
			// One more copy: output written before the state changed.
			_, err := io.Copy(w, f)
			return err
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
		if latest, err := readGuestInfo(dir); err == nil {
			g = latest
		} else {
			// The run succeeded and its directory is gone.
			g.State = StateFinished
		}
	}
}
