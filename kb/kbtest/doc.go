// Package kbtest is the conformance suite for kb.Retriever
// implementations.
//
// A test calls [Run] with a factory that builds a retriever over the
// given documents, loading them the retriever's own way (writing files,
// inserting rows with an embedder, serving them from a test endpoint):
//
//	func TestConformance(t *testing.T) {
//		kbtest.Run(t, func(t *testing.T, docs []kbtest.Doc) kb.Retriever {
//			return newRetrieverOver(t, docs)
//		}, kbtest.Options{})
//	}
//
// The suite checks ranking (a query that clearly matches one document
// ranks it first, scores never increase), top_k and its default, metadata
// filters with the containment rule of jsonb @>, empty results, invalid
// queries, context cancellation and concurrent searches. Every document
// is short enough to come back as a single chunk.
//
// Each document contains the word "account", so a query for it matches
// the whole corpus, even for a lexical embedder. The ranking queries share
// words with their target document, so lexical and semantic embedders
// both rank it first.
package kbtest
