// Package gpuspec parses the GPU request shorthand people write in the pod
// annotation gpuplane.io/gpu ("2(V100)", "0.5(T4)", "1(VGPU)") into a
// Request, and writes a Request back in one canonical form.
//
// It is syntax only: whether V100 is a type, ascend a vendor, or 1Ti more
// than a T4 has is decided by pkg/catalog. It is a leaf: it must not import
// any other gpuplane package nor anything from Kubernetes.
//
// # Grammar
//
//	request = "0" | amount [ "(" field { "," field } ")" ]
//	amount  = count | share
//	count   = 1..64, decimal digits without leading zeros
//	share   = "0." digits, a multiple of 0.01 from 0.01 to 0.99
//	field   = names | "VGPU" | memory | mig
//	mig     = "mig-" digits "g." digits "gb" [ ".me" ]
//	names   = name { "|" name }
//	name    = a letter, then letters, digits, "-", "_", "." (ending with a
//	          letter or digit), at most 63 characters, not VGPU
//	memory  = digits [ "." digits ] ( "Ki" | "Mi" | "Gi" | "Ti" )
//
// Before parsing, all white space (anything unicode.IsSpace reports) is
// dropped wherever it is, except between two characters of a number
// (digits and the point), where it is refused: "1 0(V100)" is a typo far
// more often than ten cards. Full-width forms of ASCII characters
// (U+FF01..U+FF5E, e.g. "（", "）", "，", "｜") count as their ASCII
// counterparts. Letter case does not matter anywhere.
//
// Fields may come in any order, and each at most once, except that there
// may be two name fields: then the first is a vendor (Request.Scope, a
// single name) and the second its types, as in "2(amd,MI250)". A single
// name field may name types or one vendor ("1(ascend)"); the catalog tells
// which.
//
// # Decisions
//
//   - Shares are hundredths of a card, because vGPU cores are: 0.5 is 50
//     cores of 100. "0.125" is refused (write 0.12 or 0.13); trailing zeros
//     are fine ("0.50" is 0.5).
//   - A number with a point is a share and must be below 1: "1.5" is refused
//     (ask for 2 cards or 0.5), and so is "1.0" (write 1).
//   - Counts are 1..64 and written without leading zeros. 64 bounds the
//     grammar only: a count above what any node has is refused by the
//     scheduler extender, which knows the nodes.
//   - "0" alone means no GPU; "0" with anything in parentheses is refused.
//   - Memory takes a binary unit, Ki, Mi, Gi or Ti; it must be a whole number
//     of MiB (decimals allowed, "1.5Gi" is 1536Mi), above 0 and at most 64Ti.
//     Plain bytes and decimal units ("8G", "8GB") are refused: 8G is not a
//     whole number of MiB, and a bare number inside parentheses would be
//     ambiguous.
//   - Memory applies to vGPU only: a share ("0.5(T4,8Gi)", "0.5(8Gi)") or VGPU
//     cards ("2(VGPU,8Gi)", memory per card). "2(V100,8Gi)" is refused.
//   - A name may not be written twice in one request, and VGPU cannot be an
//     alternative ("2(VGPU|T4)").
//   - "mig-<profile>" names a MIG instance ("1(A100,mig-3g.40gb)",
//     "1(mig-1g.10gb)"), spelt as the NVIDIA device plugin's resource
//     (nvidia.com/mig-1g.10gb; "+me" is written ".me"). Names may not start
//     with "mig-". It goes with a count of 1 only: a CUDA process uses one
//     MIG instance, so two in one container serve one process no better
//     than one; a share, VGPU and memory are refused with it (the profile
//     fixes compute and memory). One profile per request, no alternatives.
//   - Names are kept as written (case included); String writes them back the
//     same way, so Parse(r.String()) returns r.
//   - Input longer than 512 bytes is refused unread.
//   - A message quotes at most MaxQuote bytes of the input (QuoteInput).
//   - A hint proposes a rewrite of the input only if it parses: the parser
//     checks each one, quietly (without checking the rewrites of its own
//     refusals), before naming it.
//
// Every error is an *Error: its message quotes the input, names the part
// that is wrong and says what would be accepted; its Offset points at the
// part and its Err is one of ErrSyntax, ErrRange, ErrPrecision, ErrConflict.
package gpuspec
