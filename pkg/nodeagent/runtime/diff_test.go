package runtime

import "testing"

func TestUnifiedDiff(t *testing.T) {
	cases := []struct {
		name, old, new, want string
	}{
		{name: "equal", old: "a\nb\n", new: "a\nb\n", want: ""},
		{
			name: "from empty", old: "", new: "a\nb\n",
			want: "--- old\n+++ new\n@@ -0,0 +1,2 @@\n+a\n+b\n",
		},
		{
			name: "one line changed in the middle",
			old:  "1\n2\n3\n4\n5\n6\n7\n8\n9\n",
			new:  "1\n2\n3\n4\nfive\n6\n7\n8\n9\n",
			want: "--- old\n+++ new\n@@ -2,7 +2,7 @@\n 2\n 3\n 4\n-5\n+five\n 6\n 7\n 8\n",
		},
		{
			name: "two distant changes make two hunks",
			old:  "a\n1\n2\n3\n4\n5\n6\n7\n8\nb\n",
			new:  "A\n1\n2\n3\n4\n5\n6\n7\n8\nB\n",
			want: "--- old\n+++ new\n@@ -1,4 +1,4 @@\n-a\n+A\n 1\n 2\n 3\n@@ -7,4 +7,4 @@\n 6\n 7\n 8\n-b\n+B\n",
		},
		{
			name: "close changes share a hunk",
			old:  "a\n1\n2\n3\nb\n",
			new:  "A\n1\n2\n3\nB\n",
			want: "--- old\n+++ new\n@@ -1,5 +1,5 @@\n-a\n+A\n 1\n 2\n 3\n-b\n+B\n",
		},
		{
			name: "append at end",
			old:  "{\n}\n",
			new:  "{\n  \"x\": 1\n}\n",
			want: "--- old\n+++ new\n@@ -1,2 +1,3 @@\n {\n+  \"x\": 1\n }\n",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := UnifiedDiff("old", "new", []byte(tc.old), []byte(tc.new))
			if got != tc.want {
				t.Fatalf("got\n%s\nwant\n%s", got, tc.want)
			}
		})
	}
}

func BenchmarkUnifiedDiff(b *testing.B) {
	out, _, err := PlanContainerd([]byte(containerdV2), RuntimeSpec{})
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		UnifiedDiff("a", "b", []byte(containerdV2), out)
	}
}
