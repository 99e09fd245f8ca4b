package awschunked

import (
	"bytes"
	"io"
	"testing"
)

// BenchmarkDecode64MiB decodes a 64 MiB payload sent in 64 KiB chunks
// (the SDK's chunk size) and 1 MiB chunks, reading with io.Copy's 32 KiB
// buffer and with a 1 MiB buffer.
func BenchmarkDecode64MiB(b *testing.B) {
	data := bytes.Repeat([]byte("0123456789abcdef"), 4<<20)
	for _, m := range []mode{modes[1], modes[3]} {
		for _, chunk := range []int{64 << 10, 1 << 20} {
			body, _ := m.body(data, chunk)
			for _, bufSize := range []int{32 << 10, 1 << 20} {
				name := m.name + "/chunk=" + sizeName(chunk) + "/buf=" + sizeName(bufSize)
				b.Run(name, func(b *testing.B) {
					buf := make([]byte, bufSize)
					b.SetBytes(int64(len(data)))
					b.ReportAllocs()
					for b.Loop() {
						r := NewReader(bytes.NewReader(body), m.signer(), m.trailer)
						n, err := io.CopyBuffer(io.Discard, onlyReader{r}, buf)
						if err != nil || n != int64(len(data)) {
							b.Fatal(n, err)
						}
					}
				})
			}
		}
	}
}

// onlyReader hides WriterTo/ReaderFrom so CopyBuffer uses the buffer.
type onlyReader struct{ io.Reader }

func sizeName(n int) string {
	if n >= 1<<20 {
		return string(rune('0'+n>>20)) + "MiB"
	}
	return itoa(n>>10) + "KiB"
}

func itoa(n int) string {
	if n < 10 {
		return string(rune('0' + n))
	}
	return itoa(n/10) + string(rune('0'+n%10))
}
