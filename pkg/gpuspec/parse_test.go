package gpuspec

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

// acceptedCases covers every accepted row of SPEC §1, and the
// normalisations (case, spaces, full-width forms).
var acceptedCases = []struct {
	name  string
	in    string
	want  Request
	canon string
}{
	// N
	{"one card", "1", Request{Count: 1}, "1"},
	{"two cards", "2", Request{Count: 2}, "2"},
	{"most cards", "64", Request{Count: 64}, "64"},
	// N(TYPE)
	{"type", "2(V100)", Request{Count: 2, Names: []string{"V100"}}, "2(V100)"},
	{"type lower case kept as written", "1(t4)", Request{Count: 1, Names: []string{"t4"}}, "1(t4)"},
	{"alias with digits and dash", "1(A100-40GB)", Request{Count: 1, Names: []string{"A100-40GB"}}, "1(A100-40GB)"},
	{"trace model name", "1(V100M16)", Request{Count: 1, Names: []string{"V100M16"}}, "1(V100M16)"},
	{"name with dot and underscore", "1(Tesla_T4.x)", Request{Count: 1, Names: []string{"Tesla_T4.x"}}, "1(Tesla_T4.x)"},
	// N(T1|T2)
	{"alternatives in written order", "2(V100|A100)", Request{Count: 2, Names: []string{"V100", "A100"}}, "2(V100|A100)"},
	{"three alternatives", "4(H100|A100|V100)", Request{Count: 4, Names: []string{"H100", "A100", "V100"}}, "4(H100|A100|V100)"},
	// N(VGPU)
	{"vgpu card", "1(VGPU)", Request{Count: 1, VGPU: true}, "1(VGPU)"},
	{"vgpu lower case", "2(vgpu)", Request{Count: 2, VGPU: true}, "2(VGPU)"},
	{"vgpu cards of a type", "2(VGPU,T4)", Request{Count: 2, VGPU: true, Names: []string{"T4"}}, "2(VGPU,T4)"},
	{"vgpu after the type", "2(T4,VGPU)", Request{Count: 2, VGPU: true, Names: []string{"T4"}}, "2(VGPU,T4)"},
	{"vgpu cards with memory", "2(VGPU,8Gi)", Request{Count: 2, VGPU: true, MemoryBytes: 8 * GiB}, "2(VGPU,8Gi)"},
	// F, F(TYPE), F(VGPU)
	{"half a card", "0.5", Request{Hundredths: 50}, "0.5"},
	{"smallest share", "0.01", Request{Hundredths: 1}, "0.01"},
	{"largest share", "0.99", Request{Hundredths: 99}, "0.99"},
	{"share with trailing zeros", "0.500", Request{Hundredths: 50}, "0.5"},
	{"share of two digits", "0.25", Request{Hundredths: 25}, "0.25"},
	{"share of a type", "0.5(T4)", Request{Hundredths: 50, Names: []string{"T4"}}, "0.5(T4)"},
	{"share through vgpu", "0.5(VGPU)", Request{Hundredths: 50, VGPU: true}, "0.5(VGPU)"},
	{"share of alternatives", "0.3(T4|A10)", Request{Hundredths: 30, Names: []string{"T4", "A10"}}, "0.3(T4|A10)"},
	// …(TYPE,8Gi) / F(8Gi)
	{"share with memory", "0.5(T4,8Gi)", Request{Hundredths: 50, Names: []string{"T4"}, MemoryBytes: 8 * GiB}, "0.5(T4,8Gi)"},
	{"share with memory only", "0.5(8Gi)", Request{Hundredths: 50, MemoryBytes: 8 * GiB}, "0.5(8Gi)"},
	{"memory before the type", "0.5(8Gi,T4)", Request{Hundredths: 50, Names: []string{"T4"}, MemoryBytes: 8 * GiB}, "0.5(T4,8Gi)"},
	{"memory in Mi", "0.25(T4,2048Mi)", Request{Hundredths: 25, Names: []string{"T4"}, MemoryBytes: 2 * GiB}, "0.25(T4,2Gi)"},
	{"memory with decimals", "0.5(T4,1.5Gi)", Request{Hundredths: 50, Names: []string{"T4"}, MemoryBytes: 1536 * MiB}, "0.5(T4,1536Mi)"},
	{"memory in Ki", "0.5(2048Ki)", Request{Hundredths: 50, MemoryBytes: 2 * MiB}, "0.5(2Mi)"},
	{"memory unit lower case", "0.5(8gi)", Request{Hundredths: 50, MemoryBytes: 8 * GiB}, "0.5(8Gi)"},
	{"memory too big for a card is syntax-fine", "0.5(T4,1Ti)", Request{Hundredths: 50, Names: []string{"T4"}, MemoryBytes: TiB}, "0.5(T4,1Ti)"},
	{"memory at the limit", "0.5(64Ti)", Request{Hundredths: 50, MemoryBytes: MaxMemoryBytes}, "0.5(64Ti)"},
	{"everything", "0.25(nvidia,VGPU,T4|A10,4Gi)", Request{Hundredths: 25, VGPU: true, Scope: "nvidia", Names: []string{"T4", "A10"}, MemoryBytes: 4 * GiB}, "0.25(nvidia,VGPU,T4|A10,4Gi)"},
	// N(VENDOR), N(VENDOR,TYPE)
	{"vendor alone", "1(ascend)", Request{Count: 1, Names: []string{"ascend"}}, "1(ascend)"},
	{"vendor and type", "2(amd,MI250)", Request{Count: 2, Scope: "amd", Names: []string{"MI250"}}, "2(amd,MI250)"},
	{"vendor and alternatives", "2(amd,MI250|MI300X)", Request{Count: 2, Scope: "amd", Names: []string{"MI250", "MI300X"}}, "2(amd,MI250|MI300X)"},
	// 0
	{"no gpu", "0", Request{}, "0"},
	{"no gpu with spaces", " 0 ", Request{}, "0"},
	// case, spaces, full width
	{"spaces everywhere", " 2 ( V100 | A100 ) ", Request{Count: 2, Names: []string{"V100", "A100"}}, "2(V100|A100)"},
	{"tabs and newlines", "\t0.5\n(T4 ,\t8 Gi)\r\n", Request{Hundredths: 50, Names: []string{"T4"}, MemoryBytes: 8 * GiB}, "0.5(T4,8Gi)"},
	{"spaces inside a name are dropped", "1(V 100)", Request{Count: 1, Names: []string{"V100"}}, "1(V100)"},
	{"ideographic and no-break spaces", "\u30002\u00a0(V100)", Request{Count: 2, Names: []string{"V100"}}, "2(V100)"},
	{"full-width parentheses", "2（V100）", Request{Count: 2, Names: []string{"V100"}}, "2(V100)"},
	{"full-width comma", "2（amd，MI250）", Request{Count: 2, Scope: "amd", Names: []string{"MI250"}}, "2(amd,MI250)"},
	{"full-width bar", "2（V100｜A100）", Request{Count: 2, Names: []string{"V100", "A100"}}, "2(V100|A100)"},
	{"full-width letters and digits", "２（Ｖ１００）", Request{Count: 2, Names: []string{"V100"}}, "2(V100)"},
	{"mixed case vendor and vgpu", "1(NVIDIA,vGpU)", Request{Count: 1, VGPU: true, Names: []string{"NVIDIA"}}, "1(VGPU,NVIDIA)"},
}

func TestParseAccepted(t *testing.T) {
	for _, tc := range acceptedCases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Parse(tc.in)
			if err != nil {
				t.Fatalf("Parse(%q): %v", tc.in, err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("Parse(%q) = %#v, want %#v", tc.in, got, tc.want)
			}
			if s := got.String(); s != tc.canon {
				t.Errorf("String() = %q, want %q", s, tc.canon)
			}
			if err := got.Validate(); err != nil {
				t.Errorf("Validate: %v", err)
			}
			if got.IsNone() != (tc.canon == "0") {
				t.Errorf("IsNone() = %v", got.IsNone())
			}
		})
	}
}

func TestParseRoundTrip(t *testing.T) {
	for _, tc := range acceptedCases {
		t.Run(tc.name, func(t *testing.T) {
			first, err := Parse(tc.in)
			if err != nil {
				t.Fatal(err)
			}
			canon := first.String()
			second, err := Parse(canon)
			if err != nil {
				t.Fatalf("Parse(%q) of the canonical form: %v", canon, err)
			}
			if !reflect.DeepEqual(first, second) {
				t.Fatalf("round trip %q -> %q: %#v != %#v", tc.in, canon, second, first)
			}
			if again := second.String(); again != canon {
				t.Fatalf("String not stable: %q then %q", canon, again)
			}
		})
	}
}

// refusedCases are the refusals of SPEC §1 and of the decisions in doc.go,
// each with the whole message a user sees.
var refusedCases = []struct {
	name   string
	in     string
	class  error
	offset int
	part   string
	msg    string
}{
	{"fraction above one", "1.5", ErrRange, 0, "1.5",
		`"1.5": fractions must be below 1; ask for 2 cards or 0.5`},
	{"fraction far above one", "3.25(T4)", ErrRange, 0, "3.25",
		`"3.25(T4)": fractions must be below 1; ask for 4 cards or 0.25`},
	{"huge fraction", "1000.5", ErrRange, 0, "1000.5",
		`"1000.5": fractions must be below 1; ask for at most 64 whole cards, or a share of one card such as 0.5`},
	{"whole count with a point", "1.0", ErrSyntax, 0, "1.0",
		`"1.0": a whole count is written without a point; write 1`},
	{"negative", "-1", ErrRange, 0, "-1",
		`"-1": the amount is negative; write a count from 1 to 64, a share from 0.01 to 0.99, or 0 for no GPU`},
	{"negative share", "-0.5(T4)", ErrRange, 0, "-0.5",
		`"-0.5(T4)": the amount is negative; write a count from 1 to 64, a share from 0.01 to 0.99, or 0 for no GPU`},
	{"missing close", "2(V100", ErrSyntax, 6, "",
		`"2(V100": missing ")" for the "(" at offset 1; write 2(V100)`},
	{"missing close after comma", "0.5(T4,", ErrSyntax, 7, "",
		`"0.5(T4,": missing ")" for the "(" at offset 3; write 0.5(T4)`},
	{"missing close right after open", "2(", ErrSyntax, 2, "",
		`"2(": missing ")" for the "(" at offset 1; write 2`},
	{"finer than a hundredth", "0.125", ErrPrecision, 0, "0.125",
		`"0.125": a share finer than a hundredth of a card; vGPU cores are hundredths of a card: write 0.12 or 0.13`},
	{"finer than a hundredth near zero", "0.001", ErrPrecision, 0, "0.001",
		`"0.001": a share finer than a hundredth of a card; vGPU cores are hundredths of a card: write 0.01`},
	{"finer than a hundredth near one", "0.995", ErrPrecision, 0, "0.995",
		`"0.995": a share finer than a hundredth of a card; vGPU cores are hundredths of a card: write 0.99, or 1 for a whole card`},
	{"too many cards", "65", ErrRange, 0, "65",
		`"65": 65 cards is more than 64; ask for at most 64 whole cards; the scheduler also refuses more than any one node has`},
	{"far too many cards", "99999999999999999999999(V100)", ErrRange, 0, "99999999999999999999999",
		`"99999999999999999999999(V100)": 99999999999999999999999 cards is more than 64; ask for at most 64 whole cards; the scheduler also refuses more than any one node has`},
	{"leading zero", "02(V100)", ErrSyntax, 0, "02",
		`"02(V100)": a count is written without leading zeros; write 2(V100)`},
	{"only zeros", "00", ErrSyntax, 0, "00",
		`"00": a count is written without leading zeros; write 0`},
	{"share with leading zeros", "00.5", ErrSyntax, 0, "00.5",
		`"00.5": a share is written with a single 0 before the point; write 0.5`},
	{"no digit before point", ".5", ErrSyntax, 0, ".5",
		`".5": a share needs a digit before the point; write 0.5`},
	{"no digit after point", "0.", ErrSyntax, 0, "0.",
		`"0.": a share needs a digit after the point; write a share such as 0.5`},
	{"no digit after point of a count", "2.(V100)", ErrSyntax, 0, "2.",
		`"2.(V100)": a share needs a digit after the point; write a whole count such as 2, or a share such as 0.5`},
	{"zero share", "0.00", ErrRange, 0, "0.00",
		`"0.00": a share of 0 is no share; write 0 for no GPU, or a share from 0.01 to 0.99`},
	{"zero with a type", "0(T4)", ErrConflict, 0, "0(T4)",
		`"0(T4)": 0 means no GPU and takes nothing in parentheses; write 0 alone, or a count from 1 to 64 such as 1(T4)`},
	{"zero with vgpu", "0(VGPU)", ErrConflict, 0, "0(VGPU)",
		`"0(VGPU)": 0 means no GPU and takes nothing in parentheses; write 0 alone, or a count from 1 to 64 such as 1(VGPU)`},
	{"empty", "", ErrSyntax, 0, "",
		`"": the request is empty; ` + accepted},
	{"only spaces", "  \t ", ErrSyntax, 4, "",
		`"  \t ": the request is empty; ` + accepted},
	{"type without count", "V100", ErrSyntax, 0, "V100",
		`"V100": a request starts with a number, not "V100"; put the count first: 1(V100)`},
	{"type glued to count", "2V100", ErrSyntax, 1, "V100",
		`"2V100": expected "(" before "V100"; write 2(V100)`},
	{"close without open", "2)", ErrSyntax, 1, ")",
		`"2)": unexpected ")" at offset 1 without an opening "("; write e.g. 2(T4)`},
	{"stray character after amount", "2x", ErrSyntax, 1, "x",
		`"2x": expected "(" before "x"; write 2(x)`},
	{"second point", "0.5.1", ErrSyntax, 3, ".",
		`"0.5.1": unexpected "." at offset 3 after "0.5"; ` + accepted},
	{"plus sign", "+1", ErrSyntax, 0, "+",
		`"+1": unexpected "+" at offset 0; ` + accepted},
	{"text after close", "2(V100)x", ErrSyntax, 7, "x",
		`"2(V100)x": unexpected "x" at offset 7 after ")"; nothing may follow the closing parenthesis`},
	{"two groups", "2(V100)(A100)", ErrSyntax, 7, "(",
		`"2(V100)(A100)": unexpected "(" at offset 7 after ")"; nothing may follow the closing parenthesis`},
	{"nested parentheses", "2((V100))", ErrSyntax, 2, "(",
		`"2((V100))": unexpected "(" at offset 2; parentheses do not nest: write e.g. 2(V100|A100)`},
	{"empty parentheses", "2()", ErrSyntax, 1, "()",
		`"2()": the parentheses are empty; write 2 for any card, or name a type: 2(T4)`},
	{"empty field at the end", "2(V100,)", ErrSyntax, 7, ")",
		`"2(V100,)": empty field before ")" at offset 7; fields are separated by one comma, e.g. 0.5(T4,8Gi)`},
	{"empty field at the start", "2(,V100)", ErrSyntax, 2, ",",
		`"2(,V100)": empty field before "," at offset 2; fields are separated by one comma, e.g. 0.5(T4,8Gi)`},
	{"empty alternative", "2(V100||A100)", ErrSyntax, 7, "|",
		`"2(V100||A100)": empty alternative in "V100||A100"; alternatives are written T1|T2, e.g. 2(V100|A100)`},
	{"trailing bar", "2(V100|)", ErrSyntax, 7, ")",
		`"2(V100|)": empty alternative in "V100|"; alternatives are written T1|T2, e.g. 2(V100|A100)`},
	{"leading bar", "2(|V100)", ErrSyntax, 2, "|",
		`"2(|V100)": "|" at offset 2 has no name before it; alternatives are written T1|T2, e.g. 2(V100|A100)`},
	{"bad character in a name", "2(V100!)", ErrSyntax, 6, "!",
		`"2(V100!)": unexpected "!" at offset 6; a type name holds letters, digits, '-', '_' and '.'; fields are separated by commas`},
	{"name ends with a dash", "2(V100-)", ErrSyntax, 2, "V100-",
		`"2(V100-)": "V100-" is not a name: names end with a letter or digit; a type name is like V100, A100-40GB or V100M16`},
	{"alternative starts with a digit", "2(V100|100)", ErrSyntax, 7, "100",
		`"2(V100|100)": "100" is not a name: names start with a letter; a type name is like V100, A100-40GB or V100M16`},
	{"name too long", "1(" + strings.Repeat("A", 64) + ")", ErrSyntax, 2, strings.Repeat("A", 64),
		`"1(` + strings.Repeat("A", 62) + `…": "` + strings.Repeat("A", 64) + `" is not a name: names are at most 63 characters; a type name is like V100, A100-40GB or V100M16`},
	{"name twice", "2(V100|v100)", ErrConflict, 7, "v100",
		`"2(V100|v100)": "v100" is named twice; name each type once`},
	{"vgpu as alternative", "2(VGPU|T4)", ErrConflict, 2, "VGPU",
		`"2(VGPU|T4)": VGPU is not a type and cannot be an alternative; write N(VGPU) for vGPU cards, or N(VGPU,T4|A10) for vGPU cards of some types`},
	{"vgpu twice", "2(VGPU,vgpu)", ErrConflict, 7, "vgpu",
		`"2(VGPU,vgpu)": VGPU is written twice; write it once, e.g. 2(VGPU)`},
	{"three name fields", "2(amd,MI250,MI300X)", ErrConflict, 12, "MI300X",
		`"2(amd,MI250,MI300X)": a third name field "MI300X"; write at most a vendor and its types, e.g. 2(amd,MI250|MI300X); alternatives are joined by |, as in 2(V100|A100)`},
	{"vendor with alternatives", "2(amd|nvidia,MI250)", ErrConflict, 2, "amd|nvidia",
		`"2(amd|nvidia,MI250)": "amd|nvidia": the vendor before the comma is a single name; write 2(amd,MI250|MI300X) for types of one vendor, or 2(V100|A100) for alternatives`},
	{"memory for whole cards", "2(V100,8Gi)", ErrConflict, 7, "8Gi",
		`"2(V100,8Gi)": memory "8Gi" applies only to vGPU: a share or VGPU cards; write 2(V100) for whole cards, or 2(VGPU,V100,8Gi) for vGPU cards with that memory each`},
	{"memory for whole cards of a large type", "1(H100,80Gi)", ErrConflict, 7, "80Gi",
		`"1(H100,80Gi)": memory "80Gi" applies only to vGPU: a share or VGPU cards; write 1(H100) for whole cards, or 1(VGPU,H100,80Gi) for vGPU cards with that memory each`},
	{"memory for any whole cards", "3(amd,8Gi)", ErrConflict, 6, "8Gi",
		`"3(amd,8Gi)": memory "8Gi" applies only to vGPU: a share or VGPU cards; write 3(amd) for whole cards, or 3(VGPU,amd,8Gi) for vGPU cards with that memory each`},
	// A space inside a number is refused: "1 0" is a typo far more often
	// than ten cards.
	{"space inside the count", "1 0(V100)", ErrSyntax, 1, " ",
		`"1 0(V100)": a space inside the number "1 0"; a number is written without spaces: write 10(V100) or 1(V100)`},
	{"space inside a count joined too large", "6 5", ErrSyntax, 1, " ",
		`"6 5": a space inside the number "6 5"; a number is written without spaces: write 6`},
	{"tab inside the count", "1\t\t2", ErrSyntax, 1, "\t\t",
		`"1\t\t2": a space inside the number "1\t\t2"; a number is written without spaces: write 12 or 1`},
	{"space inside a share", "0. 5(T4)", ErrSyntax, 2, " ",
		`"0. 5(T4)": a space inside the number "0. 5"; a number is written without spaces: write 0.5(T4)`},
	{"space before the point", "0 .5", ErrSyntax, 1, " ",
		`"0 .5": a space inside the number "0 .5"; a number is written without spaces: write 0.5 or 0`},
	{"space inside a memory amount", "0.5(T4,1 6Gi)", ErrSyntax, 8, " ",
		`"0.5(T4,1 6Gi)": a space inside the number "1 6"; a number is written without spaces: write 0.5(T4,16Gi) or 0.5(T4,1Gi)`},
	{"full-width space inside a full-width count", "１　０（V100）", ErrSyntax, 3, "　",
		`"１\u3000０（V100）": a space inside the number "1\u30000"; a number is written without spaces: write 10(V100) or 1(V100)`},
	{"space inside a number with no rewrite", "1(V100,1 6Gi)", ErrSyntax, 8, " ",
		`"1(V100,1 6Gi)": a space inside the number "1 6"; a number is written without spaces`},
	{"memory twice", "0.5(8Gi,4Gi)", ErrConflict, 8, "4Gi",
		`"0.5(8Gi,4Gi)": a second memory amount "4Gi"; give one memory amount, e.g. 0.5(T4,8Gi)`},
	{"memory without unit", "0.5(T4,8)", ErrSyntax, 8, "",
		`"0.5(T4,8)": memory "8" has no unit; write 8Gi or 8Mi: units are Ki, Mi, Gi and Ti`},
	{"memory in decimal unit", "0.5(T4,8G)", ErrSyntax, 8, "G",
		`"0.5(T4,8G)": memory "8G" uses unit "G"; write 8Gi: units are Ki, Mi, Gi and Ti (powers of 1024)`},
	{"memory in GB", "0.5(T4,16GB)", ErrSyntax, 9, "GB",
		`"0.5(T4,16GB)": memory "16GB" uses unit "GB"; write 16Gi: units are Ki, Mi, Gi and Ti (powers of 1024)`},
	{"memory in unknown unit", "0.5(T4,8Xi)", ErrSyntax, 8, "Xi",
		`"0.5(T4,8Xi)": memory "8Xi" has unknown unit "Xi"; units are Ki, Mi, Gi and Ti, e.g. 8Gi`},
	{"memory zero", "0.5(T4,0Gi)", ErrRange, 7, "0Gi",
		`"0.5(T4,0Gi)": memory "0Gi" is zero; ask for more than 0, e.g. 512Mi, or leave the memory out for the proportional amount`},
	{"memory not whole MiB", "0.5(T4,512Ki)", ErrPrecision, 7, "512Ki",
		`"0.5(T4,512Ki)": memory "512Ki" is not a whole number of Mi; memory is counted in whole Mi: write 1Mi`},
	{"memory decimals not whole MiB", "0.5(T4,1.3Gi)", ErrPrecision, 7, "1.3Gi",
		`"0.5(T4,1.3Gi)": memory "1.3Gi" is not a whole number of Mi; memory is counted in whole Mi: write 1331Mi or 1332Mi`},
	{"memory too big", "0.5(T4,65Ti)", ErrRange, 7, "65Ti",
		`"0.5(T4,65Ti)": memory "65Ti" is more than 64Ti; no card has that much; ask for at most the card's memory`},
	{"memory with no digit after point", "0.5(8.Gi)", ErrSyntax, 5, ".Gi",
		`"0.5(8.Gi)": memory "8.Gi" has no digit after the point; write 8Gi`},
	{"memory with no digit before point", "0.5(.5Gi)", ErrSyntax, 4, ".5Gi",
		`"0.5(.5Gi)": memory ".5Gi" has no digit before the point; write 0.5Gi`},
	{"not utf-8", "2(V\xff100)", ErrSyntax, 3, "\xff",
		`"2(V\xff100)": byte 0xff at offset 3 is not UTF-8 text; ` + accepted},
	{"control character", "2(V100)\x00", ErrSyntax, 7, "\x00",
		`"2(V100)\x00": unexpected character '\x00' at offset 7; ` + accepted},
	{"other script", "2(V100é)", ErrSyntax, 6, "é",
		`"2(V100é)": unexpected character 'é' at offset 6; ` + accepted},
	{"error offsets count the input as written", "2（V100，，）", ErrSyntax, 11, "，",
		`"2（V100，，）": empty field before "，" at offset 11; fields are separated by one comma, e.g. 0.5(T4,8Gi)`},
	{"too long", strings.Repeat(" ", MaxInputLen) + "1", ErrRange, MaxInputLen, "",
		`"` + strings.Repeat(" ", MaxQuote) + `…": the request is 513 bytes long, more than 512; ` + accepted},
	{"a long input is quoted in part, not splitting a character", "1(V100," + strings.Repeat("é", 40) + ")", ErrSyntax, 7, "é",
		`"1(V100,` + strings.Repeat("é", 28) + `…": unexpected character 'é' at offset 7; ` + accepted},
}

func TestParseRefused(t *testing.T) {
	for _, tc := range refusedCases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Parse(tc.in)
			if err == nil {
				t.Fatalf("Parse(%q) = %#v, want an error", tc.in, got)
			}
			if !reflect.DeepEqual(got, Request{}) {
				t.Errorf("Parse returned %#v alongside the error", got)
			}
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("error %T is not *Error", err)
			}
			if !errors.Is(err, tc.class) {
				t.Errorf("class %v, want %v", e.Err, tc.class)
			}
			if e.Input != tc.in {
				t.Errorf("Input %q, want %q", e.Input, tc.in)
			}
			if e.Offset != tc.offset || e.Part != tc.part {
				t.Errorf("at %d %q, want %d %q", e.Offset, e.Part, tc.offset, tc.part)
			}
			if tc.part != "" && !strings.HasPrefix(tc.in[e.Offset:], tc.part) {
				t.Errorf("Part %q is not at offset %d of the input", e.Part, e.Offset)
			}
			if err.Error() != tc.msg {
				t.Errorf("message\n got %s\nwant %s", err.Error(), tc.msg)
			}
		})
	}
}

// TestHintsAreAccepted checks that every request a refusal's hint
// proposes parses: "1(H100,80Gi)" once proposed "0.5(T4,80Gi)", which the
// catalog refuses (a T4 has 16Gi), and "0)" proposed "0(T4)".
func TestHintsAreAccepted(t *testing.T) {
	for _, tc := range refusedCases {
		_, err := Parse(tc.in)
		var e *Error
		if !errors.As(err, &e) {
			t.Fatalf("Parse(%q): %v", tc.in, err)
		}
		checkHint(t, e)
	}
	if got := hintRewrites("write 0.5(T4,8Gi) or 2(VGPU,8Gi), or 1 for a whole card; units of 256Mi: 12"); !reflect.DeepEqual(got,
		[]string{"0.5(T4,8Gi)", "2(VGPU,8Gi)", "1", "12"}) {
		t.Errorf("hintRewrites = %q", got)
	}
}

func TestErrorCaret(t *testing.T) {
	_, err := Parse("2（V100，，）")
	var e *Error
	if !errors.As(err, &e) {
		t.Fatal(err)
	}
	want := "2（V100，，）\n       ^"
	if got := e.Caret(); got != want {
		t.Fatalf("Caret:\n%s\nwant\n%s", got, want)
	}
}

func TestParseMIG(t *testing.T) {
	accepted := []struct {
		in    string
		want  Request
		canon string
	}{
		{"1(mig-1g.10gb)", Request{Count: 1, MIG: "1g.10gb"}, "1(mig-1g.10gb)"},
		{"1(A100,mig-3g.40gb)", Request{Count: 1, Names: []string{"A100"}, MIG: "3g.40gb"}, "1(A100,mig-3g.40gb)"},
		{"1(MIG-3G.40GB,a100)", Request{Count: 1, Names: []string{"a100"}, MIG: "3G.40GB"}, "1(a100,mig-3G.40GB)"},
		{"1(A100|H100,mig-1g.10gb)", Request{Count: 1, Names: []string{"A100", "H100"}, MIG: "1g.10gb"}, "1(A100|H100,mig-1g.10gb)"},
		{"1(nvidia,A30,mig-1g.6gb.me)", Request{Count: 1, Scope: "nvidia", Names: []string{"A30"}, MIG: "1g.6gb.me"}, "1(nvidia,A30,mig-1g.6gb.me)"},
		{" 1 ( mig-7g.141gb ) ", Request{Count: 1, MIG: "7g.141gb"}, "1(mig-7g.141gb)"},
	}
	for _, tc := range accepted {
		got, err := Parse(tc.in)
		if err != nil {
			t.Errorf("Parse(%q): %v", tc.in, err)
			continue
		}
		if !reflect.DeepEqual(got, tc.want) || got.String() != tc.canon {
			t.Errorf("Parse(%q) = %+v %q; want %+v %q", tc.in, got, got.String(), tc.want, tc.canon)
		}
		if err := got.Validate(); err != nil {
			t.Errorf("Validate(%q): %v", tc.in, err)
		}
	}
	refused := []struct {
		in, class, msg, hint string
	}{
		{"0.5(mig-3g.40gb)", "conflict", "mig-3g.40gb is a whole MIG instance, not a share of one",
			"write 1(mig-3g.40gb), or 0.5 for a share that is given the smallest instance holding it"},
		{"0.5(A100,mig-3g.40gb)", "conflict", "not a share of one", "write 1(A100,mig-3g.40gb), or 0.5(A100) for a share"},
		{"2(A100,mig-1g.10gb)", "conflict", "2 instances of mig-1g.10gb: a CUDA process uses one MIG instance, so a container gets one",
			"ask for one instance of a profile large enough, as in 1(A100,mig-1g.10gb), or run one pod per instance"},
		{"1(VGPU,mig-1g.10gb)", "conflict", "VGPU and mig-1g.10gb do not go together", "write 1(mig-1g.10gb)"},
		{"1(mig-1g.10gb,8Gi)", "conflict", `memory "8Gi" with mig-1g.10gb: the profile fixes the memory`, "write 1(mig-1g.10gb)"},
		{"1(mig-1g.10gb|mig-2g.20gb)", "conflict", "a MIG profile cannot have alternatives", "name one profile"},
		{"1(mig-1g.10gb,mig-2g.20gb)", "conflict", `a second MIG profile "mig-2g.20gb"`, "name one profile"},
		{"1(mig-big)", "syntax", `"mig-big" is not a MIG profile`, "<compute slices>g.<memory>gb"},
		{"1(mig-01g.10gb)", "syntax", "is not a MIG profile", ""},
		{"1(mig-1g.10)", "syntax", "is not a MIG profile", ""},
		{"1(A100|mig-1g.10gb)", "syntax", "names do not start with mig-", ""},
		{"1(mig-)", "syntax", "is not a MIG profile", ""},
	}
	for _, tc := range refused {
		_, err := Parse(tc.in)
		var e *Error
		if !errors.As(err, &e) {
			t.Errorf("Parse(%q) = %v, want a refusal", tc.in, err)
			continue
		}
		if !strings.Contains(e.Msg, tc.msg) || !strings.Contains(e.Hint, tc.hint) || !strings.Contains(e.Err.Error(), tc.class) {
			t.Errorf("Parse(%q):\n got %s (%v)\nwant msg %q hint %q class %q", tc.in, err, e.Err, tc.msg, tc.hint, tc.class)
		}
	}
	if got := NameProblem("MIG-A100"); !strings.Contains(got, "mig-") {
		t.Errorf("NameProblem(MIG-A100) = %q; names starting with mig- are MIG profiles", got)
	}
	for _, r := range []Request{{Count: 2, MIG: "1g.10gb"}, {Count: 1, VGPU: true, MIG: "1g.10gb"}, {Count: 1, MIG: "big"}, {Hundredths: 5, MIG: "1g.10gb"}} {
		if r.Validate() == nil {
			t.Errorf("Validate(%+v) accepted", r)
		}
	}
}
