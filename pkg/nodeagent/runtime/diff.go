package runtime

import (
	"fmt"
	"strings"

	"github.com/pmezard/go-difflib/difflib"
)

// diffContext is the number of unchanged lines shown around a change.
const diffContext = 3

// UnifiedDiff returns a unified diff of two texts labelled oldName and
// newName, or "" when they are equal. Lines are compared exactly.
func UnifiedDiff(oldName, newName string, oldText, newText []byte) string {
	if string(oldText) == string(newText) {
		return ""
	}
	d, err := difflib.GetUnifiedDiffString(difflib.UnifiedDiff{
		A:        splitLines(string(oldText)),
		B:        splitLines(string(newText)),
		FromFile: oldName,
		ToFile:   newName,
		Context:  diffContext,
	})
	if err != nil {
		// difflib fails only when writing to its buffer fails.
		return fmt.Sprintf("--- %s\n+++ %s\n(no diff: %v)\n", oldName, newName, err)
	}
	return d
}

// splitLines splits s into lines that each end in "\n", as difflib wants
// them; difflib's own SplitLines adds an empty last line to a text that
// ends in a newline, as files do.
func splitLines(s string) []string {
	if s == "" {
		return nil
	}
	lines := strings.SplitAfter(s, "\n")
	last := len(lines) - 1
	if lines[last] == "" {
		return lines[:last]
	}
	lines[last] += "\n"
	return lines
}
