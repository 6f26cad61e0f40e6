package runtime

import (
	"fmt"
	"strings"
)

// diffContext is the number of unchanged lines shown around a change.
const diffContext = 3

// maxDiffCells bounds the LCS table; configuration files are a few hundred
// lines, and a pathological pair falls back to "all removed, all added".
const maxDiffCells = 4 << 20

// UnifiedDiff returns a unified diff of two texts labelled oldName and
// newName, or "" when they are equal. Lines are compared exactly.
func UnifiedDiff(oldName, newName string, oldText, newText []byte) string {
	if string(oldText) == string(newText) {
		return ""
	}
	a, b := splitLines(string(oldText)), splitLines(string(newText))
	ops := diffLines(a, b)
	var out strings.Builder
	fmt.Fprintf(&out, "--- %s\n+++ %s\n", oldName, newName)
	for _, h := range hunks(ops) {
		fmt.Fprintf(&out, "@@ -%s +%s @@\n", hunkRange(h.aStart, h.aLen), hunkRange(h.bStart, h.bLen))
		for _, op := range h.ops {
			out.WriteByte(op.kind)
			out.WriteString(op.line)
			out.WriteByte('\n')
		}
	}
	return out.String()
}

func splitLines(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(strings.TrimSuffix(s, "\n"), "\n")
}

type diffOp struct {
	kind byte // ' ', '-' or '+'
	line string
}

// diffLines is a longest-common-subsequence diff; quadratic, which is fine
// for configuration files and bounded by maxDiffCells.
func diffLines(a, b []string) []diffOp {
	n, m := len(a), len(b)
	if n*m > maxDiffCells {
		ops := make([]diffOp, 0, n+m)
		for _, l := range a {
			ops = append(ops, diffOp{'-', l})
		}
		for _, l := range b {
			ops = append(ops, diffOp{'+', l})
		}
		return ops
	}
	// lcs[i][j] is the LCS length of a[i:] and b[j:].
	lcs := make([][]int32, n+1)
	for i := range lcs {
		lcs[i] = make([]int32, m+1)
	}
	for i := n - 1; i >= 0; i-- {
		for j := m - 1; j >= 0; j-- {
			if a[i] == b[j] {
				lcs[i][j] = lcs[i+1][j+1] + 1
			} else {
				lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
			}
		}
	}
	ops := make([]diffOp, 0, n+m)
	i, j := 0, 0
	for i < n && j < m {
		switch {
		case a[i] == b[j]:
			ops = append(ops, diffOp{' ', a[i]})
			i++
			j++
		case lcs[i+1][j] >= lcs[i][j+1]:
			ops = append(ops, diffOp{'-', a[i]})
			i++
		default:
			ops = append(ops, diffOp{'+', b[j]})
			j++
		}
	}
	for ; i < n; i++ {
		ops = append(ops, diffOp{'-', a[i]})
	}
	for ; j < m; j++ {
		ops = append(ops, diffOp{'+', b[j]})
	}
	return ops
}

type hunk struct {
	aStart, aLen, bStart, bLen int // 1-based starts, as unified diffs count
	ops                        []diffOp
}

// hunks groups changes with diffContext lines around them, merging groups
// whose context would overlap.
func hunks(ops []diffOp) []hunk {
	var out []hunk
	aLine, bLine := make([]int, len(ops)), make([]int, len(ops))
	ai, bi := 0, 0
	for k, op := range ops {
		aLine[k], bLine[k] = ai, bi
		if op.kind != '+' {
			ai++
		}
		if op.kind != '-' {
			bi++
		}
	}
	for k := 0; k < len(ops); {
		if ops[k].kind == ' ' {
			k++
			continue
		}
		start := max(0, k-diffContext)
		end := k
		for end < len(ops) {
			if ops[end].kind != ' ' {
				end++
				continue
			}
			// Look ahead: another change within 2*context joins this hunk.
			next := end
			for next < len(ops) && ops[next].kind == ' ' && next-end < 2*diffContext {
				next++
			}
			if next < len(ops) && ops[next].kind != ' ' {
				end = next
				continue
			}
			end = min(len(ops), end+diffContext)
			break
		}
		h := hunk{aStart: aLine[start] + 1, bStart: bLine[start] + 1, ops: ops[start:end]}
		for _, op := range h.ops {
			if op.kind != '+' {
				h.aLen++
			}
			if op.kind != '-' {
				h.bLen++
			}
		}
		out = append(out, h)
		k = end
	}
	return out
}

// hunkRange formats a range as unified diffs do: an empty range names the
// line before it.
func hunkRange(start, length int) string {
	if length == 0 {
		return fmt.Sprintf("%d,0", start-1)
	}
	if length == 1 {
		return fmt.Sprintf("%d", start)
	}
	return fmt.Sprintf("%d,%d", start, length)
}
