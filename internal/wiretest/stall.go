package wiretest

import (
	"bufio"
	"errors"
	"io"
	"net"
	"time"
)

// Stall writes sent on conn (nothing when empty), then reads until the
// server closes the connection (closed) or limit passes. It returns what the
// server sent before closing, such as a 408 or a 400: a server that cuts a
// slow or idle client is one that answers closed within its timeouts. The
// caller owns conn and closes it.
func Stall(conn net.Conn, sent string, limit time.Duration) (answer []byte, closed bool, err error) {
	if sent != "" {
		if _, err := io.WriteString(conn, sent); err != nil {
			return nil, false, err
		}
	}
	if err := conn.SetDeadline(time.Now().Add(limit)); err != nil {
		return nil, false, err
	}
	answer, err = io.ReadAll(bufio.NewReader(conn))
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return answer, false, nil
	}
	return answer, true, nil
}

// DialStall dials addr over TCP and stalls on the connection as Stall does.
func DialStall(addr, sent string, limit time.Duration) (answer []byte, closed bool, err error) {
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return nil, false, err
	}
	defer conn.Close()
	return Stall(conn, sent, limit)
}
