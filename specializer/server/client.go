package server

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"time"
)

// Fetch sends req on conn and reads the response: one exchange, as the
// protocol has one request per connection (Fetch does not close conn).
// ctx's deadline becomes conn's; cancelling ctx unblocks it. A non-OK
// status is a *Response, not an error: see Response.Err.
func Fetch(ctx context.Context, conn net.Conn, req *Request) (*Response, error) {
	b, err := AppendRequest(nil, req)
	if err != nil {
		return nil, err
	}
	if d, ok := ctx.Deadline(); ok {
		conn.SetDeadline(d)
	}
	// A past deadline wakes any blocked read or write.
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	if _, err := conn.Write(b); err != nil {
		return nil, fetchErr(ctx, "send request", err)
	}
	resp, err := ReadResponse(bufio.NewReader(conn))
	if err != nil {
		return nil, fetchErr(ctx, "read response", err)
	}
	return resp, nil
}

func fetchErr(ctx context.Context, what string, err error) error {
	if ctx.Err() != nil {
		return fmt.Errorf("fetch: %s: %w", what, ctx.Err())
	}
	return fmt.Errorf("fetch: %s: %w", what, err)
}
