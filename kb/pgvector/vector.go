package pgvector

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// checkVector returns an error wrapping ErrDimensionMismatch or
// ErrInvalidVector when v does not have dims components or has a NaN or
// infinite one. what names the vector in the message.
func checkVector(v []float32, dims int, what, table string) error {
	if len(v) != dims {
		return fmt.Errorf("%w: %s has %d dimensions but column vec of table %s is vector(%d); use an embedding model with %d dimensions, or create the table again with vector(%d) and ingest the documents again",
			ErrDimensionMismatch, what, len(v), table, dims, dims, len(v))
	}
	for i, x := range v {
		f := float64(x)
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return fmt.Errorf("%w: %s has the non-finite value %v at index %d", ErrInvalidVector, what, x, i)
		}
	}
	return nil
}

// isZero reports whether every component of v is zero.
func isZero(v []float32) bool {
	for _, x := range v {
		if x != 0 {
			return false
		}
	}
	return true
}

// formatVector returns v in pgvector's text form, "[1,2.5,-3e-05]". Each
// component is the shortest decimal that reads back as the same float32.
func formatVector(v []float32) string {
	var b strings.Builder
	b.Grow(len(v)*10 + 2)
	b.WriteByte('[')
	for i, x := range v {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.FormatFloat(float64(x), 'g', -1, 32))
	}
	b.WriteByte(']')
	return b.String()
}
