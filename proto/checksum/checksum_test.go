package checksum

import (
	"bytes"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"hash/crc32"
	"hash/crc64"
	"io"
	"math/rand/v2"
	"strings"
	"testing"
)

var check = []byte("123456789")

func sumUint(t *testing.T, alg string, p []byte) uint64 {
	t.Helper()
	h, err := New(alg)
	if err != nil {
		t.Fatal(err)
	}
	h.Write(p)
	s := h.Sum(nil)
	if len(s) == 4 {
		return uint64(binary.BigEndian.Uint32(s))
	}
	return binary.BigEndian.Uint64(s)
}

func TestCheckValues(t *testing.T) {
	for _, c := range []struct {
		alg  string
		want uint64
	}{
		{CRC32, 0xcbf43926},
		{CRC32C, 0xe3069283},
		{CRC64NVME, 0xae8b14860a799888},
	} {
		if got := sumUint(t, c.alg, check); got != c.want {
			t.Errorf("%s(123456789) = %#x, want %#x", c.alg, got, c.want)
		}
		// Byte-at-a-time writes give the same result.
		h, _ := New(c.alg)
		for i := range check {
			h.Write(check[i : i+1])
		}
		if got := h.Sum(nil); !bytes.Equal(got, mustSum(c.alg, check)) {
			t.Errorf("%s incremental mismatch", c.alg)
		}
		if h.Size() != Size(c.alg) || len(h.Sum(nil)) != Size(c.alg) {
			t.Errorf("%s size", c.alg)
		}
	}
	for _, c := range []struct{ alg, want string }{
		{SHA1, "f7c3bc1d808e04732adf679965ccc34ca7ae3441"},
		{SHA256, "15e2b0d3c33891ebb0f1ef609ec419420c20e320ce94c65fbc8c3312448eb225"},
	} {
		if got := hex.EncodeToString(mustSum(c.alg, check)); got != c.want {
			t.Errorf("%s = %s, want %s", c.alg, got, c.want)
		}
	}
	// Known S3 example: CRC32C of 65 KiB of 'a' is sOO8/Q== (AWS SigV4
	// streaming-trailer example).
	if got := Encode(mustSum(CRC32C, bytes.Repeat([]byte("a"), 66560))); got != "sOO8/Q==" {
		t.Errorf("CRC32C of the AWS example body = %s", got)
	}
}

func mustSum(alg string, p []byte) []byte {
	h, err := New(alg)
	if err != nil {
		panic(err)
	}
	h.Write(p)
	return h.Sum(nil)
}

// The AWS SDK for Go v2 computes CRC64NVME with hash/crc64 and the
// reflected NVMe polynomial, CRC32 with the IEEE table and CRC32C with the
// Castagnoli table; the results must agree on arbitrary data and splits.
func TestAgainstStdlibLikeSDK(t *testing.T) {
	sdkNVME := crc64.MakeTable(0x9a6c9329ac4bc9b5)
	r := rand.New(rand.NewPCG(1, 2))
	for _, n := range []int{0, 1, 7, 8, 9, 63, 64, 65, 2047, 2048, 4099, 1 << 16, 1<<20 + 3} {
		p := make([]byte, n)
		for i := range p {
			p[i] = byte(r.Uint32())
		}
		if got, want := sumUint(t, CRC64NVME, p), crc64.Checksum(p, sdkNVME); got != want {
			t.Fatalf("n=%d crc64nvme %x want %x", n, got, want)
		}
		if got, want := sumUint(t, CRC32, p), uint64(crc32.ChecksumIEEE(p)); got != want {
			t.Fatalf("n=%d crc32", n)
		}
		if got, want := sumUint(t, CRC32C, p), uint64(crc32.Checksum(p, crc32.MakeTable(crc32.Castagnoli))); got != want {
			t.Fatalf("n=%d crc32c", n)
		}
		// Split writes.
		h := NewCRC64NVME()
		cut := n / 3
		h.Write(p[:cut])
		h.Write(p[cut:])
		if h.Sum64() != crc64.Checksum(p, sdkNVME) {
			t.Fatalf("n=%d split", n)
		}
	}
}

func TestCRC64NVMEMarshal(t *testing.T) {
	h := NewCRC64NVME()
	h.Write([]byte("12345"))
	st, err := h.(interface{ MarshalBinary() ([]byte, error) }).MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	h2 := NewCRC64NVME()
	if err := h2.(interface{ UnmarshalBinary([]byte) error }).UnmarshalBinary(st); err != nil {
		t.Fatal(err)
	}
	h2.Write([]byte("6789"))
	if h2.Sum64() != 0xae8b14860a799888 {
		t.Fatalf("resumed %x", h2.Sum64())
	}
	if err := h2.(interface{ UnmarshalBinary([]byte) error }).UnmarshalBinary([]byte("x")); err == nil {
		t.Fatal("bad state accepted")
	}
	h2.Reset()
	if h2.Sum64() != 0 || h2.BlockSize() != 1 {
		t.Fatal("reset")
	}
}

func TestParseAndNames(t *testing.T) {
	for in, want := range map[string]string{
		"crc32": CRC32, "CRC32": CRC32, "x-amz-checksum-crc32": CRC32, "X-Amz-Checksum-CRC32C": CRC32C,
		" crc64nvme ": CRC64NVME, "Sha1": SHA1, "x-amz-checksum-sha256": SHA256, "SHA256": SHA256,
	} {
		got, ok := Parse(in)
		if !ok || got != want {
			t.Errorf("Parse(%q) = %q, %v", in, got, ok)
		}
	}
	for _, in := range []string{"", "md5", "crc", "x-amz-checksum-", "x-amz-checksum-type", "x-amz-checksum-algorithm", "crc32 c", "sha512", "x-amz-content-sha256"} {
		if got, ok := Parse(in); ok {
			t.Errorf("Parse(%q) = %q, want failure", in, got)
		}
	}
	if HeaderName(CRC32) != "x-amz-checksum-crc32" || HeaderName("crc64nvme") != "x-amz-checksum-crc64nvme" || HeaderName("nope") != "" {
		t.Error("HeaderName")
	}
	wantLen := map[string]int{CRC32: 8, CRC32C: 8, CRC64NVME: 12, SHA1: 28, SHA256: 44}
	for _, a := range Algorithms() {
		if EncodedLen(a) != wantLen[a] {
			t.Errorf("EncodedLen(%s) = %d", a, EncodedLen(a))
		}
		if v := Encode(mustSum(a, check)); !Valid(a, v) || len(v) != wantLen[a] {
			t.Errorf("Valid(%s, %s)", a, v)
		}
	}
	if _, err := New("md5"); !errors.Is(err, ErrUnknownAlgorithm) {
		t.Errorf("New(md5) err = %v", err)
	}
	if Size("x") != 0 || EncodedLen("x") != 0 {
		t.Error("unknown size")
	}
}

func TestDecodeValidation(t *testing.T) {
	good := Encode(mustSum(CRC32, check))
	if raw, err := Decode(CRC32, good); err != nil || len(raw) != 4 {
		t.Fatal(err)
	}
	for _, bad := range []string{"", "AAAA", "AAAAAAAAAAAA", "!!!!!!==", "AAAAAA=A", "AAAAAB==", good + " "} {
		if _, err := Decode(CRC32, bad); !errors.Is(err, ErrInvalidValue) {
			t.Errorf("Decode(%q) err = %v", bad, err)
		}
	}
	if _, err := Decode("md5", good); !errors.Is(err, ErrUnknownAlgorithm) {
		t.Error("unknown alg")
	}
	sha := Encode(mustSum(SHA256, check))
	if Valid(SHA1, sha) || !Valid(SHA256, sha) {
		t.Error("length per algorithm")
	}
}

func TestSet(t *testing.T) {
	data := bytes.Repeat([]byte("0123456789abcdef"), 10000)
	s, err := NewSet(true, "crc32", "x-amz-checksum-crc64nvme", CRC32, SHA1)
	if err != nil {
		t.Fatal(err)
	}
	// Write in odd pieces.
	for rest := data; len(rest) > 0; {
		n := min(len(rest), 1+len(rest)%997)
		s.Write(rest[:n])
		rest = rest[n:]
	}
	if s.Size() != int64(len(data)) {
		t.Fatal("size")
	}
	m := md5.Sum(data)
	if !bytes.Equal(s.MD5(), m[:]) || s.ETag() != hex.EncodeToString(m[:]) {
		t.Fatal("md5")
	}
	sh := sha256.Sum256(data)
	if !bytes.Equal(s.ContentSHA256(), sh[:]) {
		t.Fatal("sha256")
	}
	if err := s.VerifyContentSHA256(hex.EncodeToString(sh[:])); err != nil {
		t.Fatal(err)
	}
	if err := s.VerifyContentSHA256(strings.ToUpper(hex.EncodeToString(sh[:]))); err != nil {
		t.Fatal(err)
	}
	var me *MismatchError
	if err := s.VerifyContentSHA256(strings.Repeat("0", 64)); !errors.As(err, &me) || me.Code() != "XAmzContentSHA256Mismatch" {
		t.Fatalf("content sha mismatch: %v", err)
	}
	if err := s.VerifyContentSHA256("zz"); !errors.Is(err, ErrInvalidValue) {
		t.Fatal(err)
	}
	if err := s.VerifyContentMD5(base64.StdEncoding.EncodeToString(m[:])); err != nil {
		t.Fatal(err)
	}
	if err := s.VerifyContentMD5(Encode(make([]byte, 16))); !errors.As(err, &me) || me.Header != "Content-MD5" || me.Code() != "BadDigest" {
		t.Fatal(err)
	}
	sums := s.Checksums()
	if len(sums) != 3 || sums[CRC32] == "" || sums[CRC64NVME] == "" || sums[SHA1] == "" {
		t.Fatalf("Checksums() = %v", sums)
	}
	s1 := sha1.Sum(data)
	want := map[string]string{
		"x-amz-checksum-crc32":  Encode(mustSum(CRC32, data)),
		CRC64NVME:               Encode(mustSum(CRC64NVME, data)),
		"sha1":                  Encode(s1[:]),
		"x-amz-checksum-sha256": Encode(sh[:]), // computed for the content hash
	}
	if err := s.Verify(want); err != nil {
		t.Fatal(err)
	}
	if s.Encoded(CRC32) != want["x-amz-checksum-crc32"] {
		t.Fatal("Encoded")
	}
	// A mismatch names the algorithm.
	bad := map[string]string{CRC32: want["x-amz-checksum-crc32"], "crc64nvme": Encode(make([]byte, 8))}
	err = s.Verify(bad)
	if !errors.As(err, &me) || me.Algorithm != CRC64NVME || me.Header != "x-amz-checksum-crc64nvme" || me.Code() != "BadDigest" {
		t.Fatalf("Verify mismatch = %v", err)
	}
	if me.Computed != want[CRC64NVME] {
		t.Fatal("computed value in error")
	}
	if err := s.Verify(map[string]string{CRC32C: Encode(make([]byte, 4))}); !errors.Is(err, ErrNotComputed) {
		t.Fatalf("not computed: %v", err)
	}
	if err := s.Verify(map[string]string{CRC32: "xx"}); !errors.Is(err, ErrInvalidValue) {
		t.Fatalf("invalid: %v", err)
	}
	if err := s.Verify(map[string]string{"md5": "xx"}); !errors.Is(err, ErrUnknownAlgorithm) {
		t.Fatalf("unknown: %v", err)
	}
	if err := s.Add(CRC32C); err == nil {
		t.Fatal("Add after Write accepted")
	}
	if _, err := NewSet(false, "nope"); !errors.Is(err, ErrUnknownAlgorithm) {
		t.Fatal("NewSet unknown")
	}
	s.Reset()
	if s.Size() != 0 || s.Encoded(CRC32) != Encode(mustSum(CRC32, nil)) {
		t.Fatal("reset")
	}
	if err := s.Add(CRC32C); err != nil || !s.Has(CRC32C) {
		t.Fatal("Add after Reset")
	}
	// Without content SHA256 there is none.
	s2, _ := NewSet(false)
	io.WriteString(s2, "x")
	if s2.ContentSHA256() != nil || len(s2.Checksums()) != 0 {
		t.Fatal("unexpected sums")
	}
	if err := s2.VerifyContentSHA256(hex.EncodeToString(sh[:])); !errors.Is(err, ErrNotComputed) {
		t.Fatal(err)
	}
}

func TestSetWriteAllocs(t *testing.T) {
	s, _ := NewSet(true, CRC32, CRC32C, CRC64NVME, SHA1, SHA256)
	buf := make([]byte, 4096)
	if n := testing.AllocsPerRun(100, func() { s.Write(buf) }); n != 0 {
		t.Fatalf("Write allocates %v times", n)
	}
}

func TestCombine(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	data := make([]byte, 300000)
	for i := range data {
		data[i] = byte(r.Uint32())
	}
	for _, alg := range []string{CRC32, CRC32C, CRC64NVME} {
		for trial := 0; trial < 30; trial++ {
			a := r.IntN(len(data) + 1)
			b := a + r.IntN(len(data)-a+1)
			if trial == 0 {
				a, b = 0, 0
			}
			if trial == 1 {
				a, b = len(data), len(data)
			}
			c1, c2 := sumUint(t, alg, data[:a]), sumUint(t, alg, data[a:b])
			got, err := CombineCRC(alg, c1, c2, int64(b-a))
			if err != nil {
				t.Fatal(err)
			}
			if want := sumUint(t, alg, data[:b]); got != want {
				t.Fatalf("%s combine a=%d b=%d: %x want %x", alg, a, b, got, want)
			}
		}
		// FullObject over uneven parts, including an empty one.
		var parts []Part
		bounds := []int{0, 5, 5, 70000, 70001, 250000, len(data)}
		for i := 1; i < len(bounds); i++ {
			p := data[bounds[i-1]:bounds[i]]
			parts = append(parts, Part{Checksum: mustSum(alg, p), Size: int64(len(p))})
		}
		got, err := FullObject(alg, parts)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, mustSum(alg, data)) {
			t.Fatalf("%s FullObject mismatch", alg)
		}
		if got, _ := FullObject(alg, nil); !bytes.Equal(got, mustSum(alg, nil)) {
			t.Fatalf("%s FullObject of nothing", alg)
		}
		if _, err := FullObject(alg, []Part{{Checksum: []byte{1}, Size: 1}}); !errors.Is(err, ErrInvalidValue) {
			t.Fatal("bad part accepted")
		}
	}
	// Huge lengths do not overflow or loop.
	if _, err := CombineCRC(CRC64NVME, 1, 2, 1<<62); err != nil {
		t.Fatal(err)
	}
	for _, alg := range []string{SHA1, SHA256, "nope"} {
		if _, err := FullObject(alg, nil); !errors.Is(err, ErrUnknownAlgorithm) {
			t.Fatal(alg)
		}
		if _, err := CombineCRC(alg, 0, 0, 0); err == nil {
			t.Fatal(alg)
		}
	}
	if !SupportsFullObject(CRC64NVME) || SupportsFullObject(SHA256) || SupportsComposite(CRC64NVME) || !SupportsComposite(SHA1) {
		t.Fatal("Supports*")
	}
}

func TestComposite(t *testing.T) {
	p1, p2 := []byte("part one"), []byte("part two, longer")
	for _, alg := range Algorithms() {
		s1, s2 := mustSum(alg, p1), mustSum(alg, p2)
		want := Encode(mustSum(alg, append(append([]byte{}, s1...), s2...))) + "-2"
		if got := Composite(alg, [][]byte{s1, s2}); got != want {
			t.Errorf("%s Composite = %s want %s", alg, got, want)
		}
	}
	// A hand-checked value: SHA256 of the two raw CRC32s of "a" and "b".
	a, b := mustSum(CRC32, []byte("a")), mustSum(CRC32, []byte("b"))
	h := sha256.Sum256(append(a, b...))
	if got := Composite(SHA256, [][]byte{a, b}); got != base64.StdEncoding.EncodeToString(h[:])+"-2" {
		t.Error(got)
	}
	if Composite("nope", nil) != "" {
		t.Error("unknown alg")
	}
}

func BenchmarkCRC64NVME(b *testing.B) {
	buf := make([]byte, 1<<20)
	h := NewCRC64NVME()
	b.SetBytes(int64(len(buf)))
	for b.Loop() {
		h.Write(buf)
	}
}

func BenchmarkSet(b *testing.B) {
	for _, c := range []struct {
		name    string
		content bool
		algs    []string
	}{
		{"MD5", false, nil},
		{"MD5+CRC32", false, []string{CRC32}},
		{"MD5+CRC64NVME", false, []string{CRC64NVME}},
		{"MD5+SHA256+CRC32C", true, []string{CRC32C}},
	} {
		b.Run(c.name, func(b *testing.B) {
			s, _ := NewSet(c.content, c.algs...)
			buf := make([]byte, 1<<20)
			b.SetBytes(int64(len(buf)))
			b.ReportAllocs()
			for b.Loop() {
				s.Write(buf)
			}
		})
	}
}
