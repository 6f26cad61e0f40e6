package program

import (
	"bytes"
	"context"
	"reflect"
	"strings"
	"testing"
)

func TestSubcommands(t *testing.T) {
	record := func(name string) (Command, *[]string) {
		var got []string
		return func(_ context.Context, args []string, streams Streams) int {
			got = append([]string{name}, args...)
			return len(args)
		}, &got
	}
	def, defGot := record("default")
	sub, subGot := record("sub")
	cmd := Subcommands(def, map[string]Command{"sub": sub})
	tests := []struct {
		args []string
		want []string
		of   *[]string
	}{
		{args: nil, want: []string{"default"}, of: defGot},
		{args: []string{"--flag", "sub"}, want: []string{"default", "--flag", "sub"}, of: defGot},
		{args: []string{"other"}, want: []string{"default", "other"}, of: defGot},
		{args: []string{"sub", "-x", "y"}, want: []string{"sub", "-x", "y"}, of: subGot},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			*defGot, *subGot = nil, nil
			code := cmd(context.Background(), tt.args, Streams{Out: &bytes.Buffer{}, Err: &bytes.Buffer{}})
			if !reflect.DeepEqual(*tt.of, tt.want) || code != len(tt.want)-1 {
				t.Errorf("ran %q (exit %d), want %q", *tt.of, code, tt.want)
			}
		})
	}
}
