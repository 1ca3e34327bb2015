package lexical

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"
)

func newEmbedder(t *testing.T, opts Options) *Embedder {
	t.Helper()
	e, err := New(opts)
	if err != nil {
		t.Fatalf("New(%+v): %v", opts, err)
	}
	return e
}

func embed(t *testing.T, e *Embedder, text string) []float32 {
	t.Helper()
	v, err := e.EmbedQuery(context.Background(), text)
	if err != nil {
		t.Fatalf("EmbedQuery(%q): %v", text, err)
	}
	return v
}

func norm(v []float32) float64 {
	var squares float64
	for _, x := range v {
		squares += float64(x) * float64(x)
	}
	return math.Sqrt(squares)
}

func cosine(a, b []float32) float64 {
	var dot float64
	for i := range a {
		dot += float64(a[i]) * float64(b[i])
	}
	return dot / (norm(a) * norm(b))
}

// slots returns the indexes of the non-zero components of v.
func slots(v []float32) []int {
	var out []int
	for i, x := range v {
		if x != 0 {
			out = append(out, i)
		}
	}
	return out
}

func TestNewDimensions(t *testing.T) {
	cases := []struct {
		name string
		in   int
		want int
	}{
		{"default", 0, DefaultDimensions},
		{"one", 1, 1},
		{"custom", 64, 64},
		{"max", MaxDimensions, MaxDimensions},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := newEmbedder(t, Options{Dimensions: c.in})
			if got := e.Dimensions(); got != c.want {
				t.Errorf("Dimensions() = %d, want %d", got, c.want)
			}
			if got := len(embed(t, e, "search words")); got != c.want {
				t.Errorf("len(vector) = %d, want %d", got, c.want)
			}
		})
	}
}

func TestNewInvalid(t *testing.T) {
	for _, dimensions := range []int{-1, MaxDimensions + 1} {
		_, err := New(Options{Dimensions: dimensions})
		if !errors.Is(err, ErrInvalidOptions) {
			t.Errorf("New(Dimensions: %d) error = %v, want ErrInvalidOptions", dimensions, err)
		}
	}
}

func TestWords(t *testing.T) {
	cases := []struct {
		name string
		in   string
		want []string
	}{
		{"empty", "", nil},
		{"punctuation only", "-- ... !?", nil},
		{"lowercase", "Reset the PASSWORD", []string{"reset", "the", "password"}},
		{"separators", "two-factor, api_key; v2.1", []string{"two", "factor", "api", "key", "v2", "1"}},
		{"accents", "Émises à Zürich", []string{"émises", "à", "zürich"}},
		{"combining mark", "cafe\u0301 ok", []string{"cafe\u0301", "ok"}},
		{"no spaces script", "日本語の文", []string{"日本語の文"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := Words(c.in); !slices.Equal(got, c.want) {
				t.Errorf("Words(%q) = %q, want %q", c.in, got, c.want)
			}
		})
	}
}

func TestEmbedUnitLength(t *testing.T) {
	e := newEmbedder(t, Options{})
	for _, text := range []string{"password", "reset the password now", "日本語"} {
		if got := norm(embed(t, e, text)); math.Abs(got-1) > 1e-6 {
			t.Errorf("norm of %q = %v, want 1", text, got)
		}
	}
}

func TestEmbedZeroVector(t *testing.T) {
	cases := []struct {
		name string
		text string
		opts Options
	}{
		{"empty", "", Options{}},
		{"whitespace", " \n\t", Options{}},
		{"punctuation", "?!... --", Options{}},
		{"stop words", "What is it, and how?", Options{}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			v := embed(t, newEmbedder(t, c.opts), c.text)
			if got := slots(v); len(got) != 0 {
				t.Errorf("non-zero slots %v, want the zero vector", got)
			}
		})
	}
}

func TestEmbedKeepStopWords(t *testing.T) {
	e := newEmbedder(t, Options{KeepStopWords: true})
	if got := norm(embed(t, e, "what is it")); math.Abs(got-1) > 1e-6 {
		t.Errorf("norm = %v, want 1", got)
	}
}

func TestEmbedDeterministic(t *testing.T) {
	text := "Invoices are issued on the first day of each month."
	first := embed(t, newEmbedder(t, Options{}), text)
	second := embed(t, newEmbedder(t, Options{}), text)
	if !slices.Equal(first, second) {
		t.Error("two embedders with the same options gave different vectors")
	}
}

func TestEmbedStableSlots(t *testing.T) {
	// Stored vectors (a pgvector table) stay valid only while a word
	// keeps its slot, so these slots must never change. They are
	// FNV-1a 64 of the word modulo 256.
	e := newEmbedder(t, Options{})
	cases := map[string]int{"password": 24, "invoice": 240}
	for word, want := range cases {
		got := slots(embed(t, e, word))
		if !slices.Equal(got, []int{want}) {
			t.Errorf("slots of %q = %v, want [%d]", word, got, want)
		}
	}
}

func TestEmbedSimilarity(t *testing.T) {
	e := newEmbedder(t, Options{})
	cases := []struct {
		name string
		a, b string
		want float64
	}{
		{"case", "Password Reset", "password reset", 1},
		{"order", "reset password", "password reset", 1},
		{"stop words ignored", "reset the password", "reset password", 1},
		{"disjoint", "invoice", "password", 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := cosine(embed(t, e, c.a), embed(t, e, c.b))
			if math.Abs(got-c.want) > 1e-6 {
				t.Errorf("cosine(%q, %q) = %v, want %v", c.a, c.b, got, c.want)
			}
		})
	}
}

func TestEmbedTermFrequency(t *testing.T) {
	e := newEmbedder(t, Options{})
	apple := slots(embed(t, e, "apple"))
	pear := slots(embed(t, e, "pear"))
	if len(apple) != 1 || len(pear) != 1 || apple[0] == pear[0] {
		t.Fatalf("apple and pear share a slot (%v, %v); pick other words", apple, pear)
	}
	v := embed(t, e, "apple pear apple apple")
	ratio := float64(v[apple[0]]) / float64(v[pear[0]])
	if want := math.Sqrt(3); math.Abs(ratio-want) > 1e-6 {
		t.Errorf("weight ratio apple/pear = %v, want sqrt(3) = %v", ratio, want)
	}
}

func TestEmbedNonNegative(t *testing.T) {
	e := newEmbedder(t, Options{Dimensions: 8})
	v := embed(t, e, "many different words share eight slots so they collide often here")
	for i, x := range v {
		if x < 0 {
			t.Errorf("component %d = %v, want >= 0", i, x)
		}
	}
}

func TestEmbedDocuments(t *testing.T) {
	e := newEmbedder(t, Options{})
	texts := []string{"reset password", "", "invoice"}
	vectors, err := e.EmbedDocuments(context.Background(), texts)
	if err != nil {
		t.Fatal(err)
	}
	if len(vectors) != len(texts) {
		t.Fatalf("got %d vectors, want %d", len(vectors), len(texts))
	}
	for i, text := range texts {
		if want := embed(t, e, text); !slices.Equal(vectors[i], want) {
			t.Errorf("vector %d differs from EmbedQuery(%q)", i, text)
		}
	}
	empty, err := e.EmbedDocuments(context.Background(), nil)
	if err != nil || len(empty) != 0 {
		t.Errorf("EmbedDocuments(nil) = %v, %v, want no vectors and no error", empty, err)
	}
}

func TestEmbedCancelled(t *testing.T) {
	e := newEmbedder(t, Options{})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := e.EmbedQuery(ctx, "password"); !errors.Is(err, context.Canceled) {
		t.Errorf("EmbedQuery error = %v, want context.Canceled", err)
	}
	if _, err := e.EmbedDocuments(ctx, []string{"password"}); !errors.Is(err, context.Canceled) {
		t.Errorf("EmbedDocuments error = %v, want context.Canceled", err)
	}
}

func TestEmbedRepeatable(t *testing.T) {
	// Many words with irrational weights share 3 slots, so the vector
	// depends on the order in which they are summed.
	var words []string
	for i := range 40 {
		for range i%5 + 1 {
			words = append(words, fmt.Sprintf("w%d", i))
		}
	}
	text := strings.Join(words, " ")
	e := newEmbedder(t, Options{Dimensions: 3})
	// The slot sums are compared before they are rounded to float32,
	// which would hide most differences.
	first := e.weights(text)
	for range 100 {
		if got := e.weights(text); !slices.Equal(got, first) {
			t.Fatalf("slot sums %v differ from the first %v", got, first)
		}
	}
}
