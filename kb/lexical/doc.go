// Package lexical is a deterministic, offline embedder for the knowledge
// base. It is lexical, not semantic: two texts get similar vectors only
// when they share words, so "refund" does not match "money back", and
// "invoice" does not match "invoices". Use it for setups without an
// embedding model, for tests and for demos; use a real embedding model
// for production search.
//
// [Embedder] implements langchaingo's embeddings.Embedder. It turns a text
// into a vector in four steps:
//
//  1. Split the text into words: maximal runs of Unicode letters,
//     digits and combining marks, lowercased. Everything else separates
//     words.
//  2. Drop English stop words ("the", "how", "is", ...) unless
//     Options.KeepStopWords is set.
//  3. Hash each word with 64-bit FNV-1a into one of Options.Dimensions
//     slots (feature hashing), adding the word's term-frequency weight
//     sqrt(count) to its slot. Different words may share a slot.
//  4. Scale the vector to unit length (L2 norm 1).
//
// A text with no words left after step 2 (an empty string, punctuation
// only, or stop words only) gets the all-zero vector. Its cosine
// similarity is undefined, so retrievers treat it as matching nothing.
//
// All components are zero or positive, so the cosine similarity of two
// vectors lies in [0, 1]. The same text, dimension and options give the
// same vector in every process and on every CPU architecture, because
// the arithmetic uses only IEEE 754 operations that Go rounds the same
// way everywhere. Vectors depend on the dimension, the options and the
// stop-word list, so stored vectors must be built again when any of these
// change. Letter classes and lowercasing come from Go's unicode package,
// so a Go release with a newer Unicode version can change the words of
// recently added characters.
//
// Scripts written without spaces between words (Chinese, Japanese, Thai)
// come out as one word per run of letters, so search in them matches
// whole phrases only.
package lexical
