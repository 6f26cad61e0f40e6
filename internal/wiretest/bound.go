package wiretest

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-logr/logr"
	"k8s.io/apimachinery/pkg/util/wait"
)

// A server of gpuplane's programs listens on the address it is given and
// logs the address it bound under the key "address". Given port 0, the
// kernel picks a free port at once and a test reads it back from the log:
// unlike a port found free and then handed over, nothing can take it in
// between.

// BoundLog is a logger that passes everything on to another and notes
// every address logged, by message, for a program run in the test's
// process.
type BoundLog struct {
	mu    sync.Mutex
	addrs map[string]string
}

// NewBoundLog returns a BoundLog and the logger to run the program with;
// its records go on to next.
func NewBoundLog(next logr.Logger) (*BoundLog, logr.Logger) {
	b := &BoundLog{addrs: map[string]string{}}
	return b, logr.New(boundSink{b: b, next: next.GetSink()})
}

func (b *BoundLog) note(msg string, kv []any) {
	for i := 0; i+1 < len(kv); i += 2 {
		if k, _ := kv[i].(string); k == "address" {
			if v, ok := kv[i+1].(string); ok {
				b.mu.Lock()
				b.addrs[msg] = v
				b.mu.Unlock()
			}
		}
	}
}

func (b *BoundLog) lookup(msg string) (string, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	addr, ok := b.addrs[msg]
	return addr, ok
}

// Addr waits up to limit for a record with message msg and an address, and
// returns the address; it fails t when none comes. exited, when not nil,
// ends the wait early: the program stopped without serving.
func (b *BoundLog) Addr(t testing.TB, msg string, exited <-chan struct{}, limit time.Duration) string {
	t.Helper()
	addr, err := waitAddr(exited, limit, func() (string, bool) { return b.lookup(msg) })
	if err != nil {
		t.Fatalf("no %q logged with its address: %v", msg, err)
	}
	return addr
}

// boundSink is the logr.LogSink of a BoundLog.
type boundSink struct {
	b    *BoundLog
	next logr.LogSink // nil: logr.Discard
}

func (s boundSink) Init(info logr.RuntimeInfo) {
	if s.next != nil {
		s.next.Init(info)
	}
}

// Enabled is true at level 0, where the servers log their addresses, even
// when next is quieter.
func (s boundSink) Enabled(level int) bool {
	return level == 0 || (s.next != nil && s.next.Enabled(level))
}

func (s boundSink) Info(level int, msg string, kv ...any) {
	if level == 0 {
		s.b.note(msg, kv)
	}
	if s.next != nil && s.next.Enabled(level) {
		s.next.Info(level, msg, kv...)
	}
}

func (s boundSink) Error(err error, msg string, kv ...any) {
	if s.next != nil {
		s.next.Error(err, msg, kv...)
	}
}

func (s boundSink) WithValues(kv ...any) logr.LogSink {
	if s.next != nil {
		s.next = s.next.WithValues(kv...)
	}
	return s
}

func (s boundSink) WithName(name string) logr.LogSink {
	if s.next != nil {
		s.next = s.next.WithName(name)
	}
	return s
}

// LoggedAddr waits up to limit for a line of the log file at path, from
// byte offset from on, that holds message msg and an address, as klog's
// text format writes them (`"msg" ... address="host:port"`) or slog's text
// handler does (`msg="msg" ... address=host:port`), and returns the address. A program restarted on the same log appends to it: from,
// the log's size before the start, skips what earlier runs wrote. exited,
// when not nil, ends the wait early: the program stopped without serving.
func LoggedAddr(path string, from int64, msg string, exited <-chan struct{}, limit time.Duration) (string, error) {
	re := regexp.MustCompile(regexp.QuoteMeta(`"`+msg+`"`) + `.*\baddress="?([^"\s]+)`)
	addr, err := waitAddr(exited, limit, func() (string, bool) { return firstMatch(path, from, re) })
	if err != nil {
		return "", fmt.Errorf("%s: no %q logged with its address: %w", path, msg, err)
	}
	return addr, nil
}

// firstMatch returns the first group of re in the first line of path,
// from byte offset from on, that it matches.
func firstMatch(path string, from int64, re *regexp.Regexp) (string, bool) {
	f, err := os.Open(path)
	if err != nil {
		return "", false
	}
	defer f.Close()
	if _, err := f.Seek(from, io.SeekStart); err != nil {
		return "", false
	}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if !strings.Contains(line, "address=") {
			continue
		}
		if m := re.FindStringSubmatch(line); m != nil {
			return m[1], true
		}
	}
	return "", false
}

// errExited ends a wait for an address whose program has stopped.
var errExited = errors.New("the program exited before it logged the address")

// waitAddr polls find until it has an address, exited closes or limit
// passes.
func waitAddr(exited <-chan struct{}, limit time.Duration, find func() (string, bool)) (string, error) {
	var addr string
	err := wait.PollUntilContextTimeout(context.Background(), 20*time.Millisecond, limit, true,
		func(context.Context) (bool, error) {
			a, ok := find()
			if ok {
				addr = a
				return true, nil
			}
			select {
			case <-exited:
				return false, errExited
			default:
				return false, nil
			}
		})
	return addr, err
}
