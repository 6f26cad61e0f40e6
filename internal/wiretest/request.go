package wiretest

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

// Send makes one request with client and returns the status code and the
// whole answer; contentType is left out when empty. Any failure to send or
// read fails the test: the wire tests judge the answer, not the transport.
func Send(t testing.TB, client *http.Client, method, url, contentType, body string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	answer, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: reading the answer: %v", method, url, err)
	}
	return resp.StatusCode, answer
}
