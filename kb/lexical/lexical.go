package lexical

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"math"
	"strings"
	"unicode"

	"github.com/tmc/langchaingo/embeddings"
)

var _ embeddings.Embedder = (*Embedder)(nil)

// DefaultDimensions is the vector length when Options.Dimensions is zero.
const DefaultDimensions = 256

// MaxDimensions is the largest vector length New accepts; it is the
// largest that the search block of the manifest allows.
const MaxDimensions = 16000

// ErrInvalidOptions is wrapped by the error of New for an option value it
// cannot use.
var ErrInvalidOptions = errors.New("lexical: invalid options")

// Options configures an Embedder. The zero value is valid.
type Options struct {
	// Dimensions is the vector length. It must match the vector column
	// when the vectors are stored. Default DefaultDimensions (256).
	//
	// NOTE: a query word shares its slot with a given other word with
	// probability 1/Dimensions, so at 256 a document of 20 distinct words
	// gets a spurious match for about 8% of the query's words. Larger
	// values make this rarer at the cost of memory.
	Dimensions int
	// KeepStopWords keeps English stop words as features. Default false:
	// they are dropped, so they neither match nor dilute the other words.
	KeepStopWords bool
}

// Embedder is the lexical embedder. It is safe for concurrent use.
type Embedder struct {
	dimensions    int
	keepStopWords bool
}

// New returns an Embedder. The error wraps ErrInvalidOptions when
// opts.Dimensions is negative or above MaxDimensions.
func New(opts Options) (*Embedder, error) {
	dimensions := opts.Dimensions
	if dimensions == 0 {
		dimensions = DefaultDimensions
	}
	if dimensions < 0 || dimensions > MaxDimensions {
		return nil, fmt.Errorf("%w: dimensions %d: use a value from 1 to %d, or 0 for %d",
			ErrInvalidOptions, opts.Dimensions, MaxDimensions, DefaultDimensions)
	}
	return &Embedder{dimensions: dimensions, keepStopWords: opts.KeepStopWords}, nil
}

// Dimensions returns the length of the vectors the embedder produces.
func (e *Embedder) Dimensions() int {
	return e.dimensions
}

// EmbedDocuments returns one vector per text, in order. It returns
// ctx.Err() when ctx is done before it finishes.
func (e *Embedder) EmbedDocuments(ctx context.Context, texts []string) ([][]float32, error) {
	vectors := make([][]float32, len(texts))
	for i, text := range texts {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		vectors[i] = e.embed(text)
	}
	return vectors, nil
}

// EmbedQuery returns the vector of text. It returns ctx.Err() when ctx is
// already done.
func (e *Embedder) EmbedQuery(ctx context.Context, text string) ([]float32, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return e.embed(text), nil
}

func (e *Embedder) embed(text string) []float32 {
	return normalize(e.weights(text))
}

// weights returns the summed term-frequency weights of each slot.
func (e *Embedder) weights(text string) []float64 {
	// Words are summed in the order of their first occurrence, not in map
	// order, so that the float rounding of colliding words is the same on
	// every call.
	counts := map[string]int{}
	var order []string
	for _, word := range Words(text) {
		if !e.keepStopWords && stopWords[word] {
			continue
		}
		if counts[word] == 0 {
			order = append(order, word)
		}
		counts[word]++
	}

	sums := make([]float64, e.dimensions)
	for _, word := range order {
		h := fnv.New64a()
		h.Write([]byte(word)) // hash.Hash.Write never returns an error
		sums[h.Sum64()%uint64(e.dimensions)] += math.Sqrt(float64(counts[word]))
	}
	return sums
}

// normalize scales sums to unit length, or returns the zero vector when
// all are zero.
func normalize(sums []float64) []float32 {
	var squares float64
	for _, v := range sums {
		// The conversion stops the compiler from fusing the multiply and
		// add into one instruction, which rounds once, so the result would
		// depend on the architecture.
		squares += float64(v * v)
	}
	vector := make([]float32, len(sums))
	if squares == 0 {
		return vector
	}
	norm := math.Sqrt(squares)
	for i, v := range sums {
		vector[i] = float32(v / norm)
	}
	return vector
}

// Words splits text into lowercased words: maximal runs of Unicode
// letters, digits and combining marks. It is the first step of the
// embedding and keeps stop words.
func Words(text string) []string {
	fields := strings.FieldsFunc(text, func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r) && !unicode.IsMark(r)
	})
	for i, field := range fields {
		fields[i] = strings.ToLower(field)
	}
	return fields
}
