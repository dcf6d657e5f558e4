package vnet

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"
)

// httpExchangeTimeout bounds one connection of an HTTP client (host wall
// time): a guest under TCG serving a hundred queued connections one after
// another answers the last one seconds after it connected.
const httpExchangeTimeout = 2 * time.Minute

// httpRetryPause is how long a client waits after a failed connection
// before the next one, so that clients of a server that stopped do not
// spin.
const httpRetryPause = 100 * time.Millisecond

// HTTPLoad keeps concurrent HTTP/1.0 clients busy on a host: each one
// connects, sends a GET, reads the response to the end of the connection,
// closes, and starts over until Stop. It is the load of figure 1's
// profile (the paper's web server under 100 concurrent connections).
type HTTPLoad struct {
	cancel context.CancelFunc
	wg     sync.WaitGroup
	mu     sync.Mutex
	report HTTPLoadReport
}

// HTTPLoadReport is what the clients saw.
type HTTPLoadReport struct {
	// Responses were complete: status 200 and as many body bytes as the
	// Content-Length said.
	Responses int `json:"responses"`
	// BodyBytes is the body bytes of those responses.
	BodyBytes int64 `json:"body_bytes"`
	// Failures are connections refused, reset or cut short (a server
	// that ends resets the connections still queued for it).
	Failures int `json:"failures"`
	// FirstFailure is the first failure's error, "" without one.
	FirstFailure string `json:"first_failure,omitempty"`
}

// StartHTTPLoad starts clients clients on h against addr ("10.2.0.2:80").
func StartHTTPLoad(ctx context.Context, h *Host, addr string, clients int) *HTTPLoad {
	ctx, cancel := context.WithCancel(ctx)
	l := &HTTPLoad{cancel: cancel}
	l.wg.Add(clients)
	for range clients {
		go func() {
			defer l.wg.Done()
			for ctx.Err() == nil {
				body, err := httpGet(ctx, h, addr)
				l.record(ctx, body, err)
				if err != nil {
					select {
					case <-time.After(httpRetryPause):
					case <-ctx.Done():
					}
				}
			}
		}()
	}
	return l
}

func (l *HTTPLoad) record(ctx context.Context, body int64, err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	switch {
	case err == nil:
		l.report.Responses++
		l.report.BodyBytes += body
	case ctx.Err() == nil: // not the Stop's own cut
		l.report.Failures++
		if l.report.FirstFailure == "" {
			l.report.FirstFailure = err.Error()
		}
	}
}

// Stop ends the clients (cutting their connections) and reports.
func (l *HTTPLoad) Stop() HTTPLoadReport {
	l.cancel()
	l.wg.Wait()
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.report
}

// httpGet makes one request on a connection of its own and returns the
// body's length in bytes.
func httpGet(ctx context.Context, h *Host, addr string) (int64, error) {
	ctx, cancel := context.WithTimeout(ctx, httpExchangeTimeout)
	defer cancel()
	c, err := h.Dial(ctx, "tcp", addr)
	if err != nil {
		return 0, err
	}
	stop := context.AfterFunc(ctx, func() { c.Close() })
	defer stop()
	defer c.Close()
	if _, err := io.WriteString(c, "GET / HTTP/1.0\r\nHost: guest\r\n\r\n"); err != nil {
		return 0, fmt.Errorf("http %s: request: %w", addr, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/", nil)
	if err != nil {
		return 0, err
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), req)
	if err != nil {
		return 0, fmt.Errorf("http %s: response: %w", addr, err)
	}
	defer resp.Body.Close()
	n, err := io.Copy(io.Discard, resp.Body)
	if err != nil {
		return n, fmt.Errorf("http %s: body after %d bytes: %w", addr, n, err)
	}
	if resp.StatusCode != http.StatusOK || (resp.ContentLength >= 0 && n != resp.ContentLength) {
		return n, fmt.Errorf("http %s: %s, %d of %d body bytes", addr, strings.TrimSpace(resp.Status), n, resp.ContentLength)
	}
	return n, nil
}
